from django.apps import AppConfig


class LiveConfig(AppConfig):
    name = "apps.live"
    label = "live"
    verbose_name = "Live updates"

    def ready(self) -> None:
        # Grant, team, user, token, session and cluster changes re-check the live sockets.
        from . import receivers  # noqa: F401
