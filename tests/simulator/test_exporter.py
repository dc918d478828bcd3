"""The /metrics exporter over real HTTP on loopback, parsed as exposition text."""
import math
import re
import time
import urllib.request
from itertools import pairwise

import pytest

from apps.simulator.exporter import start_exporter
from apps.simulator.mesh import SimulatedMesh

from .helpers import FakeClock

LINE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)')


def parse(text):
    """A small exposition-format parser: {(name, frozenset(labels)): value}, plus TYPE per family."""
    types, samples = {}, {}
    for line in text.splitlines():
        if not line:
            continue
        if line.startswith("#"):
            parts = line.split()
            assert parts[1] in ("HELP", "TYPE"), line
            if parts[1] == "TYPE":
                assert parts[3] in ("counter", "histogram", "gauge"), line
                types[parts[2]] = parts[3]
            continue
        m = LINE.match(line)
        assert m, line
        name, body, value = m.group(1), m.group(3) or "", m.group(4)
        labels = {}
        pos = 0
        while pos < len(body):
            lm = LABEL.match(body, pos)
            assert lm, body[pos:]
            labels[lm.group(1)] = lm.group(2)
            pos = lm.end()
        family = re.sub(r"_(bucket|sum|count)$", "", name)
        assert name in types or family in types, f"{name} has no TYPE line"
        key = (name, frozenset(labels.items()))
        assert key not in samples, "duplicate series"
        samples[key] = float(value)
    return types, samples


def scrape(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=30) as resp:
        assert resp.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        return resp.read().decode()


def edge_total(samples, metric, **match):
    return sum(v for (n, labels), v in samples.items()
               if n == metric and all((k, val) in labels for k, val in match.items()))


EXPECTED = [  # (metric, match, per-second rate) from the pinned table
    ("istio_requests_total", dict(reporter="destination", source_workload="istio-ingressgateway"), 10.0),
    ("istio_requests_total", dict(reporter="destination", source_workload="unknown"), 0.5),
    ("istio_requests_total", dict(reporter="source", destination_workload="details-v1", response_code="503"), 0.2),
    ("istio_requests_total",
     dict(reporter="source", source_workload="productpage-v1", destination_service_name="reviews"), 10.0),
    ("istio_requests_total", dict(reporter="destination", source_workload="reviews-v3", response_code="500"),
     10 / 3 * 0.04),
    ("istio_requests_total", dict(reporter="source", destination_service="httpbin.org"), 1.0),
    ("istio_tcp_sent_bytes_total", dict(reporter="source", source_workload="ratings-v1"), 4800.0),
    ("istio_tcp_received_bytes_total", dict(reporter="destination", destination_workload="mongodb-v1"), 1200.0),
    ("istio_request_duration_milliseconds_count", dict(reporter="destination", destination_workload="details-v1"),
     10.0),
    ("istio_request_duration_milliseconds_sum", dict(reporter="destination", destination_workload="details-v1"), 40.0),
]


def check_histograms(samples):
    counts = {labels: v for (n, labels), v in samples.items() if n == "istio_request_duration_milliseconds_count"}
    infs = {labels - {("le", "+Inf")}: v for (n, labels), v in samples.items()
            if n == "istio_request_duration_milliseconds_bucket" and ("le", "+Inf") in labels}
    assert counts and infs.keys() == counts.keys()
    for labels, c in counts.items():
        assert infs[labels] == pytest.approx(c, rel=1e-12)
    by_series = {}
    for (n, labels), v in samples.items():
        if n == "istio_request_duration_milliseconds_bucket":
            le = dict(labels)["le"]
            by_series.setdefault(labels - {("le", le)}, []).append((float(le), v))
    for buckets in by_series.values():
        values = [v for _, v in sorted(buckets)]
        assert len(values) == 20 and all(a <= b + 1e-9 for a, b in pairwise(values))


def scrape_twice(mesh, wait, first: float, then: float, instant):
    """Scrape ``mesh``'s exporter after ``wait(first)`` and again after ``wait(then)``:
    [(metric types, samples, instant())] for each scrape."""
    server, port = start_exporter(mesh)
    try:
        scrapes = []
        for seconds in (first, then):
            wait(seconds)
            scrapes.append((*parse(scrape(port)), instant()))
        return scrapes
    finally:
        server.stop()


def assert_counters_advanced(s1, s2, seconds: float) -> None:
    """Every expected edge's counter rose by its rate x ``seconds``; histograms stay well formed."""
    for metric, match, rate in EXPECTED:
        inc = edge_total(s2, metric, **match) - edge_total(s1, metric, **match)
        assert inc == pytest.approx(rate * seconds, rel=0.01), (metric, match, inc, seconds)
    check_histograms(s2)


def test_two_scrapes_ten_seconds_apart_fake_clock():
    clock = FakeClock()
    mesh = SimulatedMesh("demo", clock=clock)
    (_, s1, _), (types2, s2, _) = scrape_twice(mesh, clock.advance, 5, 10, clock)
    assert types2 == {"istio_requests_total": "counter", "istio_request_duration_milliseconds": "histogram",
                      "istio_tcp_sent_bytes_total": "counter", "istio_tcp_received_bytes_total": "counter"}
    assert_counters_advanced(s1, s2, 10)
    assert all(("pod", "") not in labels and any(k == "pod" for k, _ in labels) for _, labels in s2)


class RecordingClock:
    """The real clock, remembering the last time the mesh read it (the instant a scrape was rendered)."""

    last = 0.0

    def __call__(self) -> float:
        self.last = time.time()
        return self.last


def test_two_scrapes_with_the_real_clock():
    clock = RecordingClock()
    mesh = SimulatedMesh("bookinfo", clock=clock)
    (_, s1, t1), (_, s2, t2) = scrape_twice(mesh, time.sleep, 0.5, 10, lambda: clock.last)
    # The counters must advance by rate x the time between the two renders. On a loaded
    # machine "10 s apart" can be 10.2 s of wall time (seen in CI), so the expectation uses
    # the instants the exporter actually rendered, not the nominal 10 s.
    assert_counters_advanced(s1, s2, t2 - t1)


def test_healthz_and_404():
    mesh = SimulatedMesh("grpc", clock=FakeClock())
    server, port = start_exporter(mesh)
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as resp:
            assert resp.read() == b"ok\n"
        with pytest.raises(urllib.error.HTTPError):
            urllib.request.urlopen(f"http://127.0.0.1:{port}/nope", timeout=5)
    finally:
        server.stop()
    assert server.server_address[0] == "127.0.0.1"


def test_exposition_at_start_is_valid_and_empty_of_samples():
    clock = FakeClock()
    mesh = SimulatedMesh("bookinfo", clock=clock)
    types, samples = parse(mesh.render_exposition())
    assert samples == {} and "istio_requests_total" in types
    clock.advance(1)
    _, samples = parse(mesh.render_exposition())
    assert samples and not any(math.isnan(v) for v in samples.values())
