"""A window captured in columns (grouping labels folded into one label by Prometheus) is the window the
plain queries give, row for row and bit for bit, against a real Prometheus; a label value holding the
separator is asked again the plain way."""
from __future__ import annotations

import time

import pytest

from apps.core.stored import canonical_json
from apps.graphs.telemetry.mesh_traffic import (
    STORED_METRICS,
    CapturedTraffic,
    MeshTraffic,
    capture_queries,
    capture_traffic,
)
from apps.graphs.telemetry.prometheus import KEY_SEP, PrometheusTelemetry
from apps.graphs.telemetry.query import RateSum, sel
from apps.history import codec

from .counter_exporter import start_counter_exporter
from .fakes import Sample, bookinfo_samples

WINDOW = 60
ODD = f"odd{KEY_SEP}flags"  # a label value with the separator in it


@pytest.fixture(scope="module")
def prom(prometheus_factory):
    samples = bookinfo_samples()
    odd = Sample("istio_tcp_received_bytes_total",
                 {"reporter": "source", "source_workload_namespace": "bookinfo", "source_workload": "odd-v1",
                  "destination_service_namespace": "bookinfo", "destination_service": "odd.bookinfo.svc",
                  "response_flags": ODD}, 3.0)
    server, port, t0 = start_counter_exporter([*samples, odd])
    prometheus = prometheus_factory([f"127.0.0.1:{port}"], scrape_interval="1s")
    prometheus.wait_for_targets_up()
    prometheus.wait_for_series('istio_requests_total{reporter="source"}')
    time.sleep(max(0.0, t0 + 10 - time.time()))
    yield prometheus
    server.stop()


def plain_capture(live: PrometheusTelemetry, query_time: float) -> MeshTraffic:
    answers = live.instant(capture_queries(), window=WINDOW, query_time=query_time)
    return MeshTraffic(window=WINDOW, query_time=query_time,
                       series={metric: answers.get(metric, []) for metric in STORED_METRICS})


def test_a_window_in_columns_is_the_plain_window_row_for_row(prom):
    live = PrometheusTelemetry(prom.url)
    now = float(int(time.time()))
    columns = capture_traffic(live, window=WINDOW, query_time=now)
    plain = plain_capture(live, now)
    assert isinstance(columns, CapturedTraffic)
    rows_in_columns = sum(len(keys) for keys, _ in columns.columns.values())
    assert rows_in_columns == sum(len(rows) for rows in plain.series.values()) > 20
    assert canonical_json(columns.to_dict()) == canonical_json(plain.to_dict())
    for metric, rows in plain.series.items():
        by_labels = {tuple(sorted(r.labels.items())): r.value for r in rows}
        assert {tuple(sorted(r.labels.items())): r.value for r in columns.rows_of(metric)} == by_labels
    shape, values = codec.split_traffic(columns)
    plain_shape, plain_values = codec.split_traffic(plain)
    assert codec.canonical(shape) == codec.canonical(plain_shape)
    assert codec.pack_floats(values).sha256 == codec.pack_floats(plain_values).sha256  # the same bits


def test_a_label_value_with_the_separator_is_asked_the_plain_way(prom):
    live = PrometheusTelemetry(prom.url)
    now = float(int(time.time()))
    query = RateSum((sel("istio_tcp_received_bytes_total", ("reporter", "=", "source")),),
                    ("source_workload", "response_flags", "destination_service"))
    keys, values = live.instant_columns({"q": query}, window=WINDOW, query_time=now)["q"]
    assert ("odd-v1", ODD, "odd.bookinfo.svc") in keys
    assert all(len(key) == 3 for key in keys)
    rows = live.instant({"q": query}, window=WINDOW, query_time=now)["q"]
    assert sorted(zip(keys, values, strict=True)) == sorted(
        (tuple(r.labels.get(b, "") for b in query.by), r.value) for r in rows)
    # and a whole capture with it still reads the same as the plain one
    columns = capture_traffic(live, window=WINDOW, query_time=now)
    assert canonical_json(columns.to_dict()) == canonical_json(plain_capture(live, now).to_dict())
