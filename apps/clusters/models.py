from __future__ import annotations

from typing import Any

from django.core.validators import URLValidator
from django.db import models

from .crypto import decrypt_json, encrypt_json
from .simulated import simulator_topology_choices
from .tolerances import tolerance_problems, validate_health_tolerances


class Cluster(models.Model):
    class Kind(models.TextChoices):
        SIMULATED = "simulated", "Simulated mesh"
        KUBERNETES = "kubernetes", "Kubernetes"

    name = models.SlugField(max_length=63, unique=True, help_text="Short name used in URLs, e.g. prod-eu.")
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.KUBERNETES)
    # The choices are the simulator's, registered at start-up (apps.clusters.simulated): a callable,
    # so migrations name the function instead of copying a list.
    simulator_topology = models.CharField(max_length=40, choices=simulator_topology_choices, default="demo",
                                          blank=True)
    api_server_url = models.CharField(max_length=500, blank=True, validators=[URLValidator(schemes=["https", "http"])])
    kube_context = models.CharField(max_length=253, blank=True)
    credentials_encrypted = models.TextField(blank=True, editable=False)
    prometheus_url = models.CharField(
        max_length=500, blank=True, validators=[URLValidator(schemes=["https", "http"])],
        help_text="Empty for a simulated cluster: its telemetry then comes from the simulator in-process.",
    )
    grafana_url = models.CharField(max_length=500, blank=True, validators=[URLValidator(schemes=["https", "http"])])
    tracing_url = models.CharField(
        max_length=500, blank=True, validators=[URLValidator(schemes=["https", "http"])], help_text="Jaeger or Tempo"
    )
    istio_namespace = models.CharField(max_length=63, default="istio-system")
    health_tolerances = models.JSONField(
        null=True, blank=True, help_text="Overrides Kiali's default health tolerances; empty for the defaults."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    last_checked_at = models.DateTimeField(null=True, blank=True)
    last_check_ok = models.BooleanField(null=True, blank=True)
    last_check_report = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    # Credentials are a small JSON document, encrypted as one blob:
    # {"kubeconfig": "..."} or {"token": "...", "ca_pem": "..."}.
    @property
    def credentials(self) -> dict[str, Any]:
        return decrypt_json(self.credentials_encrypted)

    @credentials.setter
    def credentials(self, value: dict[str, Any] | None) -> None:
        self.credentials_encrypted = encrypt_json(value) if value else ""

    def clean(self) -> None:
        # Every write path runs full_clean(): the admin's form, cluster_create/cluster_update
        # (API, command). Here rather than as a field validator: a rule change needs no migration.
        super().clean()
        validate_health_tolerances(self.health_tolerances)

    @property
    def health_tolerances_problems(self) -> list[str]:
        """Why the stored tolerances are not used (Kiali's defaults are, instead); [] when they are fine."""
        return tolerance_problems(self.health_tolerances)

    @property
    def auth_method(self) -> str:
        if self.kind == self.Kind.SIMULATED:
            return "simulated"
        if not self.credentials_encrypted:
            return "none"
        creds = self.credentials
        return "kubeconfig" if creds.get("kubeconfig") else "token"

    def gateway(self):
        """The ClusterGateway for this cluster (see apps.clusters.gateways)."""
        from .gateways import gateway_for

        return gateway_for(self)
