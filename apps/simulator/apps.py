from django.apps import AppConfig


class SimulatorConfig(AppConfig):
    name = "apps.simulator"
    label = "simulator"
    verbose_name = "Mesh simulator"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from apps.clusters.gateways import register_gateway_factory
        from apps.clusters.simulated import register_simulator_topologies

        from .gateway import gateway_for_cluster
        from .topologies import TOPOLOGY_CHOICES

        register_gateway_factory("simulated", gateway_for_cluster)
        register_simulator_topologies(TOPOLOGY_CHOICES)
