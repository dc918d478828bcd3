"""In-process scheduler for the embedded default (no celery beat process).

It reads the same CELERY_BEAT_SCHEDULE that `celery beat` uses in
production and sends each task with ``.delay()``: with CELERY_TASK_ALWAYS_EAGER
the task runs right here, in this thread.

A Celery worker imports every app's ``tasks`` module when it starts
(autodiscovery); nothing does that in a web process, so the scheduler does it
first, and refuses to start if a scheduled task name is unknown.
"""
from __future__ import annotations

import logging
import threading
import time
from datetime import timedelta

from celery import current_app
from django.conf import settings
from django.db import close_old_connections

log = logging.getLogger(__name__)


def load_tasks(schedule: dict) -> dict:
    """name -> the Celery task of each schedule entry, after importing every app's tasks module."""
    current_app.loader.import_default_modules()  # fires autodiscovery, as a worker does at start
    unknown = [entry["task"] for entry in schedule.values() if entry["task"] not in current_app.tasks]
    if unknown:
        raise LookupError(f"scheduled tasks not registered with Celery: {', '.join(unknown)}")
    return {name: current_app.tasks[entry["task"]] for name, entry in schedule.items()}


class InProcessScheduler(threading.Thread):
    def __init__(self, schedule: dict | None = None, tick: float = 1.0, first_run_after: float = 5.0):
        super().__init__(name="meshdeck-scheduler", daemon=True)
        self.schedule = schedule if schedule is not None else settings.CELERY_BEAT_SCHEDULE
        self.tick = tick
        self.first_run_after = first_run_after  # let the server start first
        self.tasks = load_tasks(self.schedule)
        self._stop_event = threading.Event()
        self.runs: dict[str, int] = {}

    def _interval(self, entry) -> float:
        sched = entry["schedule"]
        if isinstance(sched, timedelta):
            return sched.total_seconds()
        if isinstance(sched, (int, float)):
            return float(sched)
        raise ValueError(f"In-process scheduler supports interval schedules only, not {sched!r}")

    def run(self) -> None:
        due = {name: time.monotonic() + self.first_run_after for name in self.schedule}
        while not self._stop_event.wait(self.tick):
            now = time.monotonic()
            for name, entry in self.schedule.items():
                if now < due[name]:
                    continue
                due[name] = now + self._interval(entry)
                try:
                    self.tasks[name].delay()
                    self.runs[name] = self.runs.get(name, 0) + 1
                except Exception:  # a failing task must not stop the scheduler
                    log.exception("scheduled task %s failed", name)
                finally:
                    close_old_connections()

    def stop(self) -> None:
        self._stop_event.set()
