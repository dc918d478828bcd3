from django.apps import AppConfig


class MeshconfigConfig(AppConfig):
    name = "apps.meshconfig"
    label = "meshconfig"
    verbose_name = "Istio config"
    default_auto_field = "django.db.models.BigAutoField"
