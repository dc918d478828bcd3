"""The traffic graph, as a person sees it in Chromium (Cytoscape from npm)."""
import re

import pytest

from tests.support.browser import browser_page, screenshot

pytestmark = pytest.mark.browser


def _login(page, portal, username):
    page.goto(portal.url + "/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", portal.passwords[username])
    with page.expect_navigation():
        page.press("#id_password", "Enter")


def _wait_for_graph(page):
    page.wait_for_function("window.meshdeckCy && /\\d+ nodes/.test(document.getElementById('graph-status').textContent)")


def _edge_label(page, source, target):
    return page.evaluate(
        """([s, t]) => window.meshdeckCy.edges().filter(e =>
             e.source().data('label') === s && e.target().data('label') === t).map(e => e.data('label'))""",
        [source, target],
    )


def test_viewer_sees_the_bookinfo_workload_graph_with_rates_and_details(portal, chromium_path):
    with browser_page(chromium_path) as page:
        _login(page, portal, "viewer")
        page.goto(portal.url + "/clusters/demo/graph/?namespaces=bookinfo&graphType=workload")
        _wait_for_graph(page)
        labels = set(page.evaluate("window.meshdeckCy.nodes().map(n => n.data('label'))"))
        assert {"productpage-v1", "details-v1", "reviews-v2", "ratings-v1", "mongodb-v1", "unknown"} <= labels
        assert not any("grpc" in label for label in labels)
        # pinned scenario: productpage sends 10 req/s to details; reviews-v2 and -v3 each 3.33 to ratings
        assert _edge_label(page, "details", "details-v1") == ["10.00 rps"]
        assert _edge_label(page, "reviews-v2", "ratings") == ["3.33 rps"]
        # details answers 2% 503: its edge is drawn degraded (amber), like Kiali
        color = page.evaluate("""window.meshdeckCy.edges().filter(e => e.target().data('label') === 'details-v1')
                                  [0].style('line-color')""")
        assert color == "rgb(240,171,0)"
        # the URL says what is shown, so it can be shared
        assert re.search(r"namespaces=bookinfo&graphType=workload&duration=60s", page.url)
        # a click on an edge opens its details
        page.evaluate("""window.meshdeckCy.edges().filter(e => e.target().data('label') === 'details-v1')
                         [0].emit('tap')""")
        panel = page.locator("#graph-details").inner_text()
        assert "percentErr" in panel and "details-v1" in panel
        screenshot(page, "graph-workload-viewer")


def test_error_labels_and_a_hidden_namespace(portal, chromium_path):
    with browser_page(chromium_path) as page:
        _login(page, portal, "viewer")
        page.goto(portal.url + "/clusters/demo/graph/?namespaces=grpc-demo")
        _wait_for_graph(page)
        # grpc-demo is not the viewer's: it is not offered and not drawn; bookinfo is shown instead
        options = page.locator("select[name=namespaces] option").all_inner_texts()
        assert options == ["bookinfo"]
        page.select_option("select[name=edgeLabel]", "err")
        page.click("#graph-controls button[type=submit]")
        page.wait_for_function("window.meshdeckCy.edges().some(e => e.data('label') === '2.0%')")
        screenshot(page, "graph-error-labels")
