"""Prometheus text exposition format (0.0.4) of counter rows, streamed in chunks.

Pure. A large mesh renders to hundreds of MB, so the text is yielded in chunks
of a few hundred series; label strings were built once per series
(``series.SeriesTable``), a render only formats numbers.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence

from .histogram import LE_STRINGS, N_BUCKETS
from .series import (
    DURATION,
    DURATION_BUCKET,
    DURATION_COUNT,
    DURATION_SUM,
    REQUESTS,
    TCP_RECEIVED,
    TCP_SENT,
    LabelItems,
    metric_values,
)
from .timeline import CounterRow


def _num(x: float) -> str:
    if x == int(x) and abs(x) < 1e15:
        return str(int(x))
    return repr(x)


def iter_exposition(rows: Sequence[CounterRow], chunk_series: int = 500) -> Iterable[str]:
    http_rows = [r for r in rows if r[0] == "http"]
    tcp_rows = [r for r in rows if r[0] == "tcp"]
    les = LE_STRINGS
    parts: list[str] = []
    add = parts.append

    def flush() -> str:
        text = "".join(parts)
        parts.clear()
        return text

    add(f"# HELP {REQUESTS} Total requests.\n# TYPE {REQUESTS} counter\n")
    for n, (_, _, _, ls, v) in enumerate(http_rows, 1):
        add(f"{REQUESTS}{{{ls}}} {_num(v[0])}\n")
        if n % (chunk_series * 10) == 0:
            yield flush()
    add(f"# HELP {DURATION} Request duration in milliseconds.\n# TYPE {DURATION} histogram\n")
    for n, (_, _, _, ls, v) in enumerate(http_rows, 1):
        for i in range(N_BUCKETS):
            add(f'{DURATION_BUCKET}{{{ls},le="{les[i]}"}} {_num(v[2 + i])}\n')
        add(f"{DURATION_SUM}{{{ls}}} {_num(v[1])}\n{DURATION_COUNT}{{{ls}}} {_num(v[0])}\n")
        if n % chunk_series == 0:
            yield flush()
    add(f"# HELP {TCP_SENT} Bytes sent during response (server to client).\n# TYPE {TCP_SENT} counter\n")
    for _, _, _, ls, v in tcp_rows:
        add(f"{TCP_SENT}{{{ls}}} {_num(v[0])}\n")
    add(f"# HELP {TCP_RECEIVED} Bytes received during request (client to server).\n# TYPE {TCP_RECEIVED} counter\n")
    for _, _, _, ls, v in tcp_rows:
        add(f"{TCP_RECEIVED}{{{ls}}} {_num(v[1])}\n")
    yield flush()


def counter_values(rows: Sequence[CounterRow]) -> list[tuple[str, LabelItems, float]]:
    """(metric, label items, value) per exposed sample, buckets carrying their ``le``."""
    return [sample for kind, _, items, _, values in rows for sample in metric_values(kind, items, values)]


def series_count(rows: Sequence[CounterRow]) -> dict[str, int]:
    http = sum(1 for r in rows if r[0] == "http")
    tcp = len(rows) - http
    return {
        "label_sets": len(rows),
        "http_label_sets": http,
        "tcp_label_sets": tcp,
        "time_series": http * (3 + N_BUCKETS) + tcp * 2,
    }
