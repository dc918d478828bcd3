"""The traffic graph, as a person uses it in Chromium: what is drawn, toggles, find and hide,
the side panel with charts, focus, the view state in the URL, keyboard use."""
from __future__ import annotations

import re
from contextlib import contextmanager

import pytest

from tests.support.browser import browser_page, screenshot

from .pages import ConsoleWatch, axe_violations, login

pytestmark = pytest.mark.browser

# The drawing tests read the graph API over HTTP (some route it to a synthetic graph): the polling source.
# The push source has its own tests (test_browser_push.py).
BOOKINFO_WORKLOADS = "/clusters/demo/graph/?namespaces=bookinfo&graphType=workload&live=poll"


def wait_for_graph(page, updates: int = 1):
    page.wait_for_function("(n) => window.meshdeckGraph && window.meshdeckGraph.updates() >= n", arg=updates)


def open_graph(page, portal, query=BOOKINFO_WORKLOADS):
    page.goto(portal.url + query)
    wait_for_graph(page)


@contextmanager
def graph_from(portal, chromium_path, path: str, link):
    """A 1280x800 browser, as the viewer, that opened the page at ``path`` and followed ``link(page)``
    (a locator on it) to the graph, drawn: (page, its console watch)."""
    with browser_page(chromium_path, 1280, 800) as page:
        watch = ConsoleWatch(page)
        login(page, portal, "viewer")
        page.goto(portal.url + path)
        with page.expect_navigation():
            link(page).click()
        wait_for_graph(page)
        yield page, watch


@contextmanager
def graph_as(portal, chromium_path, username):
    """A 1280x800 browser logged in as ``username`` on the Bookinfo workload graph: (page, its console watch)."""
    with browser_page(chromium_path, 1280, 800) as page:
        watch = ConsoleWatch(page)
        login(page, portal, username)
        open_graph(page, portal)
        yield page, watch


def labels_of(page, selector="node", visible_only=True):
    return sorted(page.evaluate(
        """([sel, vis]) => window.cy.elements(sel).filter(e => !e.data('isBox') && (!vis || e.visible()))
             .map(e => e.isEdge() ? e.source().data('label') + ' -> ' + e.target().data('label') : e.data('label'))""",
        [selector, visible_only]))


def edge_label(page, source, target):
    return page.evaluate(
        """([s, t]) => window.cy.edges().filter(e =>
             e.source().data('label') === s && e.target().data('label') === t).map(e => e.data('label'))""",
        [source, target])


def api_graph(page, query):
    return page.evaluate("""async (q) => {
        const r = await fetch('/api/clusters/demo/graph?' + q, {credentials: 'same-origin'});
        return await r.json();
    }""", query)


def rendered_point(page, label):
    """Where a node is on the page (for real mouse clicks)."""
    return page.evaluate("""(label) => {
        const n = window.cy.nodes().filter(n => n.data('label') === label)[0];
        const box = document.getElementById('cy').getBoundingClientRect();
        const p = n.renderedPosition();
        return {x: box.left + p.x, y: box.top + p.y};
    }""", label)


def open_display_menu(page):
    if not page.locator("#graph-display").evaluate("d => d.open"):
        page.click("#graph-display > summary")


def set_toggle(page, name, value, checked):
    open_display_menu(page)
    locator = page.locator(f"#graph-controls input[name={name}][value={value}]" if value
                           else f"#graph-controls input[name={name}]")
    locator.set_checked(checked)


def test_the_bookinfo_graph_shows_what_the_graph_api_answers(portal, chromium_path):
    with graph_as(portal, chromium_path, "viewer") as (page, watch):
        api = api_graph(page, "namespaces=bookinfo&graphType=workload&duration=60s&injectServiceNodes=true")
        drawn = page.evaluate("""() => ({nodes: window.cy.nodes().map(n => n.id()).sort(),
                                         edges: window.cy.edges().map(e => e.id()).sort()})""")
        assert drawn["nodes"] == sorted(n["data"]["id"] for n in api["elements"]["nodes"])
        assert drawn["edges"] == sorted(e["data"]["id"] for e in api["elements"]["edges"])
        assert {"productpage-v1", "details-v1", "reviews-v2", "ratings-v1", "mongodb-v1",
                "unknown"} <= set(labels_of(page))
        # pinned scenario: productpage sends 10 req/s to details; reviews-v2 and -v3 each 3.33 to ratings
        assert edge_label(page, "details", "details-v1") == ["10.00 rps"]
        assert edge_label(page, "reviews-v2", "ratings") == ["3.33 rps"]
        # details answers 2% 503: its edge is drawn degraded (amber), like Kiali
        colour = page.evaluate("""window.cy.edges().filter(e => e.target().data('label') === 'details-v1')[0]
                                  .style('line-color')""")
        assert colour == "rgb(240,171,0)"
        assert page.evaluate("window.cy === window.meshdeckCy")
        assert re.search(r"namespaces=bookinfo&graphType=workload&duration=60s", page.url)
        assert page.locator("#graph-live").get_attribute("data-state") == "live"
        # the viewer may see bookinfo only: it is the only namespace offered
        assert page.locator("#graph-ns-picker input[name=namespaces]").evaluate_all(
            "boxes => boxes.map(b => b.value)") == ["bookinfo"]
        screenshot(page, "graph-bookinfo-workload")
        assert watch.problems() == []


def test_each_toggle_changes_what_is_drawn(portal, chromium_path):
    with graph_as(portal, chromium_path, "admin") as (page, watch):
        page.evaluate("() => { window.__firstCy = window.cy; }")

        # namespaces: add istio-system from the picker; its idle control plane comes with it below
        page.click("#graph-ns-picker > summary")
        page.locator("#graph-ns-picker input[value=istio-system]").check()
        page.wait_for_function("() => window.meshdeckGraph.state().namespaces.join() === 'bookinfo,istio-system'")
        wait_for_graph(page, 2)
        assert page.locator("#graph-ns-summary").inner_text() == "bookinfo, istio-system"
        assert "namespaces=bookinfo%2Cistio-system" in page.url
        page.keyboard.press("Escape")

        # duration: a 5 minute window, asked of the API and said in the status line
        page.locator("#graph-controls select[name=duration]").select_option("5m")
        page.wait_for_function("() => document.getElementById('graph-status').textContent.includes('window 300s')")
        assert "duration=5m" in page.url
        # refresh interval: paused, said by the indicator
        page.locator("#graph-controls select[name=refresh]").select_option("0")
        page.locator("#graph-live[data-state=paused]").wait_for()
        assert "refresh=0" in page.url

        # the legend explains the colours and shapes
        page.click("#graph-legend-toggle")
        assert page.locator("#graph-legend").is_visible()
        assert page.locator("#graph-legend-toggle").get_attribute("aria-expanded") == "true"
        assert "Degraded" in page.locator("#graph-legend").inner_text()
        screenshot(page, "graph-legend")
        open_display_menu(page)
        assert axe_violations(page) == []  # legend and the open Display menu
        page.click("#graph-display > summary")
        page.click("#graph-legend-toggle")
        assert not page.locator("#graph-legend").is_visible()

        # edge labels: each part shows on the details edge (10 req/s, 2% errors, ~47.6% of productpage's calls)
        set_toggle(page, "edgeLabels", "rps", False)
        assert edge_label(page, "details", "details-v1") == [""]
        set_toggle(page, "edgeLabels", "err", True)
        assert edge_label(page, "details", "details-v1") == ["2.0% err"]
        set_toggle(page, "edgeLabels", "rt", True)
        set_toggle(page, "edgeLabels", "pct", True)
        label = edge_label(page, "productpage-v1", "details")[0]
        assert re.fullmatch(r"2\.0% err\n\d+ ms\n47\.6%", label), label
        assert "edges=err%2Crt%2Cpct" in page.url

        # security badges: padlocks drawn on the overlay for mTLS edges, none when off
        set_toggle(page, "badges", None, True)
        page.wait_for_function("() => window.meshdeckOverlay.stats().badges > 0")
        mtls_edges = page.evaluate("window.cy.edges().filter(e => e.data('isMTLS') > 0).length")
        assert page.evaluate("window.meshdeckOverlay.stats().badges") == mtls_edges
        assert page.evaluate("""() => { const c = document.getElementById('graph-overlay');
            const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
            let n = 0; for (let i = 3; i < d.length; i += 4) { if (d[i]) n++; } return n; }""") > 0
        screenshot(page, "graph-labels-and-badges")
        set_toggle(page, "badges", None, False)
        page.wait_for_function("() => window.meshdeckOverlay.stats().badges === 0")

        # traffic animation: dots move (frames are drawn), and stop when turned off
        set_toggle(page, "animation", None, True)
        page.wait_for_function("() => window.meshdeckOverlay.stats().frames > 10"
                               " && window.meshdeckOverlay.stats().dots > 0")
        screenshot(page, "graph-animation")
        set_toggle(page, "animation", None, False)
        page.wait_for_function("() => window.meshdeckOverlay.stats().dots === 0")

        # service nodes: off, the service nodes between callers and workloads go (service entries stay)
        services_before = page.evaluate("window.cy.nodes('[nodeType = \"service\"]').length")
        set_toggle(page, "injectServiceNodes", None, False)
        page.wait_for_function("(n) => window.cy.nodes('[nodeType = \"service\"]').length < n", arg=services_before)
        assert page.evaluate("window.cy.nodes('[nodeType = \"service\"]').map(n => n.data('label'))") == ["httpbin.org"]
        # without the details service node, productpage-v1 calls details-v1 directly
        direct = edge_label(page, "productpage-v1", "details-v1")
        assert len(direct) == 1 and direct[0].startswith("2.0% err\n"), direct
        assert "serviceNodes=0" in page.url

        # idle nodes: istiod gets no requests; it appears only with idle nodes on
        assert "istiod" not in labels_of(page)
        set_toggle(page, "idleNodes", None, True)
        page.wait_for_function("() => window.cy.nodes().some(n => n.data('label') === 'istiod')")
        assert page.evaluate("window.cy.nodes().filter(n => n.data('label') === 'istiod')[0].data('isIdle')")

        # namespace boxes: compound nodes around each namespace's nodes
        set_toggle(page, "boxNamespace", None, True)
        page.wait_for_function("() => window.cy.nodes('[isBox = \"namespace\"]').length > 0")
        boxed = page.evaluate(
            """window.cy.nodes('[isBox = "namespace"]')[0].children().map(n => n.data('namespace'))""")
        assert boxed and len(set(boxed)) == 1
        screenshot(page, "graph-boxes-idle")

        # graph type: the versioned app graph has app nodes
        page.locator("#graph-controls select[name=graphType]").select_option("versionedApp")
        page.wait_for_function("() => window.cy.nodes('[nodeType = \"app\"]').length > 0")
        assert "reviews v2" in labels_of(page)

        # every change was applied to the same Cytoscape instance, never a new one
        assert page.evaluate("window.cy === window.__firstCy")
        assert watch.problems() == []


def test_find_highlights_and_hide_removes_and_a_bad_expression_says_why(portal, chromium_path):
    with graph_as(portal, chromium_path, "viewer") as (page, watch):
        def found():
            return labels_of(page, ".find-match")

        page.fill("#graph-find", "name = reviews")
        page.press("#graph-find", "Enter")
        page.wait_for_function("() => window.cy.elements('.find-match').length > 0")
        assert found() == ["reviews", "reviews-v1", "reviews-v2", "reviews-v3"]
        assert page.locator("#graph-find-result").inner_text() == "4 nodes and 0 edges match"
        assert "find=name+%3D+reviews" in page.url

        # edges failing more than 1%: details answers 2% 503, reviews-v3 gets 4% 500 from ratings
        page.fill("#graph-find", "%httperr > 1")
        page.press("#graph-find", "Enter")
        page.wait_for_function("() => window.cy.edges('.find-match').length > 0")
        expected = sorted(page.evaluate("""window.cy.edges().filter(e => e.data('protocol') === 'http' &&
            e.data('percentErr') > 1).map(e => e.source().data('label') + ' -> ' + e.target().data('label'))"""))
        assert found() == expected and "details -> details-v1" in expected
        screenshot(page, "graph-find")

        # hide what has no mTLS: traffic from outside the mesh and to httpbin.org
        page.fill("#graph-hide", "!mtls")
        page.press("#graph-hide", "Enter")
        page.wait_for_function("() => window.cy.edges('.find-hidden').length > 0")
        hidden = sorted(page.evaluate("""window.cy.edges('.find-hidden').map(e =>
            e.source().data('label') + ' -> ' + e.target().data('label'))"""))
        assert hidden == ["productpage-v1 -> httpbin.org", "unknown -> productpage"]
        assert not any(e in labels_of(page, "edge") for e in hidden)
        assert "hide=%21mtls" in page.url

        # a bad expression: a clear message, the field marked invalid, nothing highlighted
        page.fill("#graph-find", "rt >")
        page.press("#graph-find", "Enter")
        error = page.locator("#graph-find-error")
        error.wait_for(state="visible")
        assert error.inner_text() == (
            "Cannot use this expression: Expected a value after “rt >”, found the end (at column 4)")
        assert page.locator("#graph-find").get_attribute("aria-invalid") == "true"
        assert found() == []
        page.fill("#graph-find", "name = reviews and rt > 10")
        page.press("#graph-find", "Enter")
        page.wait_for_function("() => document.getElementById('graph-find-error').textContent.includes('never match')")
        screenshot(page, "graph-find-error")
        assert axe_violations(page) == []  # the error message and the invalid field
        # fixed again: the error goes
        page.fill("#graph-find", "healthy")
        page.press("#graph-find", "Enter")
        error.wait_for(state="hidden")
        assert page.locator("#graph-find").get_attribute("aria-invalid") == "false"
        assert watch.problems() == []


def test_clicking_reviews_v2_opens_its_panel_with_charts_and_links(portal, chromium_path):
    portal._manage("shell", "-c", "from apps.clusters.models import Cluster; "
                   "Cluster.objects.filter(name='demo').update(grafana_url='http://127.0.0.1:3000', "
                   "tracing_url='http://127.0.0.1:16686')")
    try:
        with graph_as(portal, chromium_path, "viewer") as (page, watch):
            point = rendered_point(page, "reviews-v2")
            page.mouse.click(point["x"], point["y"])
            panel = page.locator("#graph-details")
            panel.locator("h2", has_text="reviews-v2").wait_for()
            page.wait_for_function("""() => {
                const c = document.querySelector('#graph-details canvas[data-chart=latency]');
                return c && Chart.getChart(c) && Chart.getChart(c).data.datasets[0].data.length > 0; }""")
            text = panel.inner_text()
            assert "Namespace\nbookinfo" in text and "Healthy" in text
            # inbound 3.33 req/s from the reviews service; outbound 3.33 to ratings
            rows = panel.locator("table.panel-traffic tbody tr").all_inner_texts()
            assert rows[0].startswith("Inbound\t3.33 req/s") and rows[1].startswith("Outbound\t3.33 req/s")
            charts = page.evaluate("""() => [...document.querySelectorAll('#graph-details canvas')].map(c => ({
                name: c.dataset.chart, sets: Chart.getChart(c).data.datasets.map(d => d.label),
                points: Chart.getChart(c).data.datasets[0].data.filter(v => v !== null).length}))""")
            assert [c["name"] for c in charts] == ["requests", "latency"]
            assert charts[0]["sets"] == ["req/s", "errors %"] and charts[1]["sets"] == ["p50", "p95", "p99"]
            assert all(c["points"] > 10 for c in charts)
            inbound = page.evaluate(
                "Chart.getChart(document.querySelector('canvas[data-chart=requests]')).data.datasets[0].data")
            assert max(v for v in inbound if v is not None) == pytest.approx(3.33, abs=0.05)
            # links: its workload page, Grafana's Istio workload dashboard, traces of its app
            links = panel.locator(".panel-links a")
            hrefs = dict(zip(links.all_inner_texts(), [a.get_attribute("href") for a in links.all()], strict=True))
            assert hrefs["Workload details"] == "/clusters/demo/namespaces/bookinfo/workloads/reviews-v2/"
            assert hrefs["Grafana"].startswith("http://127.0.0.1:3000/d/")
            assert "var-workload=reviews-v2" in hrefs["Grafana"]
            assert hrefs["Traces"] == "http://127.0.0.1:16686/search?service=reviews.bookinfo"
            assert re.search(r"select=[0-9a-f]{64}", page.url)
            screenshot(page, "graph-panel-reviews-v2")
            assert axe_violations(page) == []  # the panel with its charts, too
            # outbound: the same charts, now of what reviews-v2 sends
            panel.get_by_role("button", name="Outbound").click()
            page.wait_for_function("""() =>
                document.querySelector('#graph-details [aria-pressed=true]').textContent === 'Outbound'
                && Chart.getChart(document.querySelector('canvas[data-chart=requests]'))""")
            # an edge: its figures
            page.evaluate("""() => {
                window.cy.edges().filter(e => e.target().data('label') === 'details-v1')[0].select(); }""")
            panel.locator("h2", has_text="details → details-v1").wait_for()
            assert "Errors\n2.0%" in panel.inner_text() and "mTLS\n100%" in panel.inner_text()
            # clicking the background clears the selection: the summary again
            box = page.locator("#cy").bounding_box()
            page.mouse.click(box["x"] + 8, box["y"] + box["height"] - 8)
            panel.locator("h2", has_text="Graph").wait_for()
            assert watch.problems() == []
    finally:
        portal._manage("shell", "-c", "from apps.clusters.models import Cluster; "
                       "Cluster.objects.filter(name='demo').update(grafana_url='', tracing_url='')")


def test_double_click_focuses_on_a_nodes_neighbours(portal, chromium_path):
    with graph_as(portal, chromium_path, "viewer") as (page, watch):
        every = labels_of(page)
        point = rendered_point(page, "reviews-v2")
        page.mouse.dblclick(point["x"], point["y"])
        page.locator("#graph-focus").wait_for(state="visible")
        # reviews-v2 is called through the reviews service and calls the ratings service
        assert labels_of(page) == ["ratings", "reviews", "reviews-v2"]
        assert labels_of(page, "edge") == ["reviews -> reviews-v2", "reviews-v2 -> ratings"]
        assert page.locator("#graph-focus-name").inner_text() == "reviews-v2"
        assert "focus=" in page.url
        screenshot(page, "graph-focus")
        page.click("#graph-unfocus")
        page.locator("#graph-focus").wait_for(state="hidden")
        assert labels_of(page) == every and "focus=" not in page.url
        assert watch.problems() == []


def test_view_layout_zoom_and_selection_survive_a_refresh(portal, chromium_path):
    with browser_page(chromium_path, 1280, 800) as page:
        watch = ConsoleWatch(page)
        login(page, portal, "viewer")
        open_graph(page, portal, BOOKINFO_WORKLOADS + "&edges=err&badges=1&find=name%20%3D%20reviews&refresh=0")
        assert page.locator("#graph-live").get_attribute("data-state") == "paused"
        # move a node by dragging it, zoom in, select ratings-v1
        start = rendered_point(page, "mongodb-v1")
        page.mouse.move(start["x"], start["y"])
        page.mouse.down()
        page.mouse.move(start["x"] - 40, start["y"] + 60, steps=5)
        page.mouse.up()
        page.evaluate("() => { window.cy.zoom({level: window.cy.zoom() * 1.3, renderedPosition: {x: 300, y: 200}}); }")
        page.evaluate("() => { window.cy.nodes().filter(n => n.data('label') === 'ratings-v1')[0].select(); }")
        page.locator("#graph-details h2", has_text="ratings-v1").wait_for()
        before = page.evaluate("""() => ({
            pos: window.cy.nodes().filter(n => n.data('label') === 'mongodb-v1')[0].position(),
                                          zoom: window.cy.zoom(), pan: window.cy.pan(), url: location.href})""")
        page.wait_for_timeout(500)  # the layout is stored shortly after the last change
        page.reload()
        wait_for_graph(page)
        page.locator("#graph-details h2", has_text="ratings-v1").wait_for()
        after = page.evaluate("""() => ({
            pos: window.cy.nodes().filter(n => n.data('label') === 'mongodb-v1')[0].position(),
                                         zoom: window.cy.zoom(), pan: window.cy.pan(), url: location.href})""")
        assert after["url"] == before["url"]
        assert after["pos"] == pytest.approx(before["pos"], abs=1)
        assert after["zoom"] == pytest.approx(before["zoom"], rel=1e-3)
        assert after["pan"] == pytest.approx(before["pan"], abs=1)
        # the controls say what the URL says
        assert page.locator("input[name=edgeLabels][value=err]").is_checked()
        assert not page.locator("input[name=edgeLabels][value=rps]").is_checked()
        assert page.locator("input[name=badges]").is_checked()
        assert page.locator("#graph-find").input_value() == "name = reviews"
        assert page.locator("select[name=refresh]").input_value() == "0"
        assert labels_of(page, ".find-match") == ["reviews", "reviews-v1", "reviews-v2", "reviews-v3"]
        assert watch.problems() == []


def test_keyboard_alone_drives_the_graph(portal, chromium_path):
    with graph_as(portal, chromium_path, "viewer") as (page, watch):
        # open Display with the keyboard, turn the animation on with Space, close it with Escape
        page.focus("#graph-display > summary")
        page.keyboard.press("Enter")
        assert page.locator("#graph-display").evaluate("d => d.open")
        while page.evaluate("document.activeElement.name") != "animation":
            page.keyboard.press("Tab")
        page.keyboard.press("Space")
        page.wait_for_function("() => window.meshdeckOverlay.stats().frames > 5")
        page.keyboard.press("Escape")
        assert not page.locator("#graph-display").evaluate("d => d.open")
        assert page.evaluate("document.activeElement.parentElement.id") == "graph-display"
        # the canvas takes the focus: + zooms, arrows pan, 0 fits
        page.focus("#cy")
        zoom = page.evaluate("window.cy.zoom()")
        page.keyboard.press("+")
        assert page.evaluate("window.cy.zoom()") > zoom
        pan = page.evaluate("window.cy.pan().x")
        page.keyboard.press("ArrowLeft")
        assert page.evaluate("window.cy.pan().x") > pan
        # a node by name: the "go to node" field selects it and opens its panel
        page.focus("#graph-goto-input")
        page.keyboard.type("details-v1")
        page.keyboard.press("Enter")
        page.locator("#graph-details h2", has_text="details-v1").wait_for()
        page.focus("#cy")
        page.keyboard.press("Escape")
        page.locator("#graph-details h2", has_text="Graph").wait_for()
        # an unhealthy node from the summary list, with Enter
        page.locator("#graph-details button", has_text="details-v1").focus()
        page.keyboard.press("Enter")
        page.locator("#graph-details h2", has_text="details-v1").wait_for()
        assert watch.problems() == []


def test_a_workload_page_links_to_the_graph_with_the_workload_found(portal, chromium_path):
    with graph_from(portal, chromium_path, "/clusters/demo/namespaces/bookinfo/workloads/reviews-v2/?kind=Deployment",
                    lambda page: page.locator("section.traffic h2 a", has_text="graph")) as (page, watch):
        page.wait_for_function("() => window.cy.elements('.find-match').length > 0")
        assert labels_of(page, ".find-match") == ["reviews-v2"]
        assert page.locator("#graph-find").input_value() == "workload = reviews-v2"
        assert watch.problems() == []


def synthetic_graph(nodes: int) -> dict:
    """A chain of `nodes` workloads (a stand-in for a large mesh, for the page's own behaviour)."""
    ns = [{"data": {"id": f"n{i}", "nodeType": "workload", "cluster": "Kubernetes", "namespace": "bookinfo",
                    "workload": f"w{i}", "app": f"w{i}", "healthStatus": "Healthy"}} for i in range(nodes)]
    es = [{"data": {"id": f"e{i}", "source": f"n{i}", "target": f"n{i + 1}", "protocol": "http",
                    "rates": {"http": 1.0 + i}, "percentErr": 0.0, "percentReq": 100.0, "isMTLS": 100.0,
                    "healthStatus": "Healthy"}} for i in range(nodes - 1)]
    return {"cluster": "demo", "timestamp": 0, "duration": 60, "graphType": "workload", "namespaces": ["bookinfo"],
            "elements": {"nodes": ns, "edges": es}}


def test_a_large_graph_shows_edge_labels_once_zoomed_in_enough_to_read_them(portal, chromium_path):
    import json

    with browser_page(chromium_path, 1280, 800) as page:
        watch = ConsoleWatch(page)
        login(page, portal, "viewer")
        body = json.dumps(synthetic_graph(400))
        page.route("**/api/clusters/demo/graph?*", lambda route: route.fulfill(
            status=200, content_type="application/json", body=body))
        open_graph(page, portal)
        drawn_label = "window.cy.getElementById('e10').style('label')"
        assert page.evaluate("window.cy.getElementById('e10').data('label')") == "11.00 rps"
        # seen whole, the labels are too small to read: not in the style
        assert page.evaluate("window.cy.zoom()") < 0.45 and page.evaluate(drawn_label) == ""
        page.evaluate("() => { window.cy.zoom({level: 1, renderedPosition: {x: 300, y: 300}}); }")
        page.wait_for_function(f"() => {drawn_label} === '11.00 rps'")
        page.evaluate("() => { window.cy.zoom({level: 0.2, renderedPosition: {x: 300, y: 300}}); }")
        page.wait_for_function(f"() => {drawn_label} === ''")
        assert watch.problems() == []
