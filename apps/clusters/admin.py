from django import forms
from django.contrib import admin, messages

from .kubeconfig import KubeconfigError, parse_kubeconfig
from .models import Cluster
from .services import cluster_test_connection


class ClusterAdminForm(forms.ModelForm):
    """Credentials are write-only here: typing a value replaces what is stored."""

    kubeconfig = forms.CharField(widget=forms.Textarea(attrs={"rows": 6}), required=False,
                                 help_text="Replace the stored kubeconfig (no exec plugins). Leave empty to keep.")
    token = forms.CharField(widget=forms.PasswordInput, required=False,
                            help_text="Or a bearer token for the API server URL. Leave empty to keep.")
    ca_pem = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False, label="CA certificate (PEM)")

    class Meta:
        model = Cluster
        fields = "__all__"

    def clean(self):
        data = super().clean()
        if data.get("kubeconfig"):
            try:
                found = parse_kubeconfig(data["kubeconfig"], data.get("kube_context") or None)
            except KubeconfigError as exc:
                self.add_error("kubeconfig", exc.message)
            else:
                data["api_server_url"] = found.server
        return data

    def save(self, commit=True):
        obj = super().save(commit=False)
        data = self.cleaned_data
        if data.get("kubeconfig"):
            obj.credentials = {"kubeconfig": data["kubeconfig"]}
            obj.api_server_url = data["api_server_url"]
        elif data.get("token"):
            obj.credentials = {"token": data["token"], "ca_pem": data.get("ca_pem") or ""}
        if commit:
            obj.save()
        return obj


@admin.register(Cluster)
class ClusterAdmin(admin.ModelAdmin):
    form = ClusterAdminForm
    list_display = ("name", "kind", "api_server_url", "prometheus_url", "last_check_ok", "last_checked_at")
    list_filter = ("kind", "last_check_ok")
    search_fields = ("name", "api_server_url")
    readonly_fields = ("last_checked_at", "last_check_ok", "last_check_report", "created_at", "updated_at")
    actions = ["test_connection"]

    @admin.action(description="Test connection")
    def test_connection(self, request, queryset):
        for cluster in queryset:
            report = cluster_test_connection(cluster)
            level = messages.SUCCESS if report["ok"] else messages.ERROR
            problems = "; ".join(c.get("error", "") for c in report["checks"] if not c["ok"])
            self.message_user(request, f"{cluster.name}: {'OK' if report['ok'] else problems}", level)
