"""The traffic of one window, stored so that every graph can be rebuilt from it exactly.

A graph's queries (``plan.graph_queries``) depend on the graph type, on
injected service nodes and on the namespaces asked for: the latency quantile
rows, in particular, are ``histogram_quantile`` over buckets grouped by the
labels of that graph type's nodes, and quantiles cannot be merged afterwards.
So a snapshot does not store any graph's answers. It stores, per Istio metric,
the rates summed over pods at the finest grouping any graph uses: the edge
labels (``plan.EDGE_LABELS``), ``reporter``, and what the metric adds
(response code, flags, mTLS policy, histogram bucket ``le``):

=========================================  =====================================  ===========================
metric                                     reporters kept                         grouped by edge labels +
=========================================  =====================================  ===========================
istio_requests_total                       source; destination                    request_protocol,
                                                                                  response_code,
                                                                                  grpc_response_status,
                                                                                  response_flags,
                                                                                  connection_security_policy
istio_tcp_sent_bytes_total                 source; destination                    response_flags,
                                                                                  connection_security_policy
istio_tcp_received_bytes_total             source; destination from unknown       response_flags
istio_request_duration_milliseconds_sum    source; destination from unknown       (nothing)
istio_request_duration_milliseconds_count  source; destination from unknown       (nothing)
istio_request_duration_milliseconds_bucket source; destination from unknown       le
=========================================  =====================================  ===========================

("destination from unknown": destination-reported series with
``source_workload="unknown"``, the only destination-reported ones a graph reads
besides the mTLS share.)

Every query of the plan filters only on labels kept here (reporter, source and
destination namespaces and workloads) and groups by a subset of them, so
``StoredTelemetry`` (``stored_telemetry.py``) answers it by evaluating the same query in Python over
these rows (``evaluate.py``, as the simulator does): sums are sums of the same
numbers, and quantiles are computed from bucket rates summed to the graph's
own grouping, then Prometheus's ``histogram_quantile`` (``bucket_quantile``),
so p50, p95, p99 and the average (``_sum`` / ``_count``) come out as Prometheus
computes them, for every graph type, with or without service nodes, for any
set of namespaces. A query on a label that is not kept is refused, not
answered wrongly.

Stored form (``MeshTraffic.to_dict``), canonical: label sets are written once
in a sorted edge table, rows refer to it by index and are sorted::

    {"format": "meshdeck.mesh-traffic", "version": 1, "window": 60, "query_time": 1763700000,
     "edge_labels": ["reporter", "source_workload_namespace", ...],
     "edges": [["destination", "unknown", "unknown", ...], ...],
     "metrics": {"istio_requests_total": {"labels": ["request_protocol", ...],
                                          "rows": [[0, "http", "200", "", "-", "mutual_tls", 0.5], ...]},
                 "istio_request_duration_milliseconds_bucket": {"labels": ["le"], "bounds": ["0.5", ..., "+Inf"],
                                                                "rows": [[0, [0.0, 0.1, ..., 0.5]], ...]}, ...}}

(Label values are "" where a series has no such label; rates are numbers, or
"NaN"/"+Inf"/"-Inf"; a histogram row has ``null`` for a bound its series lack.)

The edge table changes only when the topology does, the row values with every
window: a store can address the two apart. Rates of adjacent windows can be
averaged row by row into the rates of the longer window (bucket rates too, so
its quantiles stay exact).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from apps.core.stored import FormatError, Reader, check_format, decode_float, encode_float

from .base import TelemetryError, TelemetrySource
from .plan import DURATION, EDGE_LABELS, REQUESTS, TCP_RECEIVED, TCP_SENT, shard_matchers
from .query import EQ, Matcher, Query, RateSum, Row, Selector, sel

MESH_TRAFFIC_FORMAT = "meshdeck.mesh-traffic"
MESH_TRAFFIC_VERSION = 1

EDGE_KEY = ("reporter",) + EDGE_LABELS
_BOTH_REPORTERS = (sel("", ("reporter", EQ, "source")), sel("", ("reporter", EQ, "destination")))
_SCOPED = (sel("", ("reporter", EQ, "source")),
           sel("", ("reporter", EQ, "destination"), ("source_workload", EQ, "unknown")))

# metric -> (which series are kept, labels kept beyond EDGE_KEY)
STORED_METRICS: dict[str, tuple[tuple[Selector, ...], tuple[str, ...]]] = {
    REQUESTS: (_BOTH_REPORTERS, ("request_protocol", "response_code", "grpc_response_status", "response_flags",
                                 "connection_security_policy")),
    TCP_SENT: (_BOTH_REPORTERS, ("response_flags", "connection_security_policy")),
    TCP_RECEIVED: (_SCOPED, ("response_flags",)),
    DURATION + "_sum": (_SCOPED, ()),
    DURATION + "_count": (_SCOPED, ()),
    DURATION + "_bucket": (_SCOPED, ("le",)),
}


class TrafficWindowNotStored(TelemetryError):
    """A stored window was asked for another window or end time."""

    code = "window_not_stored"
    http_status = 409


def capture_queries(mesh_namespaces: list[str] | None = None) -> dict[str, Query]:
    """The queries whose answers a snapshot stores: one per metric, sharded by source namespace
    on a big mesh (every stored grouping has that label, so shards never split a row)."""
    queries: dict[str, RateSum] = {}
    for metric, (selectors, extra) in STORED_METRICS.items():
        sels = tuple(Selector(metric, s.matchers) for s in selectors)
        queries[metric] = RateSum(sels, EDGE_KEY + extra)
    shards = shard_matchers(mesh_namespaces)
    if not shards:
        return dict(queries)
    return {
        f"{metric}#{i}": RateSum(tuple(Selector(s.metric, s.matchers + (Matcher("source_workload_namespace", op, rx),))
                                       for s in q.selectors), q.by)
        for metric, q in queries.items() for i, (op, rx) in enumerate(shards)
    }


BUCKETS = DURATION + "_bucket"


def _bound_order(le: str) -> tuple[float, str]:
    try:
        return (float(le), le)
    except ValueError:
        return (math.inf, le)


@dataclass
class MeshTraffic:
    """The whole mesh's traffic over the ``window`` seconds ending at ``query_time`` (see the module doc)."""

    window: int
    query_time: float
    series: dict[str, list[Row]] = field(default_factory=dict)  # metric -> rows grouped as STORED_METRICS says

    def labels_of(self, metric: str) -> tuple[str, ...]:
        return EDGE_KEY + STORED_METRICS[metric][1]

    def rows_of(self, metric: str) -> list[Row]:
        """One metric's rows (a window kept in columns builds only these)."""
        return self.series.get(metric, [])

    def to_dict(self) -> dict[str, Any]:
        """Canonical, versioned JSON-safe form (see the module doc). Histogram buckets are written
        one row per edge: ``[edge index, [rate per bound of "bounds", or null]]``."""
        edges: dict[tuple[str, ...], int] = {}
        keyed: dict[str, list[tuple[tuple[str, ...], tuple[str, ...], float]]] = {}
        for metric in sorted(self.series):
            extra = STORED_METRICS[metric][1]
            keyed[metric] = []
            for row in self.series[metric]:
                edge = tuple(row.labels.get(k, "") for k in EDGE_KEY)
                edges[edge] = 0
                keyed[metric].append((edge, tuple(row.labels.get(k, "") for k in extra), row.value))
        table = sorted(edges)
        index = {edge: i for i, edge in enumerate(table)}
        metrics: dict[str, Any] = {}
        for metric, rows in keyed.items():
            labels = list(STORED_METRICS[metric][1])
            if metric == BUCKETS:
                metrics[metric] = {"labels": labels, **_histograms_to_json(index, rows)}
            else:
                encoded = sorted((index[edge], extra, value) for edge, extra, value in rows)
                metrics[metric] = {"labels": labels, "rows": [[i, *extra, encode_float(v)] for i, extra, v in encoded]}
        return {"format": MESH_TRAFFIC_FORMAT, "version": MESH_TRAFFIC_VERSION, "window": self.window,
                "query_time": encode_float(self.query_time), "edge_labels": list(EDGE_KEY),
                "edges": [list(e) for e in table], "metrics": metrics}

    @classmethod
    def from_dict(cls, data: Any) -> MeshTraffic:
        """What ``to_dict`` wrote. FormatError (naming the field) for another version or bad data."""
        check_format(data, MESH_TRAFFIC_FORMAT, (MESH_TRAFFIC_VERSION,))
        r = Reader(data, "mesh traffic")
        edge_labels = tuple(r.items("edge_labels", _label_name))
        if edge_labels != EDGE_KEY:
            raise FormatError(f"mesh traffic.edge_labels: expected {list(EDGE_KEY)}, got {list(edge_labels)}")
        table = r.items("edges", lambda item, where: _edge_labels(item, where), [])
        metrics = Reader(r.data.get("metrics", {}), "mesh traffic.metrics")
        series: dict[str, list[Row]] = {}
        for metric, part in metrics.data.items():
            where = f"mesh traffic.metrics.{metric}"
            if metric not in STORED_METRICS:
                raise FormatError(f"{where}: not a metric this version stores ({', '.join(STORED_METRICS)})")
            p = Reader(part, where)
            extra = tuple(p.items("labels", _label_name))
            if extra != STORED_METRICS[metric][1]:
                raise FormatError(f"{where}.labels: expected {list(STORED_METRICS[metric][1])}, got {list(extra)}")
            if metric == BUCKETS:
                series[metric] = _histograms_from_json(p, table, where)
            else:
                series[metric] = _rows_from_json(p.items("rows", lambda item, w: item, []), table, extra, where)
        return cls(window=r.integer("window"), query_time=r.number("query_time"), series=series)


def _histograms_to_json(index: dict[tuple[str, ...], int],
                        rows: list[tuple[tuple[str, ...], tuple[str, ...], float]]) -> dict[str, Any]:
    bounds = sorted({extra[0] for _, extra, _ in rows}, key=_bound_order)
    at = {le: i for i, le in enumerate(bounds)}
    per_edge: dict[int, list[float | str | None]] = {}
    for edge, (le,), value in rows:
        per_edge.setdefault(index[edge], [None] * len(bounds))[at[le]] = encode_float(value)
    return {"bounds": bounds, "rows": [[i, rates] for i, rates in sorted(per_edge.items())]}


def _histograms_from_json(part: Reader, table: list[dict[str, str]], where: str) -> list[Row]:
    bounds = part.items("bounds", _label_name, [])
    out: list[Row] = []
    for n, item in enumerate(part.items("rows", lambda item, w: item, [])):
        w = f"{where}.rows[{n}]"
        if not (isinstance(item, list) and len(item) == 2 and isinstance(item[1], list)
                and len(item[1]) == len(bounds)):
            raise FormatError(f"{w}: expected [edge index, [{len(bounds)} rates or null]]")
        base = table[_edge_index(item[0], table, w)]
        out.extend(Row({**base, "le": le}, decode_float(v, w))
                   for le, v in zip(bounds, item[1], strict=True) if v is not None)
    return out


def _rows_from_json(items: list[Any], table: list[dict[str, str]], extra: tuple[str, ...], where: str) -> list[Row]:
    width = len(extra) + 2
    out: list[Row] = []
    for n, item in enumerate(items):
        if not (isinstance(item, list) and len(item) == width and all(isinstance(v, str) for v in item[1:-1])):
            raise FormatError(f"{where}.rows[{n}]: expected [edge index, {len(extra)} label values, rate]")
        labels = dict(table[_edge_index(item[0], table, f"{where}.rows[{n}]")])
        labels.update((k, v) for k, v in zip(extra, item[1:-1], strict=True) if v != "")
        out.append(Row(labels, decode_float(item[-1], f"{where}.rows[{n}]")))
    return out


def _edge_index(i: Any, table: list, where: str) -> int:
    if isinstance(i, bool) or not isinstance(i, int) or not 0 <= i < len(table):
        raise FormatError(f"{where}: edge index {i!r} is not in the edge table")
    return i


def _label_name(item: Any, where: str) -> str:
    if not isinstance(item, str):
        raise FormatError(f"{where}: expected a label name")
    return item


def _edge_labels(item: Any, where: str) -> dict[str, str]:
    """One edge of the table as labels (empty values left out, as Prometheus leaves them out)."""
    if not (isinstance(item, list) and len(item) == len(EDGE_KEY) and all(isinstance(v, str) for v in item)):
        raise FormatError(f"{where}: expected {len(EDGE_KEY)} label values")
    return {k: v for k, v in zip(EDGE_KEY, item, strict=True) if v != ""}


class CapturedTraffic(MeshTraffic):
    """A window as read from Prometheus in columns (``PrometheusTelemetry.instant_columns``): per metric,
    every row's values of ``labels_of(metric)`` ("" where a row lacks the label) and its rate. The rows
    (``series``, or one metric's: ``rows_of``) are built on first use; a snapshot splits the columns
    (``apps.history.codec.split_traffic``) without them."""

    def __init__(self, *, window: int, query_time: float,
                 columns: dict[str, tuple[list[tuple[str, ...]], list[float]]]):
        self.window = window
        self.query_time = query_time
        self.columns = columns
        self._rows: dict[str, list[Row]] = {}
        self._series: dict[str, list[Row]] | None = None

    def rows_of(self, metric: str) -> list[Row]:
        rows = self._rows.get(metric)
        if rows is None:
            names = self.labels_of(metric)
            keys, values = self.columns.get(metric, ([], []))
            rows = self._rows[metric] = [Row({k: v for k, v in zip(names, key, strict=True) if v != ""}, value)
                                         for key, value in zip(keys, values, strict=True)]
        return rows

    @property
    def series(self) -> dict[str, list[Row]]:
        if self._series is None:
            self._series = {metric: self.rows_of(metric) for metric in self.columns}
        return self._series

    @series.setter
    def series(self, value: dict[str, list[Row]]) -> None:
        self._series = value


def capture_traffic(source: TelemetrySource, *, window: int, query_time: float,
                    mesh_namespaces: list[str] | None = None) -> MeshTraffic:
    """Read what a snapshot stores from a live telemetry source (Prometheus or the simulator).
    A source that answers in columns (Prometheus) gives a ``CapturedTraffic``."""
    queries = capture_queries(mesh_namespaces)
    in_columns = getattr(source, "instant_columns", None)
    if in_columns is not None:
        columns: dict[str, tuple[list[tuple[str, ...]], list[float]]] = {metric: ([], []) for metric in STORED_METRICS}
        for key, (keys, values) in in_columns(queries, window=window, query_time=query_time).items():
            into = columns[key.split("#")[0]]
            into[0].extend(keys)
            into[1].extend(values)
        return CapturedTraffic(window=window, query_time=query_time, columns=columns)
    answers = source.instant(queries, window=window, query_time=query_time)
    series: dict[str, list[Row]] = {metric: [] for metric in STORED_METRICS}
    for key, rows in answers.items():
        series[key.split("#")[0]].extend(rows)
    return MeshTraffic(window=window, query_time=query_time, series=series)
