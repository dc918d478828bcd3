"""Serve HTTP and WebSocket from one ASGI process, with in-process tasks."""
from django.conf import settings
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Run the portal (uvicorn, HTTP + WebSocket) with the in-process scheduler."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--no-scheduler", action="store_true")

    def handle(self, host, port, no_scheduler, **_):
        import uvicorn

        from apps.core.scheduler import InProcessScheduler

        scheduler = None
        if not no_scheduler and settings.MESHDECK_INPROCESS_SCHEDULER:
            scheduler = InProcessScheduler()
            scheduler.start()
            how = "run here, eagerly" if settings.CELERY_TASK_ALWAYS_EAGER else "sent to the broker"
            self.stdout.write(f"In-process scheduler started: {', '.join(scheduler.schedule)} ({how}).")
        self.stdout.write(self.style.SUCCESS(f"Meshdeck on http://{host}:{port}/  (Ctrl-C to stop)"))
        try:
            uvicorn.run("portal.asgi:application", host=host, port=port, log_level="info", lifespan="off")
        finally:
            if scheduler:
                scheduler.stop()
