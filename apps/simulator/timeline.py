"""Counters as the exact integral of piecewise-constant rates.

Pure. Every change that can move traffic closes the current *segment* at the
instant it took effect and opens a new one with the rates computed after it.
A segment keeps, per series id, the cumulative value at its start and the rate
during it, so

* the counter at ``t`` is ``cumulative + rate * (t - start)`` of the segment
  holding ``t`` (what a scrape at ``t`` shows), and
* the rate over ``[end - window, end]`` is the difference of two counters over
  the window: the time-weighted average, i.e. Prometheus's ``rate()`` on an
  ideal scrape of these counters.
"""
from __future__ import annotations

import bisect
from collections.abc import Collection
from dataclasses import dataclass
from functools import cached_property

from .pods import PodState
from .series import ALL_METRICS, LabelItems, Rates, SeriesTable, add_scaled, metric_values

# (kind, series id, label items, label string, values) of one series at one instant.
CounterRow = tuple[str, int, LabelItems, str, list[float]]


@dataclass(frozen=True)
class RateSample:
    """One series' per-second rate. ``label_items`` keeps Istio's label order."""

    metric: str
    label_items: LabelItems
    rate: float

    def __post_init__(self) -> None:
        if isinstance(self.label_items, dict):
            object.__setattr__(self, "label_items", tuple(self.label_items.items()))

    @cached_property
    def labels(self) -> dict[str, str]:
        return dict(self.label_items)

    def get(self, name: str, default: str = "") -> str:
        for k, v in self.label_items:
            if k == name:
                return v
        return default


@dataclass
class Segment:
    start: float
    rates: Rates
    cums: Rates
    _table: list[tuple[int, list[float], list[float]]] | None = None

    def table(self) -> list[tuple[int, list[float], list[float]]]:
        """(series id, cumulative at start, rate) for every series known in this segment."""
        if self._table is None:
            ids = sorted(set(self.cums) | set(self.rates))
            out = []
            for sid in ids:
                cum = self.cums.get(sid)
                rate = self.rates.get(sid)
                n = len(cum) if cum is not None else len(self.rates[sid])
                out.append((sid, cum if cum is not None else [0.0] * n, rate if rate is not None else [0.0] * n))
            self._table = out
        return self._table

    def values_at(self, sid: int, t: float) -> list[float] | None:
        cum = self.cums.get(sid)
        rate = self.rates.get(sid)
        if rate is None:
            return None if cum is None else list(cum)
        dt = t - self.start
        if cum is None:
            return [r * dt for r in rate]
        return [c + r * dt for c, r in zip(cum, rate, strict=False)]


class Timeline:
    """The segments of one mesh, oldest first."""

    def __init__(self) -> None:
        self.segments: list[Segment] = []

    def record(self, at: float, rates: Rates) -> None:
        """From ``at`` on, traffic runs at ``rates``. A change at the instant of the last
        one replaces that segment's rates (several writes in one instant are one change)."""
        segments = self.segments
        if segments and at <= segments[-1].start:
            seg = segments[-1]
            seg.rates = rates
            seg._table = None
            return
        if not segments:
            segments.append(Segment(at, rates, {}))
            return
        last = segments[-1]
        dt = at - last.start
        cums: Rates = {sid: list(v) for sid, v in last.cums.items()}
        for sid, r in last.rates.items():
            add_scaled(cums, sid, r, dt)
        segments.append(Segment(at, rates, cums))

    def segment_at(self, t: float) -> Segment | None:
        k = bisect.bisect_right([s.start for s in self.segments], t) - 1
        return self.segments[k] if k >= 0 else None

    def counter_rows(self, at: float, table: SeriesTable, pods: dict[tuple[str, str], PodState]) -> list[CounterRow]:
        """Every series a scrape at ``at`` shows: its pod is alive and it has counted something."""
        seg = self.segment_at(at)
        if seg is None:
            return []
        dt = at - seg.start
        rows: list[CounterRow] = []
        series = table.series
        for sid, cum, rate in seg.table():
            s = series[sid]
            if not pods[s.pod_key].alive_at(at):
                continue
            values = [c + r * dt for c, r in zip(cum, rate, strict=False)]
            if not values[0] and not any(values):
                continue
            rows.append((s.kind, sid, s.label_items, s.label_str, values))
        return rows

    def window_rates(self, window: float, end: float, table: SeriesTable, pods: dict[tuple[str, str], PodState],
                     metrics: Collection[str] | None = None) -> list[RateSample]:
        """Per-second rate over ``[end - window, end]`` of every counter series a scrape at ``end`` shows
        (series of pods replaced during the window included, as in Prometheus)."""
        want = set(metrics) if metrics else set(ALL_METRICS)
        out: list[RateSample] = []
        begin = end - window
        seg_end = self.segment_at(end)
        seg_begin = self.segment_at(begin)
        if seg_end is None:
            return out
        for sid, _, _ in seg_end.table():
            s = table[sid]
            if not pods[s.pod_key].alive_between(begin, end):
                continue
            v1 = seg_end.values_at(sid, end)
            if v1 is None or not any(v1):
                continue
            v0 = seg_begin.values_at(sid, begin) if seg_begin is not None else None
            if v0 is None:
                v0 = [0.0] * len(v1)
            r = [(a - b) / window for a, b in zip(v1, v0, strict=False)]
            out.extend(RateSample(*sample) for sample in metric_values(s.kind, s.label_items, r, want))
        return out
