from django.apps import AppConfig


class GraphsConfig(AppConfig):
    name = "apps.graphs"
    label = "graphs"
    verbose_name = "Traffic graph"
    default_auto_field = "django.db.models.BigAutoField"
