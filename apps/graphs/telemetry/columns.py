"""A stored window in columns: its layout (labels of every rate, prepared once) and its rates.

A snapshot stores a window's traffic as a *shape* (the edge table and each
metric's row keys; it changes only with the topology, so consecutive snapshots
share it) and a flat list of *rates* in the order the shape lists them
(``apps.history.codec``). ``TrafficLayout`` is the shape made ready to use:
every row's labels and the histograms, built once per shape in a process;
``ColumnarTraffic`` pairs it with one window's rates and is a ``MeshTraffic``
whose rows (``series``) are only built when something asks for them.

``StoredTelemetry`` answers a graph's queries from the columns: which rates a
query sums, into which group, depends only on the query and the layout, so it
is worked out once per (layout, query) (a *plan*) and each window then costs a
numeric pass over its rates. The plan visits rows in the order ``evaluate`` and
``StoredTelemetry`` visit ``series`` and adds the same numbers in the same
order, so the answers are the same, bit for bit.
"""
from __future__ import annotations

import threading
from array import array
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

from apps.core.stored import FormatError

from .evaluate import bucket_quantile
from .mesh_traffic import BUCKETS, EDGE_KEY, STORED_METRICS, MeshTraffic
from .query import Quantile, RateSum, Row

SHAPE_FORMAT = "meshdeck.traffic-shape"
# Plans kept per layout: a graph asks 7 to 9 queries, and each set of namespaces asked for is
# another set of queries; a plan of the large mesh is up to a few MB.
MAX_PLANS = 64


class TrafficLayout:
    """A traffic shape document (``apps.history.codec.split_traffic``) prepared for reading rates."""

    def __init__(self, shape: Any):
        if not isinstance(shape, dict) or shape.get("format") != SHAPE_FORMAT or shape.get("version") != 1:
            raise FormatError("stored traffic shape: not a meshdeck.traffic-shape version 1 document")
        if tuple(shape.get("edge_labels") or ()) != EDGE_KEY:
            raise FormatError(f"stored traffic shape: edge labels are not {list(EDGE_KEY)}")
        # metric -> (first position in the rates, labels of each of its rows)
        self.metrics: dict[str, tuple[int, list[dict[str, str]]]] = {}
        # the histograms (one per edge with buckets): labels without "le", [(upper bound, rate position)]
        self.histograms: list[tuple[dict[str, str], list[tuple[float, int]]]] = []
        self._plans: OrderedDict[Any, Any] = OrderedDict()  # the most recently used MAX_PLANS
        self._lock = threading.Lock()
        try:
            self._prepare(shape)
        except (IndexError, KeyError, TypeError, ValueError, AttributeError) as exc:
            raise FormatError(f"stored traffic shape is malformed: {exc!r}") from None

    def _prepare(self, shape: dict[str, Any]) -> None:
        edges = [{k: v for k, v in zip(EDGE_KEY, e, strict=False) if v != ""} for e in shape["edges"]]
        at = 0
        for metric, part in shape["metrics"].items():
            if metric not in STORED_METRICS or tuple(part["labels"]) != STORED_METRICS[metric][1]:
                raise FormatError(f"stored traffic shape: {metric} is not stored that way by this version")
            labels: list[dict[str, str]] = []
            start = at
            if metric == BUCKETS:
                bounds = part["bounds"]
                uppers: list[float | None] = []
                for le in bounds:
                    try:
                        uppers.append(float(le))
                    except ValueError:  # as histogram_quantile: a bucket without a bound is ignored
                        uppers.append(None)
                for index, mask in part["rows"]:
                    base = edges[index]
                    buckets: list[tuple[float, int]] = []
                    for le, upper, bit in zip(bounds, uppers, mask, strict=False):
                        if bit == "1":
                            labels.append({**base, "le": le})
                            if upper is not None:
                                buckets.append((upper, at))
                            at += 1
                    self.histograms.append((base, buckets))
            else:
                extra = part["labels"]
                for key in part["keys"]:
                    row = dict(edges[key[0]])
                    for k, v in zip(extra, key[1:], strict=False):
                        if v != "":
                            row[k] = v
                    labels.append(row)
                    at += 1
            self.metrics[metric] = (start, labels)
        self.size = at

    def check(self, values: Sequence[float]) -> None:
        if len(values) < self.size:
            raise FormatError("stored traffic: fewer rates than the shape lists")
        if len(values) > self.size:
            raise FormatError("stored traffic: more rates than the shape lists")

    def series(self, values: Sequence[float]) -> dict[str, list[Row]]:
        """The rows of a window, as ``MeshTraffic.series`` holds them."""
        return {metric: [Row(dict(labels), values[start + i]) for i, labels in enumerate(rows)]
                for metric, (start, rows) in self.metrics.items()}

    # --- plans: which rates a query adds up, into which group ---------------------------------

    def _plan(self, query: Any, make):
        with self._lock:
            plan = self._plans.get(query)
            if plan is not None:
                self._plans.move_to_end(query)
                return plan
        plan = make(query)  # outside the lock: a duplicate plan is harmless
        with self._lock:
            self._plans[query] = plan
            while len(self._plans) > MAX_PLANS:
                self._plans.popitem(last=False)
        return plan

    def _rate_sum_plan(self, query: RateSum):
        by = query.by
        groups: dict[tuple[str, ...], int] = {}
        positions, slots = array("l"), array("l")
        for selector in query.selectors:
            if selector.metric not in self.metrics:
                continue
            start, rows = self.metrics[selector.metric]
            matchers = selector.matchers
            for i, labels in enumerate(rows):
                if all(m.matches(labels) for m in matchers):
                    key = tuple(labels.get(b, "") for b in by)
                    slot = groups.setdefault(key, len(groups))
                    positions.append(start + i)
                    slots.append(slot)
        keys = [{b: v for b, v in zip(by, key, strict=True) if v != ""} for key in groups]
        return keys, positions, slots

    def rate_sum(self, query: RateSum, values: Sequence[float]) -> list[Row]:
        keys, positions, slots = self._plan(query, self._rate_sum_plan)
        sums = [0.0] * len(keys)
        for p, s in zip(positions, slots, strict=True):
            sums[s] += values[p]
        return [Row(dict(labels), total) for labels, total in zip(keys, sums, strict=True)]

    def _quantile_plan(self, query: Quantile):
        """The groups (labels), each group's bucket bounds (first seen first), and for every bucket rate
        the group's accumulator it goes into: one per (group, bound), as ``acc[upper]`` in
        ``StoredTelemetry._quantile``; rates in the order that visits them, ``hits`` times each."""
        selectors = query.buckets.selectors
        names = tuple(b for b in query.buckets.by if b != "le")
        groups: dict[tuple[str, ...], dict[float, int]] = {}
        slots, positions, hits_of = array("l"), array("l"), array("l")
        total = 0
        for labels, buckets in self.histograms:
            hits = sum(1 for s in selectors if all(m.matches(labels) for m in s.matchers))
            if not hits:
                continue
            group = groups.setdefault(tuple(labels.get(n, "") for n in names), {})
            for upper, p in buckets:
                slot = group.get(upper)
                if slot is None:
                    slot = group[upper] = total
                    total += 1
                slots.append(slot)
                positions.append(p)
                hits_of.append(hits)
        keys = [({n: v for n, v in zip(names, key, strict=True) if v != ""}, list(group.items()))
                for key, group in groups.items()]
        return keys, total, slots, positions, None if all(h == 1 for h in hits_of) else hits_of

    def quantile(self, query: Quantile, values: Sequence[float]) -> list[Row]:
        """histogram_quantile over the stored histograms (as ``StoredTelemetry`` computes it over rows)."""
        keys, total, slots, positions, hits_of = self._plan(query, self._quantile_plan)
        acc = [0.0] * total
        if hits_of is None:  # (x * 1 is x: the same sums)
            for s, p in zip(slots, positions, strict=True):
                acc[s] += values[p]
        else:
            for s, p, h in zip(slots, positions, hits_of, strict=True):
                acc[s] += values[p] * h
        q = query.q
        return [Row(dict(labels), bucket_quantile(q, [(upper, acc[s]) for upper, s in bounds]))
                for labels, bounds in keys]


class ColumnarTraffic(MeshTraffic):
    """A ``MeshTraffic`` kept as a layout and its rates; ``series`` is built on first use."""

    def __init__(self, layout: TrafficLayout, values: Sequence[float], *, window: int, query_time: float):
        layout.check(values)
        self.layout = layout
        self.values = values
        self.window = window
        self.query_time = query_time
        self._series: dict[str, list[Row]] | None = None

    @property
    def series(self) -> dict[str, list[Row]]:
        if self._series is None:
            self._series = self.layout.series(self.values)
        return self._series

    @series.setter
    def series(self, value: dict[str, list[Row]]) -> None:
        self._series = value


def average(windows: list[ColumnarTraffic], *, window: int, query_time: float) -> ColumnarTraffic:
    """Windows of one layout averaged rate by rate (as ``apps.history.store.merge_windows`` averages rows)."""
    totals = list(windows[0].values)
    for w in windows[1:]:
        totals = [a + b for a, b in zip(totals, w.values, strict=True)]
    n = len(windows)
    return ColumnarTraffic(windows[0].layout, [t / n for t in totals], window=window, query_time=query_time)
