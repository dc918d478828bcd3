"""Telemetry from a real Prometheus over its HTTP API.

One ``PrometheusTelemetry`` per cluster lives as long as the process
(``factory.telemetry_for``) and is shared by every request and by the threads
that run a graph's queries at once. It holds ONE ``requests.Session`` whose
adapter pools up to ``PROMETHEUS_POOL_SIZE`` connections, rather than a session
per thread: the query threads are a fresh executor's for each graph, so a pool
per thread would never be reused, and would only multiply the connections
by the threads. Sharing one session across threads is safe here because
nothing mutates it after construction (headers, adapters and auth are fixed),
its urllib3 pool is thread-safe, and its cookie jar (unused by Prometheus)
takes its own lock.
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor

import orjson
import requests
from requests.adapters import HTTPAdapter

from apps.clusters.prometheus_probe import describe_requests_error

from ..builder.gcpause import gc_paused
from .base import TelemetryBadResponse, TelemetryTimeout, TelemetryUnavailable
from .query import Query, RateSum, Row, Series, edge_labels

# Prometheus evaluates one query on one core; a few queries in flight at once
# use the other cores. More than this only queues inside Prometheus.
MAX_PARALLEL_QUERIES = 4
# Connections kept open to one Prometheus: two graphs' queries at once. Beyond
# that a query opens a connection of its own and closes it after (no waiting).
PROMETHEUS_POOL_SIZE = 2 * MAX_PARALLEL_QUERIES
# ``instant_columns``: the label a query's grouping labels are folded into, and what separates them
# (a control character: not in Kubernetes names, Istio's label values or HTTP codes; an answer where
# it is in a value anyway is asked again the plain way)
KEY_LABEL = "meshdeck_key"
KEY_SEP = "\x1f"

Columns = tuple[list[tuple[str, ...]], list[float]]


def folded_promql(q: RateSum, window: int) -> str:
    """``q`` with each answer series' grouping labels joined into one label (``instant_columns``)."""
    labels = ", ".join(f'"{b}"' for b in q.by)
    return f'sum by ({KEY_LABEL}) (label_join({q.promql(window)}, "{KEY_LABEL}", "\\x1f", {labels}))'


class PrometheusTelemetry:
    def __init__(self, url: str, timeout: float = 10.0):
        self.url = url.rstrip("/")
        self.timeout = timeout
        self._session = requests.Session()
        adapter = HTTPAdapter(pool_connections=1, pool_maxsize=PROMETHEUS_POOL_SIZE)
        self._session.mount("http://", adapter)
        self._session.mount("https://", adapter)

    def close(self) -> None:
        """Close the pooled connections (a query in flight closes its own when it ends)."""
        self._session.close()

    def __repr__(self) -> str:
        return f"<PrometheusTelemetry {self.url}>"

    # -- public ------------------------------------------------------------
    def instant(self, queries: dict[str, Query], *, window: int, query_time: float) -> dict[str, list[Row]]:
        promql = {name: q.promql(window) for name, q in queries.items()}
        return self.instant_promql(promql, query_time=query_time)

    def instant_promql(self, promql: dict[str, str], *, query_time: float) -> dict[str, list[Row]]:
        def run(item):
            name, text = item
            data = self._call("/api/v1/query", {"query": text, "time": f"{query_time:.3f}"})
            return name, [_row(r) for r in data.get("result", [])]

        return dict(self._map(run, promql.items()))

    def instant_later(self, queries: dict[str, Query], *, window: int, query_time: float
                      ) -> dict[str, Future[list[Row]]]:
        """``instant``, answered as each query's answer arrives: the queries are sent in order,
        MAX_PARALLEL_QUERIES at a time, and a graph can be built from the first answers while
        Prometheus still works on the last ones. Rows come with their edge labels (``Row.edge``),
        worked out here, in the threads that wait for Prometheus anyway."""
        def run(text: str) -> list[Row]:
            data = self._call("/api/v1/query", {"query": text, "time": f"{query_time:.3f}"})
            return [_row(r, with_edge=True) for r in data.get("result", [])]

        pool = ThreadPoolExecutor(max_workers=max(1, min(MAX_PARALLEL_QUERIES, len(queries))))
        try:
            return {name: pool.submit(run, q.promql(window)) for name, q in queries.items()}
        finally:
            pool.shutdown(wait=False)  # its threads end when the last query is answered

    def instant_columns(self, queries: Mapping[str, Query], *, window: int, query_time: float
                        ) -> dict[str, Columns]:
        """Each ``RateSum``'s answer in columns: for every row the values of its ``by`` labels, in that
        order ("" for a label the row does not have, as Prometheus leaves empty labels out), and the
        rates. The same rows as ``instant``, but each series comes over the wire with one label, its
        grouping labels joined (``label_join`` into KEY_LABEL, then ``sum by`` that label alone: the
        groups are the same, each the sum of one series): a large mesh's window is ~100k series of
        ~14 labels each, and decoding that JSON was most of a snapshot's own time."""
        def run(item):
            name, q = item
            if not isinstance(q, RateSum) or not q.by:
                raise TypeError(f"instant_columns: {name} is not a sum by labels")
            data = self._call("/api/v1/query", {"query": folded_promql(q, window), "time": f"{query_time:.3f}"})
            result = data.get("result", [])
            width = len(q.by)
            with gc_paused():
                keys = _folded_keys(result, width)
            if any(len(key) != width for key in keys):  # the separator in a label value: ask plainly
                data = self._call("/api/v1/query", {"query": q.promql(window), "time": f"{query_time:.3f}"})
                result = data.get("result", [])
                with gc_paused():
                    keys = [tuple(r.get("metric", {}).get(b, "") for b in q.by) for r in result]
            return name, (keys, _values(result))

        return dict(self._map(run, queries.items()))

    def range(
        self, queries: dict[str, Query], *, window: int, start: float, end: float, step: int
    ) -> dict[str, list[Series]]:
        def run(item):
            name, q = item
            data = self._call(
                "/api/v1/query_range",
                {"query": q.promql(window), "start": f"{start:.3f}", "end": f"{end:.3f}", "step": str(step)},
            )
            return name, [
                Series(r.get("metric", {}), [(float(t), _float(v)) for t, v in r.get("values", [])])
                for r in data.get("result", [])
            ]

        return dict(self._map(run, queries.items()))

    # -- plumbing ----------------------------------------------------------
    def _map(self, fn, items):
        items = list(items)
        if len(items) <= 1:
            return [fn(i) for i in items]
        with ThreadPoolExecutor(max_workers=min(MAX_PARALLEL_QUERIES, len(items))) as pool:
            return list(pool.map(fn, items))

    def _call(self, path: str, form: dict[str, str]) -> dict:
        # Prometheus gets the same deadline as we do, so a slow query is
        # cancelled there instead of running on after we gave up.
        form = {**form, "timeout": f"{self.timeout:g}s"}
        try:
            resp = self._session.post(self.url + path, data=form, timeout=self.timeout)
        except requests.Timeout:
            raise TelemetryTimeout(
                f"Prometheus at {self.url} did not answer within {self.timeout:g}s; "
                "try a shorter duration or fewer namespaces"
            ) from None
        except requests.RequestException as exc:
            raise TelemetryUnavailable(describe_requests_error(exc, self.url, self.timeout).message) from None
        try:
            # A large mesh's answers are megabytes of JSON: orjson decodes them several
            # times faster than the standard library, and decoding is most of our own time.
            with gc_paused():  # (~100k containers, no cycles: the collector would traverse them for nothing)
                body = orjson.loads(resp.content)
        except ValueError:
            raise TelemetryBadResponse(
                f"Prometheus at {self.url} answered HTTP {resp.status_code} without a JSON body"
            ) from None
        if body.get("status") != "success":
            error_type = body.get("errorType", "")
            message = f"Prometheus query failed ({error_type or resp.status_code}): {body.get('error', 'no detail')}"
            if error_type == "timeout" or resp.status_code == 503 and "timeout" in str(body.get("error", "")):
                raise TelemetryTimeout(message)
            raise TelemetryBadResponse(message)
        return body.get("data") or {}


def _float(raw: str) -> float:
    try:
        return float(raw)
    except (TypeError, ValueError):
        return math.nan


def _folded_keys(result: list[dict], width: int) -> list[tuple[str, ...]]:
    """The label values of each row of a folded answer (``instant_columns``). All but the last value
    repeat across rows (a histogram's edge, for each of its ~20 buckets): they are split once and their
    strings shared. A key of another width than ``width`` means the separator was in a value."""
    heads: dict[str, tuple[str, ...]] = {}
    keys = []
    for r in result:
        head, _, last = r["metric"].get(KEY_LABEL, "").rpartition(KEY_SEP)
        fields = heads.get(head)
        if fields is None:
            fields = heads[head] = tuple(head.split(KEY_SEP)) if width > 1 else ()
        keys.append((*fields, last))
    return keys


def _values(result: list[dict]) -> list[float]:
    """The value of every row (Prometheus writes them as strings: "0.5", "NaN", "+Inf")."""
    try:
        return [float(r["value"][1]) for r in result]
    except (KeyError, IndexError, TypeError, ValueError):  # a row without a number: NaN for that one
        return [_value(r) for r in result]


def _value(result: dict) -> float:
    value = result.get("value")
    return _float(value[1] if value else "NaN")


def _row(result: dict, *, with_edge: bool = False) -> Row:
    metric = result.get("metric", {})
    metric.pop("__name__", None)
    value = result.get("value")
    return Row(metric, _float(value[1] if value else "NaN"), edge_labels(metric) if with_edge else None)
