from django import forms

from .models import Cluster
from .simulated import simulator_topology_choices


class ClusterForm(forms.Form):
    name = forms.SlugField(max_length=63, help_text="Short name used in URLs, e.g. prod-eu.")
    kind = forms.ChoiceField(choices=Cluster.Kind.choices, initial=Cluster.Kind.KUBERNETES)
    simulator_topology = forms.ChoiceField(choices=simulator_topology_choices, required=False, initial="demo")
    kubeconfig_file = forms.FileField(required=False, help_text="Upload a kubeconfig (no exec plugins)…")
    kubeconfig = forms.CharField(widget=forms.Textarea(attrs={"rows": 6}), required=False, help_text="…or paste it.")
    kube_context = forms.CharField(required=False, help_text="Context to use; default: the current-context.")
    api_server_url = forms.URLField(assume_scheme="https", required=False,
                                    help_text="Or: API server URL + bearer token + CA certificate.")
    token = forms.CharField(widget=forms.PasswordInput(render_value=False), required=False)
    ca_pem = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}), required=False, label="CA certificate (PEM)")
    prometheus_url = forms.URLField(assume_scheme="https", required=False)
    grafana_url = forms.URLField(assume_scheme="https", required=False)
    tracing_url = forms.URLField(assume_scheme="https", required=False, label="Jaeger/Tempo URL")
    istio_namespace = forms.CharField(initial="istio-system")

    def clean(self):
        data = super().clean()
        upload = data.get("kubeconfig_file")
        if upload:
            if upload.size > 1_000_000:
                self.add_error("kubeconfig_file", "That file is over 1 MB; a kubeconfig is a few KB.")
            else:
                try:
                    data["kubeconfig"] = upload.read().decode("utf-8")
                except UnicodeDecodeError:
                    self.add_error("kubeconfig_file", "The kubeconfig must be UTF-8 text.")
        return data
