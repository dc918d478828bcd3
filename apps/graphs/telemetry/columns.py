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

import math
import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any, cast

import numpy as np

from apps.core.stored import FormatError

from .evaluate import bucket_quantile
from .mesh_traffic import BUCKETS, EDGE_KEY, STORED_METRICS, MeshTraffic
from .query import Quantile, RateSum, Row, edge_labels

SHAPE_FORMAT = "meshdeck.traffic-shape"
# Plans kept per layout: a graph asks 7 to 9 queries, and each set of namespaces asked for is
# another set of queries; a plan of the large mesh is up to a few MB.
MAX_PLANS = 64
Rates = Sequence[float] | np.ndarray


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

    def check(self, values: Rates) -> None:
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
        positions: list[int] = []
        slots: list[int] = []
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
        return keys, np.array(positions, dtype=np.intp), np.array(slots, dtype=np.intp), _edges_of(keys)

    def rate_sum(self, query: RateSum, values: Rates) -> list[Row]:
        keys, positions, slots, edges = self._plan(query, self._rate_sum_plan)
        # bincount adds the weights one after the other in input order, as a Python loop would
        sums = np.bincount(slots, weights=as_array(values)[positions], minlength=len(keys)).tolist()
        return [Row(dict(labels), total, edge) for labels, total, edge in zip(keys, sums, edges, strict=True)]

    def _quantile_plan(self, query: Quantile):
        """The groups (labels), one accumulator per (group, bucket bound) with every bucket rate's
        accumulator in the order ``StoredTelemetry._quantile`` visits them (``hits`` times each), and
        the groups' histograms as a matrix for ``quantiles``."""
        selectors = query.buckets.selectors
        names = tuple(b for b in query.buckets.by if b != "le")
        groups: dict[tuple[str, ...], dict[float, int]] = {}
        slots: list[int] = []
        positions: list[int] = []
        hits_of: list[int] = []
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
        keys = [{n: v for n, v in zip(names, key, strict=True) if v != ""} for key in groups]
        histograms = HistogramMatrix([list(group.items()) for group in groups.values()])
        times = None if all(h == 1 for h in hits_of) else np.array(hits_of, dtype=np.float64)
        return (keys, total, np.array(slots, dtype=np.intp), np.array(positions, dtype=np.intp), times,
                histograms, _edges_of(keys))

    def quantile(self, query: Quantile, values: Rates) -> list[Row]:
        """histogram_quantile over the stored histograms (as ``StoredTelemetry`` computes it over rows)."""
        keys, total, slots, positions, hits, histograms, edges = self._plan(query, self._quantile_plan)
        weights = as_array(values)[positions]
        if hits is not None:
            weights = weights * hits  # (x * 1 is x: the same sums)
        acc = np.bincount(slots, weights=weights, minlength=total)
        return [Row(dict(labels), value, edge)
                for labels, value, edge in zip(keys, histograms.quantiles(query.q, acc), edges, strict=True)]


def _edges_of(keys: list[dict[str, str]]) -> list[tuple[str, ...]]:
    """Each group's edge labels, as the graph builder keys an edge (``Row.edge``)."""
    return [edge_labels(labels) for labels in keys]


def as_array(values: Rates) -> np.ndarray:
    return values if isinstance(values, np.ndarray) else np.asarray(values, dtype=np.float64)


class HistogramMatrix:
    """Histograms of (upper bound, accumulator) as padded matrices: ``histogram_quantile`` for all of
    them at once, the same operations as ``evaluate.bucket_quantile`` on each, so the same bits. A
    histogram the matrix form does not cover exactly (a NaN bound or count: Python's comparisons
    with NaN are not a running maximum) is handed to ``bucket_quantile`` itself."""

    def __init__(self, groups: list[list[tuple[float, int]]]):
        self.groups = groups
        self.n = np.array([len(g) for g in groups], dtype=np.intp)
        width = max(2, int(self.n.max())) if groups else 2
        uppers = np.full((len(groups), width), np.inf)
        slots = np.full((len(groups), width), -1, dtype=np.intp)  # -1: a zero appended to the accumulators
        self.python = np.zeros(len(groups), dtype=bool)  # histograms bucket_quantile answers itself
        self.nan = np.zeros(len(groups), dtype=bool)  # no histogram: too few buckets, no +Inf bucket
        for g, buckets in enumerate(groups):
            ordered = sorted(buckets)  # bounds are unique in a group: sorted by bound
            if any(u != u for u, _ in ordered):
                self.python[g] = True
                continue
            if len(ordered) < 2 or not math.isinf(ordered[-1][0]):
                self.nan[g] = True
                continue
            for j, (upper, slot) in enumerate(ordered):
                uppers[g, j], slots[g, j] = upper, slot
            slots[g, len(ordered):] = ordered[-1][1]  # padding repeats the last bucket
        self.uppers, self.slots = uppers, slots

    def quantiles(self, q: float, acc: np.ndarray) -> list[float]:
        if not 0 < q <= 1 or not len(self.groups):
            return [bucket_quantile(q, [(u, float(acc[s])) for u, s in g]) for g in self.groups]
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            out = self._quantiles(q, acc)
        return out

    def _quantiles(self, q: float, acc: np.ndarray) -> list[float]:
        rows = np.arange(len(self.groups))
        counts = np.append(acc, 0.0)[self.slots]
        python = self.python | np.isnan(counts).any(axis=1)
        peak = np.maximum.accumulate(counts, axis=1)  # cumulative counts may not decrease
        last = self.n - 1
        observations = peak[rows, np.maximum(last, 0)]
        rank = q * observations
        hit = peak >= rank[:, None]
        b = np.where(hit.any(axis=1), hit.argmax(axis=1), last)
        prev = np.maximum(b - 1, 0)
        below = np.where(b > 0, peak[rows, prev], 0.0)
        start = np.where(b > 0, self.uppers[rows, prev], 0.0)
        end = self.uppers[rows, b]
        count = peak[rows, b] - below
        # (a division by zero: Python raises there, so bucket_quantile answers as it would)
        python |= (count == 0) & (b != last) & (observations != 0)
        value = start + (end - start) * ((rank - below) / count)
        value = np.where((b == 0) & (self.uppers[:, 0] <= 0), self.uppers[:, 0], value)
        value = np.where(b == last, self.uppers[rows, np.maximum(last - 1, 0)], value)
        value = np.where(self.nan | (observations == 0), np.nan, value)
        out = value.tolist()
        for g in np.flatnonzero(python & ~self.nan).tolist():
            out[g] = bucket_quantile(q, [(u, float(acc[s])) for u, s in self.groups[g]])
        return out


class ColumnarTraffic(MeshTraffic):
    """A ``MeshTraffic`` kept as a layout and its rates; ``series`` is built on first use."""

    def __init__(self, layout: TrafficLayout, values: Rates, *, window: int, query_time: float):
        layout.check(values)
        self.layout = layout
        self.window = window
        self.query_time = query_time
        self._series: dict[str, list[Row]] | None = None
        # the rates as given (a decoded snapshot's are an array already), the other form made on first use
        self._array: np.ndarray | None = None
        self._values: list[float] | None = None
        if isinstance(values, np.ndarray):
            self._array = values
        else:
            self._values = list(values)

    @property
    def array(self) -> np.ndarray:
        """The rates as a float64 array (what the plans read)."""
        if self._array is None:
            self._array = as_array(self.values)
        return self._array

    @property
    def values(self) -> list[float]:
        """The rates as Python floats (what rows hold)."""
        if self._values is None:
            self._values = cast(np.ndarray, self._array).tolist()
        return self._values

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
    totals = windows[0].array.copy()
    for w in windows[1:]:
        if len(w.values) != len(totals):
            raise ValueError("windows of one layout hold the same number of rates")
        totals += w.array  # window after window, as a sum of rows adds them
    return ColumnarTraffic(windows[0].layout, totals / len(windows), window=window, query_time=query_time)
