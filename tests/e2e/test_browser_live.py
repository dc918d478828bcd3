"""The open graph follows the mesh without a reload, keeps layout, zoom and selection, and says
when its connection drops and when it has caught up: the polling source (``live=poll``; the
WebSocket push has its own tests in test_browser_push.py)."""
from __future__ import annotations

import json
import threading

import pytest

from tests.support.browser import browser_page, screenshot

from .pages import ConsoleWatch, login
from .test_browser_graph import BOOKINFO_WORKLOADS, labels_of, rendered_point, wait_for_graph

pytestmark = pytest.mark.browser

GRAPH_API = "**/api/clusters/demo/graph?*"

SNAPSHOT = """() => ({
    positions: Object.fromEntries(window.cy.nodes().filter(n => !n.isParent())
        .map(n => [n.data('label'), n.position()])),
    zoom: window.cy.zoom(), pan: window.cy.pan(),
    selected: window.cy.elements(':selected').map(e => e.data('label')),
    sameCy: window.cy.__mark === 'first', sameDocument: window.__notReloaded === true,
})"""


MARK = "() => { window.cy.__mark = 'first'; window.__notReloaded = true; }"


def mark_select_and_zoom(page, node: str = "reviews-v2") -> dict:
    """Mark the drawn graph and the document (a redraw or a reload loses the marks), select ``node``,
    zoom in: the view state an update must keep. Returns it (``SNAPSHOT``)."""
    page.evaluate(MARK)
    point = rendered_point(page, node)
    page.mouse.click(point["x"], point["y"])
    page.locator("#graph-details h2", has_text=node).wait_for()
    page.evaluate("() => window.cy.zoom({level: window.cy.zoom() * 1.2, renderedPosition: {x: 200, y: 200}})")
    return page.evaluate(SNAPSHOT)


def changed_answer(body: dict) -> dict:
    """The real answer, as if the mesh had moved on: details busier, mongodb gone, a new reviews-v4."""
    nodes = body["elements"]["nodes"]
    edges = body["elements"]["edges"]
    by_label = {n["data"].get("workload") or n["data"].get("service") or n["data"]["id"]: n["data"] for n in nodes}
    gone = {by_label["mongodb-v1"]["id"]}
    body["elements"]["nodes"] = [n for n in nodes if n["data"]["id"] not in gone]
    body["elements"]["edges"] = [e for e in edges if e["data"]["target"] not in gone]
    details = next(e["data"] for e in edges if e["data"]["target"] == by_label["details-v1"]["id"])
    details["rates"]["http"] = 20.0
    reviews_service = next(n["data"] for n in nodes
                           if n["data"]["nodeType"] == "service" and n["data"].get("service") == "reviews")
    body["elements"]["nodes"].append({"data": {
        "id": "new-reviews-v4", "nodeType": "workload", "cluster": "Kubernetes", "namespace": "bookinfo",
        "workload": "reviews-v4", "app": "reviews", "version": "v4", "healthStatus": "Healthy"}})
    body["elements"]["edges"].append({"data": {
        "id": "new-edge", "source": reviews_service["id"], "target": "new-reviews-v4", "protocol": "http",
        "rates": {"http": 2.5}, "percentErr": 0.0, "percentReq": 25.0, "isMTLS": 100.0, "healthStatus": "Healthy"}})
    return body


def test_a_poll_updates_the_open_graph_in_place(portal, chromium_path):
    with browser_page(chromium_path, 1280, 800) as page:
        watch = ConsoleWatch(page)
        login(page, portal, "viewer")
        changed = threading.Event()
        served = []

        def answer(route):  # the real answer, changed once the test says so
            response = route.fetch()
            body = response.json()
            if changed.is_set():
                body = changed_answer(body)
            served.append("changed" if changed.is_set() else "real")
            route.fulfill(response=response, body=json.dumps(body),
                          headers={**response.headers, "content-type": "application/json"})

        page.route(GRAPH_API, answer)
        page.goto(portal.url + BOOKINFO_WORKLOADS + "&refresh=10&live=poll")
        wait_for_graph(page)
        before = mark_select_and_zoom(page)

        # from now on the answers come from the server with the mesh changed
        changed.set()
        page.wait_for_function("() => window.cy.nodes().some(n => n.data('label') === 'reviews-v4')",
                               timeout=30000)  # the 10 s poll brings it, no click
        assert served and served[-1] == "changed"
        assert page.evaluate("window.meshdeckGraph.timings.at(-1).reason") == "poll"
        page.locator("#graph-live[data-state=live]").wait_for()
        after = page.evaluate(SNAPSHOT)
        assert after["sameCy"] and after["sameDocument"], "the graph was re-created or the page reloaded"
        assert page.evaluate("""window.cy.edges().filter(e => e.target().data('label') === 'details-v1')
                                .map(e => e.data('label'))""") == ["20.00 rps"]
        assert "mongodb-v1" not in after["positions"] and "reviews-v4" in after["positions"]
        kept = {k: v for k, v in before["positions"].items() if k != "mongodb-v1"}
        assert {k: after["positions"][k] for k in kept} == kept, "nodes moved"
        assert after["zoom"] == before["zoom"] and after["pan"] == before["pan"]
        assert after["selected"] == ["reviews-v2"]
        assert page.locator("#graph-details h2").first.inner_text().startswith("reviews-v2")
        # the new node sits near the service that calls it, inside the drawn area
        new, reviews = after["positions"]["reviews-v4"], after["positions"]["reviews"]
        assert abs(new["x"] - reviews["x"]) < 250 and abs(new["y"] - reviews["y"]) < 250
        screenshot(page, "graph-live-update")

        # the mesh back as it was: mongodb returns, reviews-v4 goes, still the same graph
        page.unroute(GRAPH_API)
        page.click("#graph-refresh")
        page.wait_for_function("() => window.cy.nodes().some(n => n.data('label') === 'mongodb-v1')")
        assert "reviews-v4" not in labels_of(page)
        assert page.evaluate(SNAPSHOT)["sameCy"]
        assert watch.problems() == []


def test_the_indicator_says_when_the_connection_drops_and_when_it_catches_up(portal, chromium_path):
    with browser_page(chromium_path, 1280, 800) as page:
        watch = ConsoleWatch(page)
        watch.expected_failures.add("/api/clusters/demo/graph")
        login(page, portal, "viewer")
        page.goto(portal.url + BOOKINFO_WORKLOADS + "&refresh=10&live=poll")
        wait_for_graph(page)
        page.evaluate(MARK)
        drawn = labels_of(page)
        indicator = page.locator("#graph-live")

        page.route(GRAPH_API, lambda route: route.abort())
        page.click("#graph-refresh")
        page.locator("#graph-live[data-state=lost]").wait_for()
        assert indicator.inner_text().startswith("Connection lost at ")
        assert "The portal cannot be reached (network error). Retrying in 5 s." in indicator.inner_text()
        assert labels_of(page) == drawn  # the last graph stays on screen
        screenshot(page, "graph-connection-lost")

        page.unroute(GRAPH_API)
        page.locator("#graph-live[data-state=caught-up]").wait_for(timeout=20000)  # the retry, no click
        assert indicator.inner_text().startswith("Reconnected at ") and indicator.inner_text().endswith("caught up")
        snap = page.evaluate(SNAPSHOT)
        assert snap["sameCy"] and snap["sameDocument"]
        # the next regular poll is "live" again
        page.locator("#graph-live[data-state=live]").wait_for(timeout=20000)
        assert [m for m in watch.problems() if "/api/clusters/demo/graph" not in m] == []


def test_a_stale_namespace_and_an_ended_session_are_explained_in_the_page(portal, chromium_path):
    with browser_page(chromium_path, 1280, 800) as page:
        watch = ConsoleWatch(page)
        login(page, portal, "viewer")
        # the namespace filter is checked by the server: a stale URL with a namespace the
        # viewer lost is not drawn and the page says what it shows instead
        page.goto(portal.url + "/clusters/demo/graph/?namespaces=grpc-demo&live=poll")
        wait_for_graph(page)
        assert "namespaces=bookinfo" in page.url
        # the session ends elsewhere (another tab logs out): the next answer is refused and the
        # indicator says what to do, without retrying in a loop
        other = page.context.new_page()
        other.goto(portal.url + "/accounts/profile/")
        with other.expect_navigation():
            other.get_by_role("button", name="Log out").click()
        other.close()
        page.click("#graph-refresh")
        page.locator("#graph-live[data-state=lost]").wait_for()
        assert "Your session has ended: log in again." in page.locator("#graph-live").inner_text()
        assert "Retrying" not in page.locator("#graph-live").inner_text()
        login_link = page.locator("#graph-live a", has_text="Log in")
        assert login_link.get_attribute("href").startswith("/accounts/login/?next=")
        assert [m for m in watch.problems() if "/api/clusters/demo/graph" not in m] == []


HIDE_TAB = """(hidden) => {
    Object.defineProperty(document, 'hidden', {configurable: true, get: () => hidden});
    Object.defineProperty(document, 'visibilityState', {configurable: true, get: () => hidden ? 'hidden' : 'visible'});
    document.dispatchEvent(new Event('visibilitychange'));
}"""


def test_a_hidden_tab_neither_polls_nor_animates_and_catches_up_when_shown(portal, chromium_path):
    with browser_page(chromium_path, 1280, 800) as page:
        watch = ConsoleWatch(page)
        login(page, portal, "viewer")
        page.goto(portal.url + BOOKINFO_WORKLOADS + "&refresh=10&anim=1&live=poll")
        wait_for_graph(page)
        page.wait_for_function("() => window.meshdeckOverlay.stats().fps > 0")
        fetches = []
        page.on("request", lambda r: fetches.append(r.url) if "/api/clusters/demo/graph?" in r.url else None)
        page.evaluate(HIDE_TAB, True)
        frames = page.evaluate("window.meshdeckOverlay.stats().frames")
        page.wait_for_timeout(12000)  # longer than the refresh interval
        assert fetches == [], "a hidden tab polled"
        assert page.evaluate("window.meshdeckOverlay.stats().frames") <= frames + 1, "a hidden tab animated"
        updates = page.evaluate("window.meshdeckGraph.updates()")
        page.evaluate(HIDE_TAB, False)
        wait_for_graph(page, updates + 1)  # the missed poll happens as soon as the tab is shown
        assert len(fetches) == 1
        page.wait_for_function("(n) => window.meshdeckOverlay.stats().frames > n + 5", arg=frames)
        assert watch.problems() == []
