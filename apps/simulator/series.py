"""Istio's standard metrics for the flows: which series exist and their rates.

Pure. Each series is one label set of one reporting proxy (pod); its id is its
index in a ``SeriesTable`` and never changes, so the timeline can keep
cumulative values per id. Label names, order and values follow istio/proxy's
stats filter (docs/simulator.md has the table).
"""
from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass

from .histogram import INSTANT, LE_STRINGS, N_BUCKETS, LatencyProfile
from .pods import WorkloadState
from .traffic import Flow

CLUSTER_NAME = "Kubernetes"  # Istio's default cluster name (source_cluster/destination_cluster)
TRUST_DOMAIN = "cluster.local"
UNKNOWN = "unknown"

REQUESTS = "istio_requests_total"
DURATION = "istio_request_duration_milliseconds"
DURATION_BUCKET = DURATION + "_bucket"
DURATION_SUM = DURATION + "_sum"
DURATION_COUNT = DURATION + "_count"
TCP_SENT = "istio_tcp_sent_bytes_total"
TCP_RECEIVED = "istio_tcp_received_bytes_total"
ALL_METRICS = (REQUESTS, DURATION_BUCKET, DURATION_SUM, DURATION_COUNT, TCP_SENT, TCP_RECEIVED)

# Value vector layout per series kind.
#   http: [count, sum_ms, bucket_0 .. bucket_19(+Inf)]  -> 22 numbers
#   tcp:  [sent_bytes, received_bytes]
HTTP_LEN = 2 + N_BUCKETS
TCP_LEN = 2

LabelItems = tuple[tuple[str, str], ...]
Rates = dict[int, list[float]]


def metric_values(kind: str, items: LabelItems, values: Sequence[float],
                  metrics: Collection[str] = ALL_METRICS) -> Iterator[tuple[str, LabelItems, float]]:
    """(metric, label items, value) of each of ``metrics`` in one series' value vector (the layout
    above), in exposition order; buckets carry their ``le``."""
    if kind == "tcp":
        if TCP_SENT in metrics:
            yield TCP_SENT, items, values[0]
        if TCP_RECEIVED in metrics:
            yield TCP_RECEIVED, items, values[1]
        return
    if REQUESTS in metrics:
        yield REQUESTS, items, values[0]
    if DURATION_BUCKET in metrics:
        for le, x in zip(LE_STRINGS, values[2:], strict=False):
            yield DURATION_BUCKET, items + (("le", le),), x
    if DURATION_SUM in metrics:
        yield DURATION_SUM, items, values[1]
    if DURATION_COUNT in metrics:
        yield DURATION_COUNT, items, values[0]


@dataclass
class Series:
    kind: str  # "http" | "tcp"
    label_items: LabelItems
    label_str: str  # the exposition's {...} body, built once
    pod_key: tuple[str, str]  # (namespace, pod) of the reporting proxy


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


class SeriesTable:
    """Every series ever reported, by id. Ids are handed out in first-seen order."""

    def __init__(self) -> None:
        self.series: list[Series] = []
        self._index: dict[tuple[str, LabelItems], int] = {}

    def __getitem__(self, sid: int) -> Series:
        return self.series[sid]

    def id_for(self, kind: str, items: LabelItems, pod_key: tuple[str, str]) -> int:
        key = (kind, items)
        sid = self._index.get(key)
        if sid is None:
            sid = len(self.series)
            label_str = ",".join(f'{k}="{_escape(v)}"' for k, v in items)
            self.series.append(Series(kind, items, label_str, pod_key))
            self._index[key] = sid
        return sid


def _identity(ws: WorkloadState) -> tuple[str, str, str, str, str, str]:
    """(workload, namespace, canonical service, canonical revision, app, version)."""
    labels = ws.labels
    canon = (labels.get("service.istio.io/canonical-name") or labels.get("app.kubernetes.io/name")
             or labels.get("app") or ws.spec.name)
    rev = (labels.get("service.istio.io/canonical-revision") or labels.get("app.kubernetes.io/version")
           or labels.get("version") or "latest")
    app = labels.get("app") or UNKNOWN
    version = labels.get("version") or UNKNOWN
    return ws.spec.name, ws.spec.namespace, canon, rev, app, version


def _principal(ws: WorkloadState) -> str:
    return f"spiffe://{TRUST_DOMAIN}/ns/{ws.spec.namespace}/sa/{ws.spec.service_account}"


def _source_labels(f: Flow, reporter: str) -> LabelItems:
    ws = f.client
    if ws is None or not (ws.has_proxy and (reporter == "source" or f.mtls or f.call.protocol != "tcp")):
        return (
            ("source_workload", UNKNOWN), ("source_canonical_service", UNKNOWN),
            ("source_canonical_revision", "latest"),
            ("source_workload_namespace", UNKNOWN), ("source_principal", UNKNOWN), ("source_app", UNKNOWN),
            ("source_version", UNKNOWN), ("source_cluster", UNKNOWN),
        )
    name, ns, canon, rev, app, version = _identity(ws)
    return (
        ("source_workload", name), ("source_canonical_service", canon), ("source_canonical_revision", rev),
        ("source_workload_namespace", ns), ("source_principal", _principal(ws) if f.mtls else UNKNOWN),
        ("source_app", app), ("source_version", version), ("source_cluster", CLUSTER_NAME),
    )


def _dest_labels(f: Flow, reporter: str) -> LabelItems:
    ws = f.dest
    svc = (("destination_service", f.svc_host), ("destination_service_name", f.svc_name),
           ("destination_service_namespace", f.svc_ns))
    if ws is None:
        return (
            ("destination_workload", UNKNOWN), ("destination_workload_namespace", UNKNOWN),
            ("destination_principal", UNKNOWN), ("destination_app", UNKNOWN), ("destination_version", UNKNOWN),
        ) + svc[:1] + (("destination_canonical_service", UNKNOWN),
                       ("destination_canonical_revision", "latest")) + svc[1:] + (
            ("destination_cluster", UNKNOWN),
        )
    name, ns, canon, rev, app, version = _identity(ws)
    if reporter == "source" and not ws.has_proxy:
        # No server proxy: the client falls back to the endpoint metadata pilot sends
        # (workload, namespace, canonical name/revision, cluster; no app/version).
        app = version = UNKNOWN
    principal = _principal(ws) if f.mtls else UNKNOWN
    return (
        ("destination_workload", name), ("destination_workload_namespace", ns), ("destination_principal", principal),
        ("destination_app", app), ("destination_version", version),
    ) + svc[:1] + (("destination_canonical_service", canon), ("destination_canonical_revision", rev)) + svc[1:] + (
        ("destination_cluster", CLUSTER_NAME),
    )


def _grpc_from_http(code: str) -> str:
    """Envoy's HTTP -> gRPC status mapping when the server sent no grpc-status."""
    return {"400": "13", "401": "16", "403": "7", "404": "12", "429": "14", "502": "14", "503": "14",
            "504": "14"}.get(code, "2")


def add_scaled(into: Rates, sid: int, values: Iterable[float], scale: float) -> None:
    """``into[sid] += values * scale``, element-wise (a missing entry counts as zeros)."""
    cur = into.get(sid)
    if cur is None:
        into[sid] = [x * scale for x in values]
    else:
        for i, x in enumerate(values):
            cur[i] += x * scale


def compute_rates(flows: Iterable[Flow], table: SeriesTable) -> Rates:
    """Per-second value vectors (see the layout above) of every series the flows produce."""
    rates: Rates = {}
    profile_vec: dict[int, tuple[float, ...]] = {}

    def vec_of(p: LatencyProfile) -> tuple[float, ...]:
        v = profile_vec.get(id(p))
        if v is None:
            v = (1.0, p.mean) + tuple(p.cumulative)
            profile_vec[id(p)] = v
        return v

    for f in flows:
        call = f.call
        proto = call.protocol
        for reporter in ("source", "destination"):
            if reporter == "source":
                if not (f.source_reports and f.client is not None and f.client.has_proxy):
                    continue
                pods = f.client.pods
                flags, latency = f.flags, f.source_latency
                csp = UNKNOWN
            else:
                if not (f.dest_reports and f.dest is not None and f.dest.has_proxy):
                    continue
                pods = f.dest.pods
                flags, latency = f.dest_flags, f.dest_latency
                csp = "mutual_tls" if f.mtls else "none"
            if not pods:
                continue
            per_pod = f.rate / len(pods)
            head = (("reporter", reporter),) + _source_labels(f, reporter) + _dest_labels(f, reporter)
            for pod in pods:
                ident = (("namespace", pod.namespace), ("pod", pod.name))
                pod_key = (pod.namespace, pod.name)
                if proto == "tcp":
                    items = ident + head + (("request_protocol", "tcp"), ("response_flags", flags),
                                            ("connection_security_policy", csp))
                    # istio_tcp_sent_bytes_total counts bytes sent during the *response*
                    # (server -> client); received counts request bytes (client -> server).
                    add_scaled(rates, table.id_for("tcp", items, pod_key), (call.response_bytes, call.request_bytes),
                               per_pod)
                    continue
                vec = vec_of(latency or INSTANT)
                for code, code_share in f.codes:
                    if code_share <= 0:
                        continue
                    grpc_codes = call.grpc_codes if proto == "grpc" and code == "200" else None
                    if proto == "grpc" and grpc_codes is None:
                        grpc_codes = ((_grpc_from_http(code), 1.0),)
                    for gcode, gshare in grpc_codes or ((None, 1.0),):
                        if gshare <= 0:
                            continue
                        tail: LabelItems = (("request_protocol", proto), ("response_code", code))
                        if gcode is not None:
                            tail += (("grpc_response_status", gcode),)
                        tail += (("response_flags", flags), ("connection_security_policy", csp))
                        add_scaled(rates, table.id_for("http", ident + head + tail, pod_key), vec,
                                   per_pod * code_share * gshare)
    return rates
