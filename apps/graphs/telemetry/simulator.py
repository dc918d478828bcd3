"""Telemetry computed in-process from the simulated mesh.

``mesh.series_rates(window, end)`` gives, per exported series, the per-second
rate Prometheus's ``rate()`` would compute; ``evaluate`` then applies the same
sum/quantile the PromQL would. No Prometheus, same numbers.
"""
from __future__ import annotations

from .evaluate import evaluate, index_by_metric
from .query import Query, Row, Series


class SimulatorTelemetry:
    def __init__(self, mesh):
        self.mesh = mesh

    def instant(self, queries: dict[str, Query], *, window: int, query_time: float) -> dict[str, list[Row]]:
        index = index_by_metric(self.mesh.series_rates(window, query_time))
        return {name: evaluate(q, index) for name, q in queries.items()}

    def range(
        self, queries: dict[str, Query], *, window: int, start: float, end: float, step: int
    ) -> dict[str, list[Series]]:
        series: dict[str, dict[tuple, Series]] = {name: {} for name in queries}
        t = start
        while t <= end + 1e-9:
            index = index_by_metric(self.mesh.series_rates(window, t))
            for name, q in queries.items():
                for row in evaluate(q, index):
                    key = tuple(sorted(row.labels.items()))
                    if key not in series[name]:
                        series[name][key] = Series(row.labels, [])
                    series[name][key].points.append((t, row.value))
            t += step
        return {name: list(by_key.values()) for name, by_key in series.items()}
