"""``StoredTelemetry``: a telemetry source over a stored window (``MeshTraffic``).

It answers the plan's queries by evaluating them in Python over the stored
rows, exactly as ``SimulatorTelemetry`` does over the simulator's series
(``evaluate.py``), so a graph built from a snapshot is the graph that was built
live at that moment. Histogram quantiles take a shorter path with the same
result: bucket rates are grouped per stored histogram (one per edge) first, so
a query touches each edge once instead of each of its ~20 buckets.

It refuses, with a message, what it cannot answer exactly: another window
(``TrafficWindowNotStored``, 409), a label or metric a snapshot does not keep,
and series over time (one window is one instant).
"""
from __future__ import annotations

import math
from typing import NamedTuple, cast

from .base import TelemetryUnavailable
from .columns import ColumnarTraffic
from .evaluate import RateSampleLike, bucket_quantile, evaluate
from .mesh_traffic import BUCKETS, STORED_METRICS, MeshTraffic, TrafficWindowNotStored
from .query import Quantile, Query, RateSum, Row, Series


class _Sample(NamedTuple):
    metric: str
    labels: dict[str, str]
    rate: float


class _Histogram(NamedTuple):
    labels: dict[str, str]  # without "le"
    buckets: list[tuple[float, float]]  # (upper bound, rate)


def _labels_used(query: Query) -> set[tuple[str, str]]:
    """(metric, label) pairs a query filters or groups on."""
    rate_sum = query.buckets if isinstance(query, Quantile) else query
    used: set[tuple[str, str]] = set()
    for s in rate_sum.selectors:
        used.update((s.metric, m.label) for m in s.matchers)
        used.update((s.metric, b) for b in rate_sum.by)
    return used


def _histograms(rows: list[Row]) -> list[_Histogram]:
    by_labels: dict[tuple, _Histogram] = {}
    for row in rows:
        labels = {k: v for k, v in row.labels.items() if k != "le"}
        try:
            upper = float(row.labels.get("le", ""))
        except ValueError:  # as histogram_quantile: a bucket without a bound is ignored
            continue
        key = tuple(sorted(labels.items()))
        h = by_labels.get(key)
        if h is None:
            h = by_labels[key] = _Histogram(labels, [])
        h.buckets.append((upper, row.value))
    return list(by_labels.values())


class StoredTelemetry:
    """A ``TelemetrySource`` over a ``MeshTraffic``."""

    def __init__(self, traffic: MeshTraffic):
        self.traffic = traffic
        # a window read from a snapshot: answered from its columns (see columns.py); otherwise from
        # its rows, indexed on first use
        self._columns = traffic if isinstance(traffic, ColumnarTraffic) else None
        self._rows_index: dict[str, list[RateSampleLike]] | None = None
        self._rows_histograms: list[_Histogram] | None = None

    @property
    def _index(self) -> dict[str, list[RateSampleLike]]:
        if self._rows_index is None:
            # (NamedTuples: read-only fields, which is all evaluate() needs of a sample)
            self._rows_index = cast(dict[str, list[RateSampleLike]], {
                metric: [_Sample(metric, r.labels, r.value) for r in rows]
                for metric, rows in self.traffic.series.items()})
        return self._rows_index

    @property
    def _histograms(self) -> list[_Histogram]:
        if self._rows_histograms is None:
            self._rows_histograms = _histograms(self.traffic.series.get(BUCKETS, []))
        return self._rows_histograms

    def _check_window(self, window: int, query_time: float) -> None:
        t = self.traffic
        if window != t.window or not math.isclose(query_time, t.query_time, abs_tol=0.5):
            raise TrafficWindowNotStored(
                f"the stored traffic is the {t.window} s window ending at unix time {t.query_time:.0f}; "
                f"ask for duration={t.window}s and queryTime={t.query_time:.0f}, not {window} s ending at "
                f"{query_time:.0f}"
            )

    def _check_labels(self, name: str, query: Query) -> None:
        for metric, label in sorted(_labels_used(query)):
            if metric not in STORED_METRICS:
                raise TelemetryUnavailable(f"query {name}: stored traffic has no {metric} series")
            if label not in self.traffic.labels_of(metric):
                raise TelemetryUnavailable(f"query {name}: stored traffic does not keep the {label} label of {metric}")

    def _quantile(self, query: Quantile) -> list[Row]:
        """histogram_quantile over the stored histograms, as ``evaluate`` computes it."""
        selectors = query.buckets.selectors
        names = tuple(b for b in query.buckets.by if b != "le")
        groups: dict[tuple[str, ...], dict[float, float]] = {}
        for h in self._histograms:
            hits = sum(1 for s in selectors if all(m.matches(h.labels) for m in s.matchers))
            if not hits:
                continue
            acc = groups.setdefault(tuple(h.labels.get(n, "") for n in names), {})
            for upper, rate in h.buckets:
                acc[upper] = acc.get(upper, 0.0) + rate * hits
        return [Row({n: v for n, v in zip(names, key, strict=True) if v != ""},
                    bucket_quantile(query.q, list(acc.items())))
                for key, acc in groups.items()]

    def _evaluate(self, query: Query) -> list[Row]:
        columns = self._columns
        if (isinstance(query, Quantile) and all(s.metric == BUCKETS for s in query.buckets.selectors)
                and not any(m.label == "le" for s in query.buckets.selectors for m in s.matchers)):
            if columns is not None:
                return columns.layout.quantile(query, columns.array)
            return self._quantile(query)
        if columns is not None and isinstance(query, RateSum):
            return columns.layout.rate_sum(query, columns.array)
        return evaluate(query, self._index)

    def instant(self, queries: dict[str, Query], *, window: int, query_time: float) -> dict[str, list[Row]]:
        self._check_window(window, query_time)
        for name, q in queries.items():
            self._check_labels(name, q)
        return {name: self._evaluate(q) for name, q in queries.items()}

    def range(self, queries: dict[str, Query], *, window: int, start: float, end: float,
              step: int) -> dict[str, list[Series]]:
        raise TelemetryUnavailable("stored traffic holds one window, not a series over time; "
                                   "series come from Prometheus")
