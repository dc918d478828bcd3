"""The real Prometheus test server works (tests/support/prometheus.py)."""

from __future__ import annotations

import pytest

from tests.support.localservers import LocalHTTPServer
from tests.support.prometheus import ScrapeTarget

pytestmark = pytest.mark.prometheus


class _Exporter:
    """A tiny loopback exporter serving a counter in text exposition format."""

    def __init__(self, path: str = "/metrics"):
        self.value = 0.0
        self.scrapes = 0

        def respond(method, requested):
            if requested != path:
                return 404, "text/plain", b"not found"
            self.scrapes += 1
            return 200, "text/plain; version=0.0.4", (
                "# HELP meshdeck_test_requests_total Requests seen by the test exporter.\n"
                "# TYPE meshdeck_test_requests_total counter\n"
                f'meshdeck_test_requests_total{{destination_service="reviews"}} {self.value}\n'
            ).encode()

        self.server = LocalHTTPServer(respond)
        self.address = self.server.address

    def close(self):
        self.server.stop()


@pytest.fixture
def exporter():
    exp = _Exporter()
    yield exp
    exp.close()


def test_scrapes_local_exporter_and_query_returns_value(prometheus_factory, exporter):
    exporter.value = 42
    prom = prometheus_factory([exporter.address], scrape_interval="1s")
    assert prom.url.startswith("http://127.0.0.1:")

    targets = prom.wait_for_targets_up(timeout=30)
    assert targets[0]["scrapeUrl"] == f"http://{exporter.address}/metrics"

    result = prom.wait_for_series("meshdeck_test_requests_total", timeout=30)
    assert result[0]["metric"]["destination_service"] == "reviews"
    assert float(result[0]["value"][1]) == 42

    # it keeps scraping at the configured interval
    exporter.value = 50
    import time

    deadline = time.monotonic() + 15
    while prom.query_value("meshdeck_test_requests_total") != 50:
        assert time.monotonic() < deadline, "new counter value never scraped"
        time.sleep(0.2)
    assert exporter.scrapes >= 2
    assert prom.query("sum(meshdeck_test_requests_total)")[0]["value"][1] == "50"


def test_custom_metrics_path_and_down_target(prometheus_factory):
    exp = _Exporter(path="/stats/prometheus")
    try:
        exp.value = 7
        prom = prometheus_factory(
            [ScrapeTarget(exp.address, metrics_path="/stats/prometheus", labels={"pod": "p1"})],
            scrape_interval="500ms",
        )
        prom.wait_for_targets_up(timeout=30)
        result = prom.wait_for_series('meshdeck_test_requests_total{pod="p1"}', timeout=30)
        assert float(result[0]["value"][1]) == 7
    finally:
        exp.close()

    # the exporter is gone: Prometheus marks the target down
    import time

    deadline = time.monotonic() + 20
    while prom.query_value('up{pod="p1"}') != 0:
        assert time.monotonic() < deadline, "target never reported down"
        time.sleep(0.2)
    prom.stop()
