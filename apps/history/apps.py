from django.apps import AppConfig


class HistoryConfig(AppConfig):
    name = "apps.history"
    label = "history"
    verbose_name = "History (snapshots)"

    def ready(self) -> None:
        from apps.audit.actions import register_actions
        from apps.clusters.sources import register_stored_resolver

        from . import receivers  # noqa: F401  (a new cluster gets its snapshot schedule)
        from .sources import HistoryResolver

        register_actions({
            "snapshot.schedule_update": "A cluster's snapshot schedule changed (interval, queue, on/off).",
            "snapshot.take": "A person took a snapshot by hand (manage.py snapshot take).",
        })
        register_stored_resolver(HistoryResolver())
