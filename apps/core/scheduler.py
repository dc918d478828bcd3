"""In-process scheduler for the embedded default (no celery beat process).

It reads the same CELERY_BEAT_SCHEDULE that `celery beat` uses in
production and sends each task with ``.delay()``: with CELERY_TASK_ALWAYS_EAGER
the task runs right here, in this thread.
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


class InProcessScheduler(threading.Thread):
    def __init__(self, schedule: dict | None = None, tick: float = 1.0):
        super().__init__(name="meshdeck-scheduler", daemon=True)
        self.schedule = schedule if schedule is not None else settings.CELERY_BEAT_SCHEDULE
        self.tick = tick
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
        due = {name: time.monotonic() + 5.0 for name in self.schedule}  # let the server start first
        while not self._stop_event.wait(self.tick):
            now = time.monotonic()
            for name, entry in self.schedule.items():
                if now < due[name]:
                    continue
                due[name] = now + self._interval(entry)
                try:
                    current_app.tasks[entry["task"]].delay()
                    self.runs[name] = self.runs.get(name, 0) + 1
                except Exception:  # a failing task must not stop the scheduler
                    log.exception("scheduled task %s failed", name)
                finally:
                    close_old_connections()

    def stop(self) -> None:
        self._stop_event.set()
