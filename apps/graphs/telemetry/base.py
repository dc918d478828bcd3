"""The telemetry source interface, its errors and the allowed windows."""
from __future__ import annotations

import re
from typing import Protocol

from apps.core.errors import MeshdeckError

from .query import Query, Row, Series

# Windows the graph offers (seconds): 1m default; 5m, 10m, 30m, 1h, 3h, 6h.
DURATIONS = (60, 300, 600, 1800, 3600, 10800, 21600)
DEFAULT_DURATION = 60
MIN_DURATION, MAX_DURATION = DURATIONS[0], DURATIONS[-1]

_DURATION_RE = re.compile(r"^(\d+)([smh]?)$")


def parse_duration(raw: str | None) -> int:
    """'60s', '5m', '1h' or plain seconds -> seconds; ValueError if malformed or out of range."""
    if raw in (None, ""):
        return DEFAULT_DURATION
    m = _DURATION_RE.match(str(raw).strip())
    if not m:
        raise ValueError(f"duration {raw!r} is not a duration like 60s, 5m or 1h")
    seconds = int(m.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600}[m.group(2)]
    if not MIN_DURATION <= seconds <= MAX_DURATION:
        raise ValueError(f"duration must be between {MIN_DURATION}s and {MAX_DURATION}s (6h), got {raw}")
    return seconds


class TelemetryError(MeshdeckError):
    """Telemetry could not be read; ``message`` says why, ``http_status`` how the API answers."""

    http_status = 503
    code = "telemetry_unavailable"


class TelemetryUnavailable(TelemetryError):
    pass


class TelemetryTimeout(TelemetryError):
    http_status = 504
    code = "telemetry_timeout"


class TelemetryBadResponse(TelemetryError):
    code = "telemetry_error"


class TelemetrySource(Protocol):
    """Answers logical queries over a window ending at ``query_time`` (unix seconds)."""

    def instant(self, queries: dict[str, Query], *, window: int, query_time: float) -> dict[str, list[Row]]:
        """Evaluate several instant queries (concurrently where the source can)."""
        ...

    def range(
        self, queries: dict[str, Query], *, window: int, start: float, end: float, step: int
    ) -> dict[str, list[Series]]:
        ...
