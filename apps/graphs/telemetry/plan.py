"""The graph's query plan: a handful of global queries for all requested namespaces.

Kiali sends about ten queries per namespace, one namespace after another. We
send one query per kind of data for the whole request, with the requested
namespaces as one regex matcher, and run them concurrently:

  requests      HTTP/gRPC request rates by edge and response   (source-reported; unknown sources destination-reported)
  tcp_sent      TCP bytes/s sent (response direction)          (same scoping)
  tcp_received  TCP bytes/s received (request direction)       (same scoping)
  mtls_http     request rates by connection_security_policy    (destination-reported)
  mtls_tcp      TCP bytes/s by connection_security_policy      (destination-reported)
  lat_sum       rate of istio_request_duration_milliseconds_sum   (average = sum / request rate:
                every request is observed once, so _count's rate is the request rate we already have)
  lat_edge | lat_in + lat_out   histogram_quantile over the duration buckets,
                grouped by exactly the labels that identify the graph's edge
                (not sent for responseTime=avg, quantile None: the mean needs only lat_sum)

Edges are counted once: traffic from a mesh workload comes from the
source-reported series only (this includes requests that never reached a
destination: destination_workload="unknown" with the intended service), and
traffic from outside the mesh (source_workload="unknown") from the
destination-reported series only.
"""
from __future__ import annotations

from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from apps.core.stored import FormatError, Reader, check_format, encode_float

from .base import TelemetrySource
from .query import (
    EQ,
    NE,
    NRE,
    RE,
    Matcher,
    Quantile,
    Query,
    RateSum,
    Row,
    Selector,
    regex_any,
    rows_from_json,
    rows_to_json,
    sel,
)

REQUESTS = "istio_requests_total"
TCP_SENT = "istio_tcp_sent_bytes_total"
TCP_RECEIVED = "istio_tcp_received_bytes_total"
DURATION = "istio_request_duration_milliseconds"

SRC = ("source_workload_namespace", "source_workload", "source_canonical_service", "source_canonical_revision")
DST = (
    "destination_service_namespace",
    "destination_service",
    "destination_service_name",
    "destination_workload_namespace",
    "destination_workload",
    "destination_canonical_service",
    "destination_canonical_revision",
)
EDGE_LABELS = SRC + DST
REQUEST_LABELS = EDGE_LABELS + ("request_protocol", "response_code", "grpc_response_status", "response_flags")
TCP_LABELS = EDGE_LABELS + ("response_flags",)
MTLS_LABELS = EDGE_LABELS + ("connection_security_policy",)

DST_SVC = ("destination_service_namespace", "destination_service_name")
SRC_NODE = {
    "workload": ("source_workload_namespace", "source_workload"),
    "service": ("source_workload_namespace", "source_workload"),
    "app": ("source_workload_namespace", "source_canonical_service"),
    "versionedApp": SRC,
}
DST_NODE = {
    "workload": ("destination_workload_namespace", "destination_workload"),
    "service": ("destination_workload_namespace", "destination_workload"),
    "app": ("destination_workload_namespace", "destination_canonical_service"),
    "versionedApp": (
        "destination_workload_namespace",
        "destination_workload",
        "destination_canonical_service",
        "destination_canonical_revision",
    ),
}


@dataclass
class TrafficData:
    """Everything the builder needs from telemetry, as plain rows."""

    requests: list[Row] = field(default_factory=list)
    tcp_sent: list[Row] = field(default_factory=list)
    tcp_received: list[Row] = field(default_factory=list)
    mtls_http: list[Row] = field(default_factory=list)
    mtls_tcp: list[Row] = field(default_factory=list)
    lat_sum: list[Row] = field(default_factory=list)
    lat_count: list[Row] = field(default_factory=list)  # optional: empty means "use the request rate"
    # quantile rows by grouping: "edge" (source node -> dest node),
    # "in" (source node -> service), "out" (service -> dest node)
    lat_quantile: dict[str, list[Row]] = field(default_factory=dict)
    quantile: float | None = 0.95  # None: responseTime is the mean

    def to_dict(self) -> dict[str, Any]:
        """Versioned, canonical JSON-safe form: rows sorted by labels (see ``query.rows_to_json``)."""
        out: dict[str, Any] = {"format": TRAFFIC_DATA_FORMAT, "version": TRAFFIC_DATA_VERSION,
                               "quantile": None if self.quantile is None else encode_float(self.quantile)}
        for name in _ROW_FIELDS:
            out[name] = rows_to_json(getattr(self, name))
        out["lat_quantile"] = {k: rows_to_json(v) for k, v in sorted(self.lat_quantile.items())}
        return out

    @classmethod
    def from_dict(cls, data: Any) -> TrafficData:
        """What ``to_dict`` wrote; missing parts are empty. FormatError for an unknown version or bad rows."""
        check_format(data, TRAFFIC_DATA_FORMAT, (TRAFFIC_DATA_VERSION,))
        r = Reader(data, "traffic")
        quantiles = r.data.get("lat_quantile") or {}
        if not isinstance(quantiles, dict):
            raise FormatError("traffic.lat_quantile: expected an object")
        return cls(
            **{name: rows_from_json(r.data.get(name, []), f"traffic.{name}") for name in _ROW_FIELDS},
            lat_quantile={str(k): rows_from_json(v, f"traffic.lat_quantile.{k}") for k, v in quantiles.items()},
            quantile=None if r.data.get("quantile", 0.95) is None else r.number("quantile", 0.95),
        )


TRAFFIC_DATA_FORMAT = "meshdeck.traffic-data"
TRAFFIC_DATA_VERSION = 1
_ROW_FIELDS = ("requests", "tcp_sent", "tcp_received", "mtls_http", "mtls_tcp", "lat_sum", "lat_count")


def _in_namespaces(metric: str, reporter: str, ns: str, *outside: tuple[str, str, str]) -> tuple:
    """``reporter``'s series of requests from the namespaces ``ns`` matches, or into them from outside
    (sources outside also matching ``outside``)."""
    return (
        sel(metric, ("reporter", EQ, reporter), ("source_workload_namespace", RE, ns)),
        sel(
            metric,
            ("reporter", EQ, reporter),
            ("source_workload_namespace", NRE, ns),
            *outside,
            ("destination_service_namespace", RE, ns),
        ),
    )


def _scoped(metric: str, namespaces: list[str] | None) -> tuple:
    """Source-reported series of mesh sources + destination-reported series of unknown sources."""
    if namespaces is None:
        return (
            sel(metric, ("reporter", EQ, "source")),
            sel(metric, ("reporter", EQ, "destination"), ("source_workload", EQ, "unknown")),
        )
    ns = regex_any(namespaces)
    return (
        *_in_namespaces(metric, "source", ns, ("source_workload", NE, "unknown")),
        sel(
            metric,
            ("reporter", EQ, "destination"),
            ("source_workload", EQ, "unknown"),
            ("destination_workload_namespace", RE, ns),
        ),
    )


def _destination_reported(metric: str, namespaces: list[str] | None) -> tuple:
    if namespaces is None:
        return (sel(metric, ("reporter", EQ, "destination")),)
    return _in_namespaces(metric, "destination", regex_any(namespaces))


def graph_queries(
    namespaces: list[str] | None, graph_type: str, inject_service_nodes: bool, quantile: float | None = 0.95
) -> dict[str, Query]:
    """The queries for one graph. ``namespaces=None`` means the whole mesh (no namespace matchers).
    ``quantile=None`` (responseTime=avg): no histogram_quantile, the mean comes from lat_sum."""
    q: dict[str, Query] = {
        "requests": RateSum(_scoped(REQUESTS, namespaces), REQUEST_LABELS),
        "tcp_sent": RateSum(_scoped(TCP_SENT, namespaces), TCP_LABELS),
        "tcp_received": RateSum(_scoped(TCP_RECEIVED, namespaces), TCP_LABELS),
        "mtls_http": RateSum(_destination_reported(REQUESTS, namespaces), MTLS_LABELS),
        "mtls_tcp": RateSum(_destination_reported(TCP_SENT, namespaces), MTLS_LABELS),
        "lat_sum": RateSum(_scoped(DURATION + "_sum", namespaces), EDGE_LABELS),
    }
    if quantile is None:
        return q
    buckets = _scoped(DURATION + "_bucket", namespaces)
    src, dst = SRC_NODE[graph_type], DST_NODE[graph_type]
    if inject_service_nodes or graph_type == "service":
        q["lat_in"] = Quantile(quantile, RateSum(buckets, ("le",) + src + DST_SVC))
        q["lat_out"] = Quantile(quantile, RateSum(buckets, ("le",) + DST_SVC + dst))
    else:
        q["lat_edge"] = Quantile(quantile, RateSum(buckets, ("le",) + src + DST_SVC + dst))
    return q


# Prometheus aggregates one huge vector much slower than several smaller ones
# (measured on the 50x20 mesh: one global histogram_quantile 1.34 s; the same in
# 8 namespace shards, 4 at a time, 0.57 s). Shards split on a label every
# grouping contains, so each group lands in exactly one shard and sums and
# quantiles stay exact.
NAMESPACES_PER_SHARD = 6
MAX_SHARDS = 8


def shard_matchers(mesh_namespaces: list[str] | None) -> list[tuple[str, str]]:
    """A partition of all namespace values into (op, regex) matchers; [] means no sharding."""
    names = sorted(set(mesh_namespaces or ()))
    k = min(MAX_SHARDS, len(names) // NAMESPACES_PER_SHARD)
    if k < 2:
        return []
    groups = [names[i::k] for i in range(k)]
    earlier = [n for g in groups[:-1] for n in g]
    # the last shard takes everything else too: "unknown", namespaces not in the inventory
    return [(RE, regex_any(g)) for g in groups[:-1]] + [(NRE, regex_any(earlier))]


def _shard_label(name: str) -> str:
    # lat_out groups by the destination side only
    return "destination_service_namespace" if name == "lat_out" else "source_workload_namespace"


def _with_matcher(q: Query, label: str, op: str, value: str) -> Query:
    def rs(r: RateSum) -> RateSum:
        return RateSum(tuple(Selector(s.metric, s.matchers + (Matcher(label, op, value),)) for s in r.selectors), r.by)

    return Quantile(q.q, rs(q.buckets)) if isinstance(q, Quantile) else rs(q)


def sharded_queries(
    namespaces: list[str] | None, graph_type: str, inject_service_nodes: bool, quantile: float | None = 0.95,
    mesh_namespaces: list[str] | None = None,
) -> dict[str, Query]:
    """graph_queries, split into namespace shards on a big mesh: keys are "<name>" or "<name>#<i>"."""
    queries = graph_queries(namespaces, graph_type, inject_service_nodes, quantile)
    shards = shard_matchers(mesh_namespaces)
    if not shards:
        return queries
    out: dict[str, Query] = {}
    for name, q in queries.items():
        for i, (op, regex) in enumerate(shards):
            out[f"{name}#{i}"] = _with_matcher(q, _shard_label(name), op, regex)
    return out


def fetch_traffic(
    source: TelemetrySource,
    *,
    namespaces: list[str] | None,
    graph_type: str,
    inject_service_nodes: bool,
    window: int,
    query_time: float,
    quantile: float | None = 0.95,
    mesh_namespaces: list[str] | None = None,
    only: tuple[str, ...] | None = None,
    pending: bool = False,
) -> TrafficData:
    """Run the plan. ``mesh_namespaces`` (all namespaces of the mesh) enables sharding on big meshes.
    ``only``: run just these queries (e.g. ``("requests",)`` for health); the rest stay empty.
    ``pending``: with a source that answers query by query (Prometheus), return at once; each kind of
    rows is waited for when first read (``PendingTrafficData``), so the builder places the request
    rows while the latency queries still run. A telemetry error is then raised at that read."""
    queries = sharded_queries(namespaces, graph_type, inject_service_nodes, quantile, mesh_namespaces)
    if only is not None:
        queries = {k: q for k, q in queries.items() if k.split("#")[0] in only}
    later = getattr(source, "instant_later", None)
    if pending and later is not None:
        return PendingTrafficData(later(queries, window=window, query_time=query_time), quantile)
    sharded = source.instant(queries, window=window, query_time=query_time)
    rows: dict[str, list[Row]] = {}
    for key, part in sharded.items():
        rows.setdefault(key.split("#")[0], []).extend(part)
    return TrafficData(
        requests=rows.get("requests", []),
        tcp_sent=rows.get("tcp_sent", []),
        tcp_received=rows.get("tcp_received", []),
        mtls_http=rows.get("mtls_http", []),
        mtls_tcp=rows.get("mtls_tcp", []),
        lat_sum=rows.get("lat_sum", []),
        lat_count=rows.get("lat_count", []),
        lat_quantile={k[4:]: v for k, v in rows.items() if _is_quantile(k)},
        quantile=quantile,
    )


def _is_quantile(name: str) -> bool:
    """lat_edge, lat_in, lat_out: the latency quantile queries (TrafficData.lat_quantile's groupings)."""
    return name.startswith("lat_") and name not in ("lat_sum", "lat_count")


class PendingTrafficData(TrafficData):
    """``TrafficData`` whose rows are still being answered: reading a kind of rows waits for its
    queries (every shard), in the order the builder reads them."""

    def __init__(self, futures: dict[str, Future[list[Row]]], quantile: float | None):  # (no dataclass init)
        self._futures = futures
        self._rows: dict[str, list[Row]] = {}
        self.quantile = quantile

    def _get(self, name: str) -> list[Row]:
        rows = self._rows.get(name)
        if rows is None:
            rows = []
            for key, future in self._futures.items():
                if key.split("#")[0] == name:
                    rows.extend(future.result())
            self._rows[name] = rows
        return rows

    requests = property(lambda self: self._get("requests"))
    tcp_sent = property(lambda self: self._get("tcp_sent"))
    tcp_received = property(lambda self: self._get("tcp_received"))
    mtls_http = property(lambda self: self._get("mtls_http"))
    mtls_tcp = property(lambda self: self._get("mtls_tcp"))
    lat_sum = property(lambda self: self._get("lat_sum"))
    lat_count = property(lambda self: self._get("lat_count"))

    @property
    def lat_quantile(self) -> dict[str, list[Row]]:  # type: ignore[override]
        names = dict.fromkeys(k.split("#")[0] for k in self._futures)
        return {name[4:]: self._get(name) for name in names if _is_quantile(name)}
