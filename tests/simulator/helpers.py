"""Small helpers for simulator tests: a fake clock and sums over series."""
from __future__ import annotations

from collections import defaultdict


class FakeClock:
    def __init__(self, t: float = 1_000_000.0):
        self.t = t

    def __call__(self) -> float:
        return self.t

    def advance(self, seconds: float) -> float:
        self.t += seconds
        return self.t


def total(samples, metric="istio_requests_total", **match) -> float:
    """Sum of rates of ``metric`` series whose labels equal every ``match`` item."""
    out = 0.0
    for s in samples:
        if s.metric != metric:
            continue
        labels = s.labels
        if all(labels.get(k, "") == v for k, v in match.items()):
            out += s.rate
    return out


def select(samples, metric="istio_requests_total", **match):
    return [s for s in samples if s.metric == metric and all(s.labels.get(k, "") == v for k, v in match.items())]


def prom_quantile(q: float, buckets: dict[float, float]) -> float:
    """Prometheus's histogram_quantile, written out again here (not the simulator's copy)."""
    pts = sorted(buckets.items())
    count = pts[-1][1]
    rank = q * count
    prev_le, prev_c = 0.0, 0.0
    for le, c in pts:
        if c >= rank:
            if le == float("inf"):
                return prev_le
            return prev_le + (le - prev_le) * (rank - prev_c) / (c - prev_c)
        prev_le, prev_c = le, c
    return prev_le


def bucket_sums(samples, **match) -> dict[float, float]:
    acc: dict[float, float] = defaultdict(float)
    for s in select(samples, "istio_request_duration_milliseconds_bucket", **match):
        acc[float(s.labels["le"])] += s.rate
    return dict(acc)
