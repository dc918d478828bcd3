"""The applications pages in Chromium: filters by keyboard, and an application's "Show in the graph"
opens the graph focused on it. (Clean, accessible and usable 1024 wide: with every page, in
test_browser_pages.py.)"""
from __future__ import annotations

import pytest

from tests.support.browser import browser_page, screenshot

from .pages import ConsoleWatch, login
from .test_browser_graph import graph_from

pytestmark = pytest.mark.browser

def test_filtering_applications_by_health_with_the_keyboard(portal, chromium_path):
    with browser_page(chromium_path, 1280, 800) as page:
        watch = ConsoleWatch(page)
        login(page, portal, "admin")
        page.goto(portal.url + "/clusters/demo/namespaces/-/apps/")
        assert page.locator("tr[data-app='bookinfo/mongodb']").count() == 1
        page.focus("#f-health")
        page.select_option("#f-health", "Failure")
        with page.expect_navigation():
            page.press("#f-q", "Enter")
        shown = page.locator("tr[data-app]").evaluate_all("rows => rows.map(r => r.dataset.app)")
        assert shown == ["grpc-demo/grpc-client", "grpc-demo/grpc-server"]
        assert page.locator("#f-health").input_value() == "Failure"  # the form shows the filter in force
        # the namespace links keep the filter
        with page.expect_navigation():
            page.locator(".ns-filter a", has_text="bookinfo").click()
        assert "health=Failure" in page.url and page.locator("p.empty-box").count() == 1
        screenshot(page, "page-apps-filtered-empty")
        assert watch.problems() == []


def test_show_in_the_graph_focuses_on_the_application(portal, chromium_path):
    with graph_from(portal, chromium_path, "/clusters/demo/namespaces/bookinfo/apps/reviews/",
                    lambda page: page.get_by_role("link", name="Show in the graph")) as (page, watch):
        page.locator("#graph-focus:not([hidden])").wait_for()
        assert page.locator("#graph-focus-name").inner_text() == "reviews"
        # reviews and its neighbours are drawn, the rest of the mesh is dimmed away
        shown = page.evaluate("() => window.cy.nodes().filter(n => !n.isParent() && !n.hasClass('unfocused'))"
                              ".map(n => n.data('label')).sort()")
        assert "reviews" in shown and "ratings" in shown and "mongodb" not in shown
        assert page.evaluate("window.cy.nodes('.focus-root').map(n => n.data('label'))") == ["reviews"]
        screenshot(page, "page-graph-focused-app")
        assert watch.problems() == []
