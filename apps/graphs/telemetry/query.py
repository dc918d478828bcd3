"""Logical telemetry queries: one description, two evaluators.

A query is built once as plain data and then either rendered to PromQL
(``PrometheusTelemetry``) or evaluated in Python over the simulator's
per-series rates (``SimulatorTelemetry``). Both evaluators implement the same
semantics, which is what makes the Prometheus and simulator graphs agree.

Shapes:
- ``RateSum``:  sum by (by) (rate(sel1[d]) or rate(sel2[d]) ...)
  Selectors of one RateSum must be disjoint (they are, by construction in
  ``plan.py``), so ``or`` is a plain union.
- ``Quantile``: histogram_quantile(q, RateSum-with-"le")
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from apps.core.stored import FormatError, decode_float, encode_float

EQ, NE, RE, NRE = "=", "!=", "=~", "!~"

# The labels that place a row of edge telemetry on its two nodes (the graph builder keys edges by them).
ENDPOINT_LABELS = (
    "source_workload_namespace", "source_workload", "source_canonical_service", "source_canonical_revision",
    "destination_service_namespace", "destination_service", "destination_service_name",
    "destination_workload_namespace", "destination_workload", "destination_canonical_service",
    "destination_canonical_revision",
)


def edge_labels(labels: dict[str, str]) -> tuple[str, ...]:
    """A row's ``ENDPOINT_LABELS`` values ("" for a label it does not have): how the builder keys an edge."""
    return tuple([labels.get(k, "") for k in ENDPOINT_LABELS])


@dataclass(frozen=True)
class Matcher:
    label: str
    op: str
    value: str

    def promql(self) -> str:
        value = self.value.replace("\\", "\\\\").replace('"', '\\"')
        return f'{self.label}{self.op}"{value}"'

    def matches(self, labels: dict[str, str]) -> bool:
        actual = labels.get(self.label, "")
        if self.op == EQ:
            return actual == self.value
        if self.op == NE:
            return actual != self.value
        hit = _anchored(self.value).fullmatch(actual) is not None
        return hit if self.op == RE else not hit


@lru_cache(maxsize=512)
def _anchored(pattern: str) -> re.Pattern[str]:
    # PromQL regex matchers are fully anchored.
    return re.compile(pattern)


@dataclass(frozen=True)
class Selector:
    metric: str
    matchers: tuple[Matcher, ...]

    def promql(self, window_seconds: int) -> str:
        inner = ",".join(m.promql() for m in self.matchers)
        return f"rate({self.metric}{{{inner}}}[{window_seconds}s])"

    def matches(self, metric: str, labels: dict[str, str]) -> bool:
        return metric == self.metric and all(m.matches(labels) for m in self.matchers)


@dataclass(frozen=True)
class RateSum:
    selectors: tuple[Selector, ...]
    by: tuple[str, ...]

    def promql(self, window_seconds: int) -> str:
        rates = " or ".join(s.promql(window_seconds) for s in self.selectors)
        return f"sum by ({','.join(self.by)}) ({rates})"


@dataclass(frozen=True)
class Quantile:
    q: float
    buckets: RateSum  # must group by "le"

    def promql(self, window_seconds: int) -> str:
        return f"histogram_quantile({self.q}, {self.buckets.promql(window_seconds)})"


Query = RateSum | Quantile


def sel(metric: str, *matchers: tuple[str, str, str]) -> Selector:
    return Selector(metric, tuple(Matcher(*m) for m in matchers))


def regex_any(values: list[str] | tuple[str, ...]) -> str:
    """An anchored alternation of literal values (Prometheus turns it into a set match)."""
    return "|".join(re.escape(v) for v in sorted(values))


@dataclass(slots=True)
class Row:
    """One element of an instant vector: the group-by labels and the value. Read-only by convention:
    nothing assigns to a row (not ``frozen``: a frozen dataclass's ``__init__`` costs four times as
    much, and a stored window's graph queries make some 30,000 rows).

    ``edge``: the row's ``ENDPOINT_LABELS`` values, when its source worked them out once for every
    window (stored traffic does, per query plan); the graph builder computes them otherwise."""

    labels: dict[str, str]
    value: float
    edge: tuple[str, ...] | None = field(default=None, compare=False, repr=False)


def _row_order(row: Row) -> tuple:
    nan = math.isnan(row.value)
    return (sorted(row.labels.items()), nan, 0.0 if nan else row.value)


def rows_to_json(rows: list[Row]) -> list[list[Any]]:
    """Rows as ``[[{label: value}, number], ...]`` in a canonical order (by labels, then value);
    NaN and infinities as Prometheus spells them."""
    return [[dict(r.labels), encode_float(r.value)] for r in sorted(rows, key=_row_order)]


def rows_from_json(data: Any, where: str) -> list[Row]:
    if not isinstance(data, list):
        raise FormatError(f"{where}: expected a list of rows, got {type(data).__name__}")
    rows = []
    for i, item in enumerate(data):
        if not (isinstance(item, list) and len(item) == 2 and isinstance(item[0], dict)):
            raise FormatError(f"{where}[{i}]: expected [labels, value]")
        labels = item[0]
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in labels.items()):
            raise FormatError(f"{where}[{i}]: label values must be strings")
        rows.append(Row(dict(labels), decode_float(item[1], f"{where}[{i}]")))
    return rows


@dataclass(frozen=True)
class Series:
    """One element of a range vector: labels, timestamps (unix s) and values."""

    labels: dict[str, str]
    points: list[tuple[float, float]]
