from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "apps.audit"
    label = "audit"
    verbose_name = "Audit trail"

    def ready(self) -> None:
        # The periodic checkpoint task must be registered in every process,
        # including the embedded default's in-process scheduler.
        from . import checks, tasks  # noqa: F401
