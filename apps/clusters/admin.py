"""Clusters in the admin. Every save and delete goes through the services
(credentials checks, audit events), never ``model.save()`` directly."""
from django import forms
from django.contrib import admin, messages

from apps.audit.services import deny

from .models import Cluster
from .services import (
    EDITABLE_FIELDS,
    ClusterInputError,
    cluster_create,
    cluster_delete,
    cluster_target,
    cluster_test_connection,
    cluster_update,
    cluster_update_credentials,
    credentials_from_input,
)


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
        adding = self.instance.pk is None
        new_credentials = data.get("kubeconfig") or data.get("token")
        if data.get("kind") == Cluster.Kind.KUBERNETES and (new_credentials or adding):
            try:
                credentials_from_input(
                    kubeconfig=data.get("kubeconfig") or None, kube_context=data.get("kube_context"),
                    api_server_url=data.get("api_server_url"), token=data.get("token") or None,
                    ca_pem=data.get("ca_pem") or None,
                )
            except ClusterInputError as exc:
                self.add_error(exc.field if exc.field in self.fields else None, exc.message)
        if not adding and "kind" in self.changed_data:
            self.add_error("kind", "A cluster's kind cannot change; add a new cluster instead.")
        return data


@admin.register(Cluster)
class ClusterAdmin(admin.ModelAdmin):
    form = ClusterAdminForm
    list_display = ("name", "kind", "api_server_url", "prometheus_url", "last_check_ok", "last_checked_at")
    list_filter = ("kind", "last_check_ok")
    search_fields = ("name", "api_server_url")
    readonly_fields = ("last_checked_at", "last_check_ok", "last_check_report", "created_at", "updated_at")
    actions = ["test_connection"]

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        credentials = dict(
            kubeconfig=data.get("kubeconfig") or None, kube_context=data.get("kube_context"),
            api_server_url=data.get("api_server_url"), token=data.get("token") or None,
            ca_pem=data.get("ca_pem") or None,
        )
        if not change:
            saved = cluster_create(
                name=data["name"], kind=data["kind"], simulator_topology=data.get("simulator_topology") or "demo",
                prometheus_url=data.get("prometheus_url") or "", grafana_url=data.get("grafana_url") or "",
                tracing_url=data.get("tracing_url") or "", istio_namespace=data.get("istio_namespace"),
                **credentials,
            )
            if data.get("health_tolerances") is not None:
                saved = cluster_update(cluster=saved, health_tolerances=data["health_tolerances"])
        else:
            saved = cluster_update(cluster=obj, **{name: data[name] for name in EDITABLE_FIELDS if name in data})
            if obj.kind == Cluster.Kind.KUBERNETES and (credentials["kubeconfig"] or credentials["token"]):
                saved = cluster_update_credentials(cluster=saved, **credentials)
        # The admin goes on with ``obj`` (its pk names the change page).
        obj.pk = saved.pk
        obj.refresh_from_db()

    def delete_model(self, request, obj):
        cluster_delete(cluster=obj)

    def delete_queryset(self, request, queryset):
        for cluster in queryset:
            cluster_delete(cluster=cluster)

    @admin.action(description="Test connection")
    def test_connection(self, request, queryset):
        for cluster in queryset:
            if not request.user.is_superuser:
                self.message_user(request, str(deny("cluster.test", target=cluster_target(cluster),
                                                    message="Only superusers test clusters from the admin.")),
                                  messages.ERROR)
                continue
            report = cluster_test_connection(cluster, record=True)
            level = messages.SUCCESS if report["ok"] else messages.ERROR
            problems = "; ".join(c.get("error", "") for c in report["checks"] if not c["ok"])
            self.message_user(request, f"{cluster.name}: {'OK' if report['ok'] else problems}", level)
