"""The graph page on the WebSocket push (docs/live.md, "Graph push"), in Chromium: an update pushed
by a new snapshot appears without a reload and without a poll, keeping layout, zoom and selection;
the indicator shows a dropped socket and the catch-up after reconnecting; an ended session says to
log in again. The portal takes a snapshot every 3 s of 10 s of traffic."""
from __future__ import annotations

import json
import re

import pytest
from django.conf import settings

from tests.support.browser import browser_page, screenshot

from .pages import ConsoleWatch, login
from .test_browser_graph import wait_for_graph
from .test_browser_history import FAULT, RATINGS
from .test_browser_live import MARK, SNAPSHOT, mark_select_and_zoom

pytestmark = [pytest.mark.browser, pytest.mark.skipif("apps.history" not in settings.INSTALLED_APPS,
                                                      reason="no snapshots, so nothing is pushed")]

GRAPH = "/clusters/demo/graph/?namespaces=bookinfo&graphType=workload"
SOCKET = re.compile(r".*/ws/clusters/demo/graph/.*")


def apply_fault(portal):
    portal._manage("shell", "-c", "from apps.clusters.models import Cluster; "
                   "from apps.clusters.gateways import gateway_for; "
                   f"gateway_for(Cluster.objects.get(name='demo')).apply_istio_object({json.dumps(FAULT)})")


def remove_fault(portal):
    portal._manage("shell", "-c", "from apps.clusters.models import Cluster; "
                   "from apps.clusters.gateways import gateway_for; "
                   "gateway_for(Cluster.objects.get(name='demo')).delete_istio_object("
                   "'VirtualService', 'bookinfo', 'ratings-fault')")


def test_a_new_snapshots_update_is_pushed_into_the_open_graph(snapshot_portal, chromium_path):
    portal = snapshot_portal
    with browser_page(chromium_path, 1280, 800) as page:
        watch = ConsoleWatch(page)
        login(page, portal, "viewer")
        polls = []
        page.on("request", lambda r: polls.append(r.url) if "/api/clusters/demo/graph?" in r.url else None)
        page.goto(portal.url + GRAPH)
        wait_for_graph(page)
        page.locator("#graph-live[data-state=live]").wait_for()
        assert "pushed after each snapshot" in page.locator("#graph-live").inner_text()
        before = mark_select_and_zoom(page)
        health = page.evaluate(f"window.cy.nodes().filter(n => {RATINGS}).map(n => n.data('healthStatus'))[0]")
        assert health != "Failure"

        apply_fault(portal)  # the next snapshots see ratings' callers fail
        page.wait_for_function(f"() => window.cy.nodes().some(n => {RATINGS} && n.data('healthStatus') === 'Failure')",
                               timeout=60_000)
        assert page.evaluate("window.meshdeckGraph.timings.at(-1).reason") == "push"
        assert polls == [], "the page polled the graph API instead of listening to the push"
        after = page.evaluate(SNAPSHOT)
        assert after["sameCy"] and after["sameDocument"], "the graph was re-created or the page reloaded"
        kept = {k: v for k, v in before["positions"].items() if k in after["positions"]}
        assert kept and {k: after["positions"][k] for k in kept} == kept, "nodes moved"
        assert after["zoom"] == before["zoom"] and after["pan"] == before["pan"]
        assert after["selected"] == ["reviews-v2"]
        screenshot(page, "graph-push-update")
        assert watch.problems() == []
    remove_fault(portal)


def test_the_indicator_shows_a_dropped_socket_and_the_catch_up(snapshot_portal, chromium_path):
    portal = snapshot_portal
    with browser_page(chromium_path, 1280, 800) as page:
        watch = ConsoleWatch(page)
        sockets = []

        def proxy(ws):  # the real socket, through a route the test can cut
            ws.connect_to_server()
            sockets.append(ws)

        page.route_web_socket(SOCKET, proxy)
        login(page, portal, "viewer")
        page.goto(portal.url + GRAPH)
        wait_for_graph(page)
        page.locator("#graph-live[data-state=live]").wait_for()
        page.evaluate(MARK)
        drawn = page.evaluate("window.cy.nodes().map(n => n.id()).sort()")
        sockets[-1].close(code=1011, reason="server going away")  # the connection drops
        indicator = page.locator("#graph-live")
        page.locator("#graph-live[data-state=lost]").wait_for()
        assert indicator.inner_text().startswith("Connection lost at ")
        assert "The live connection dropped. Retrying in 5 s." in indicator.inner_text()
        assert page.evaluate("window.cy.nodes().map(n => n.id()).sort()") == drawn  # the graph stays
        screenshot(page, "graph-push-lost")
        # reconnects by itself: a 5 s retry, the graph API asked, the socket opened and a graph built
        # (a CI run on a loaded machine took longer than 30 s once)
        page.locator("#graph-live[data-state=caught-up]").wait_for(timeout=60_000)
        assert indicator.inner_text().endswith("caught up")
        assert len(sockets) == 2
        assert "since=" in sockets[-1].url  # it asked for what it missed since its last snapshot
        assert page.evaluate("window.meshdeckGraph.timings.at(-1).reason") == "catch-up"
        snap = page.evaluate(SNAPSHOT)
        assert snap["sameCy"] and snap["sameDocument"]
        page.locator("#graph-live[data-state=live]").wait_for(timeout=30_000)  # the next push is live again
        assert watch.problems() == []


def test_an_ended_session_closes_the_push_and_says_to_log_in(snapshot_portal, chromium_path):
    portal = snapshot_portal
    with browser_page(chromium_path, 1280, 800) as page:
        watch = ConsoleWatch(page)
        login(page, portal, "viewer")
        page.goto(portal.url + GRAPH)
        wait_for_graph(page)
        page.locator("#graph-live[data-state=live]").wait_for()
        other = page.context.new_page()
        other.goto(portal.url + "/accounts/profile/")
        with other.expect_navigation():
            other.get_by_role("button", name="Log out").click()
        other.close()
        page.locator("#graph-live[data-state=lost]").wait_for(timeout=30_000)  # no click: the server closes it
        assert "Your session has ended: log in again." in page.locator("#graph-live").inner_text()
        assert "Retrying" not in page.locator("#graph-live").inner_text()
        assert page.locator("#graph-live a", has_text="Log in").get_attribute("href").startswith("/accounts/login/")
        assert [m for m in watch.problems() if "/api/clusters/demo/graph" not in m] == []
