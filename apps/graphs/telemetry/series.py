"""Time series for side panels: request rate, error rate, p50/p95/p99 of one node or edge."""
from __future__ import annotations

import math
from dataclasses import dataclass

from .base import TelemetrySource
from .plan import DURATION, REQUESTS
from .query import EQ, NRE, RE, Matcher, Quantile, Query, RateSum, Selector

HTTP_ERR = "0|4..|5.."
GRPC_ERR = "[1-9]|1[0-6]"


@dataclass(frozen=True)
class Peer:
    """A node as label matchers: namespace plus workload, app (+version) or service."""

    namespace: str
    workload: str = ""
    app: str = ""
    version: str = ""
    service: str = ""

    def matchers(self, side: str) -> list[tuple[str, str, str]]:
        if self.namespace == "unknown" and side == "source":
            return [("source_workload", EQ, "unknown")]
        if self.service:
            return [(f"{side}_service_namespace", EQ, self.namespace), (f"{side}_service_name", EQ, self.service)]
        m = [(f"{side}_workload_namespace", EQ, self.namespace)]
        if self.workload:
            m.append((f"{side}_workload", EQ, self.workload))
        if self.app:
            m.append((f"{side}_canonical_service", EQ, self.app))
        if self.version:
            m.append((f"{side}_canonical_revision", EQ, self.version))
        return m


def series_selectors(metric: str, *, dest: Peer | None, source: Peer | None) -> tuple[Selector, ...]:
    """Edges: source-reported (destination-reported for unknown sources). Node inbound: both reporters' share
    as the graph counts it. Node outbound: source-reported."""
    def make(reporter, matchers):
        return Selector(metric, tuple(Matcher(*m) for m in [("reporter", EQ, reporter), *matchers]))

    if source is not None and source.namespace == "unknown":
        return (make("destination", source.matchers("source") + (dest.matchers("destination") if dest else [])),)
    if source is not None:
        return (make("source", source.matchers("source") + (dest.matchers("destination") if dest else [])),)
    assert dest is not None
    return (
        make("source", dest.matchers("destination")),
        make("destination", [("source_workload", EQ, "unknown"), *dest.matchers("destination")]),
    )


def series_queries(*, dest: Peer | None, source: Peer | None) -> dict[str, Query]:
    requests = series_selectors(REQUESTS, dest=dest, source=source)

    def with_matchers(sels, *extra):
        return tuple(Selector(s.metric, s.matchers + tuple(Matcher(*m) for m in extra)) for s in sels)

    errors = with_matchers(requests, ("response_code", RE, HTTP_ERR)) + with_matchers(
        requests, ("response_code", NRE, HTTP_ERR), ("grpc_response_status", RE, GRPC_ERR)
    )
    buckets = series_selectors(DURATION + "_bucket", dest=dest, source=source)
    return {
        "requestRate": RateSum(requests, ()),
        "errors": RateSum(errors, ()),
        "p50": Quantile(0.5, RateSum(buckets, ("le",))),
        "p95": Quantile(0.95, RateSum(buckets, ("le",))),
        "p99": Quantile(0.99, RateSum(buckets, ("le",))),
    }


def fetch_series(
    source_: TelemetrySource, *, dest: Peer | None, source: Peer | None, duration: int, query_time: float
) -> dict:
    step = max(duration // 60, 1)
    window = max(60, step)
    start = query_time - duration
    raw = source_.range(series_queries(dest=dest, source=source), window=window, start=start, end=query_time, step=step)
    stamps = []
    t = start
    while t <= query_time + 1e-9:
        stamps.append(t)
        t += step

    def aligned(name):
        points = {}
        for s in raw.get(name, []):
            for ts, v in s.points:
                points[round(ts)] = v
        return [points.get(round(ts)) for ts in stamps]

    rate, errors = aligned("requestRate"), aligned("errors")
    clean = lambda v: None if v is None or math.isnan(v) or math.isinf(v) else round(v, 4)  # noqa: E731
    return {
        "timestamps": [int(t) for t in stamps],
        "step": step,
        "window": window,
        "requestRate": [clean(v) for v in rate],
        "errorRate": [clean((e or 0.0) / r * 100.0) if r else None for r, e in zip(rate, errors, strict=True)],
        "p50": [clean(v) for v in aligned("p50")],
        "p95": [clean(v) for v in aligned("p95")],
        "p99": [clean(v) for v in aligned("p99")],
    }
