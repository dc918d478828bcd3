"""Evaluate logical queries in Python over per-series rates.

This is the in-process twin of PromQL for the few shapes ``query.py`` knows:
``sum by`` over ``rate()`` of several selectors, and ``histogram_quantile``
with Prometheus's own interpolation rules (so p95 matches to the digit).
"""
from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from typing import Protocol

from .query import Quantile, Query, RateSum, Row


class RateSampleLike(Protocol):
    metric: str
    labels: dict[str, str]
    rate: float


def index_by_metric(samples: Iterable[RateSampleLike]) -> dict[str, list[RateSampleLike]]:
    index: dict[str, list[RateSampleLike]] = defaultdict(list)
    for s in samples:
        index[s.metric].append(s)
    return index


def evaluate(query: Query, index: dict[str, list[RateSampleLike]]) -> list[Row]:
    if isinstance(query, Quantile):
        return _quantile(query, index)
    return _rate_sum(query, index)


def _rate_sum_groups(query: RateSum, index) -> dict[tuple[str, ...], float]:
    groups: dict[tuple[str, ...], float] = defaultdict(float)
    by = query.by
    for selector in query.selectors:
        for s in index.get(selector.metric, ()):
            labels = s.labels
            if all(m.matches(labels) for m in selector.matchers):
                groups[tuple(labels.get(b, "") for b in by)] += s.rate
    return groups


def _rate_sum(query: RateSum, index) -> list[Row]:
    return [
        Row({b: v for b, v in zip(query.by, key, strict=True) if v != ""}, value)
        for key, value in _rate_sum_groups(query, index).items()
    ]


def _quantile(query: Quantile, index) -> list[Row]:
    by = query.buckets.by
    le_at = by.index("le")
    histograms: dict[tuple[str, ...], list[tuple[float, float]]] = defaultdict(list)
    for key, value in _rate_sum_groups(query.buckets, index).items():
        rest = key[:le_at] + key[le_at + 1 :]
        try:
            upper = float(key[le_at])
        except ValueError:
            continue
        histograms[rest].append((upper, value))
    names = by[:le_at] + by[le_at + 1 :]
    rows = []
    for key, buckets in histograms.items():
        value = bucket_quantile(query.q, buckets)
        rows.append(Row({n: v for n, v in zip(names, key, strict=True) if v != ""}, value))
    return rows


def bucket_quantile(q: float, buckets: list[tuple[float, float]]) -> float:
    """Prometheus's histogram_quantile for one histogram of (upper bound, cumulative rate)."""
    if math.isnan(q):
        return math.nan
    if q < 0:
        return -math.inf
    if q > 1:
        return math.inf
    buckets = sorted(buckets)
    if not buckets or not math.isinf(buckets[-1][0]):
        return math.nan
    # Coalesce buckets with the same upper bound.
    merged: list[list[float]] = []
    for upper, count in buckets:
        if merged and merged[-1][0] == upper:
            merged[-1][1] += count
        else:
            merged.append([upper, count])
    # Counts are cumulative; floating point noise must not make them decrease.
    peak = -math.inf
    for bucket in merged:
        if bucket[1] < peak:
            bucket[1] = peak
        peak = bucket[1]
    if len(merged) < 2:
        return math.nan
    observations = merged[-1][1]
    if observations == 0:
        return math.nan
    rank = q * observations
    b = next((i for i in range(len(merged) - 1) if merged[i][1] >= rank), len(merged) - 1)
    if b == len(merged) - 1:
        return merged[-2][0]
    if b == 0 and merged[0][0] <= 0:
        return merged[0][0]
    start, end, count = 0.0, merged[b][0], merged[b][1]
    if b > 0:
        start = merged[b - 1][0]
        count -= merged[b - 1][1]
        rank -= merged[b - 1][1]
    return start + (end - start) * (rank / count)
