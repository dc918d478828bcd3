"""History on the graph, in Chromium: the time slider shows an earlier snapshot, replay walks the
snapshots to live, a config change has its marker, the diff overlay colours what changed, and all of
it is in the URL. Runs when the portal keeps history (apps.history installed); the portal takes a
snapshot every 3 s of 10 s of traffic."""
from __future__ import annotations

import json
import time

import pytest
from django.conf import settings

from tests.support.browser import browser_page, screenshot

from .pages import ConsoleWatch, axe_violations, login, unreachable
from .test_browser_graph import wait_for_graph

pytestmark = [pytest.mark.browser, pytest.mark.skipif("apps.history" not in settings.INSTALLED_APPS,
                                                      reason="this portal keeps no history (apps.history)")]

GRAPH = "/clusters/demo/graph/?namespaces=bookinfo&graphType=workload"
FAULT = {
    "apiVersion": "networking.istio.io/v1", "kind": "VirtualService",
    "metadata": {"name": "ratings-fault", "namespace": "bookinfo"},
    "spec": {"hosts": ["ratings"], "http": [{"fault": {"abort": {"percentage": {"value": 100}, "httpStatus": 503}},
                                              "route": [{"destination": {"host": "ratings"}}]}]},
}


def snapshots(session, portal) -> list[dict]:
    body = session.get(portal.url + "/api/clusters/demo/snapshots/?limit=500", timeout=30).json()
    rows = body["results"] if isinstance(body, dict) else body
    return sorted((s for s in rows if s["status"] == "ok"), key=lambda s: s["taken_at"])


def wait_for_snapshot_after(session, portal, at: float, timeout: float = 90) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        later = [s for s in snapshots(session, portal) if s["taken_at"] > at]
        if later:
            return later[-1]
        time.sleep(1)
    raise AssertionError(f"no snapshot after {at}")


RATINGS = "n.data('nodeType') === 'service' && n.data('service') === 'ratings' && !n.data('diffGhost')"


def ratings_health(page) -> str:
    """The ratings service's health: its callers' requests are aborted there (source-reported)."""
    return page.evaluate(f"window.cy.nodes().filter(n => {RATINGS}).map(n => n.data('healthStatus'))[0] || ''")


def test_the_slider_shows_an_earlier_snapshot_replays_and_overlays_the_diff(snapshot_portal, chromium_path):
    portal = snapshot_portal
    session = portal.login("admin")
    before = wait_for_snapshot_after(session, portal, 0)
    # ratings starts failing every request: snapshots from now on show it
    applied_at = time.time()
    portal._manage("shell", "-c", "from apps.clusters.models import Cluster; "
                   "from apps.clusters.gateways import gateway_for; "
                   f"gateway_for(Cluster.objects.get(name='demo')).apply_istio_object({json.dumps(FAULT)})")
    wait_for_snapshot_after(session, portal, applied_at + 12)  # a window wholly after the fault
    with browser_page(chromium_path, 1280, 900) as page:
        watch = ConsoleWatch(page)
        login(page, portal, "admin")
        page.goto(portal.url + GRAPH)
        wait_for_graph(page)
        bar = page.locator("#graph-history")
        bar.wait_for()
        page.wait_for_function("() => Number(document.getElementById('graph-time').max) >= 2")
        page.wait_for_function(f"() => window.cy.nodes().some(n => {RATINGS} && n.data('healthStatus') === 'Failure')")
        assert page.locator("#graph-time-label").inner_text() == "Live"
        # a marker for the VirtualService that appeared between two snapshots
        marker = page.locator(".history-marker.marker-config").first
        assert "VirtualService bookinfo/ratings-fault added" in marker.get_attribute("aria-label")

        # the oldest snapshot, by keyboard: the graph of that moment, fetched with at=
        updates = page.evaluate("window.meshdeckGraph.updates()")
        page.focus("#graph-time")
        page.keyboard.press("Home")
        wait_for_graph(page, updates + 1)
        first = page.evaluate("window.meshdeckGraph.state().at")
        assert first is not None and abs(first - before["taken_at"]) < 3 * 60
        page.wait_for_function("() => document.getElementById('graph-live').textContent.startsWith('History:')")
        assert "Snapshot of" in page.locator("#graph-time-label").inner_text()
        assert ratings_health(page) != "Failure"  # before the fault
        assert f"at={first}" in page.url
        api = page.evaluate("""async (at) => (await (await fetch('/api/clusters/demo/graph?namespaces=bookinfo'
            + '&graphType=workload&duration=60s&injectServiceNodes=true&at=' + at)).json())""", first)
        drawn = page.evaluate("window.cy.nodes().filter(n => !n.data('diffGhost')).map(n => n.id()).sort()")
        assert drawn == sorted(n["data"]["id"] for n in api["elements"]["nodes"])
        assert api["source"]["kind"] != "live"
        screenshot(page, "page-graph-history-earlier")

        # the view state keeps the moment: a reload shows the same snapshot
        page.reload()
        wait_for_graph(page)
        page.wait_for_function("() => !document.getElementById('graph-history').hidden")
        page.wait_for_function("() => document.getElementById('graph-time').value === '0'")
        assert ratings_health(page) != "Failure"
        # every history control is reachable by keyboard (checked on a moment of history: nothing
        # re-renders during the walk, as pushes every 3 s would)
        assert unreachable(page) == []

        # the diff overlay from the oldest snapshot to live: ratings' health changed
        page.locator("#graph-back-live").click()
        page.wait_for_function("() => window.meshdeckGraph.state().at === null")
        page.select_option("#graph-diff-from", str(first))
        page.wait_for_function("() => window.cy.$('.diff-changed, .diff-added, .diff-removed').length > 0")
        changed = page.evaluate("window.cy.$('.diff-changed').map(e => e.isNode() ? e.data('label') : "
                                "e.source().data('label') + ' -> ' + e.target().data('label'))")
        # the callers of ratings turned unhealthy (the diff API compares workload graphs without
        # service nodes, so the edges through the ratings service node are not matched)
        assert {"reviews-v2", "reviews-v3"} <= set(changed), changed
        assert page.locator("#graph-diff-summary").inner_text().startswith("Since ")
        assert f"diffFrom={first}" in page.url
        screenshot(page, "page-graph-history-diff")
        assert axe_violations(page) == []

        # replay at 8x from the oldest snapshot walks the stops up to live, then stops
        page.select_option("#graph-diff-from", "")
        page.select_option("#graph-speed", "8")
        seen = page.evaluate("window.meshdeckGraph.updates()")
        page.locator("#graph-play").click()
        assert page.locator("#graph-play").get_attribute("aria-pressed") == "true"
        page.wait_for_function("() => document.getElementById('graph-play').getAttribute('aria-pressed') === 'false'",
                               timeout=120_000)
        assert page.locator("#graph-time-label").inner_text() == "Live"
        stops = int(page.locator("#graph-time").get_attribute("max"))
        assert page.evaluate("window.meshdeckGraph.updates()") - seen >= min(stops, 3)
        assert "speed=8" in page.url
        assert watch.problems() == []
