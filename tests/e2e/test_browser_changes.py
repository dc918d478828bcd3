"""A change, end to end in Chromium: an operator files a traffic shift through the wizard from the
service's Actions menu, an approver finds it in the review queue, approves and applies it, and the
open graph moves (all of reviews' traffic to v3) without a reload. The portal takes a snapshot every
3 s of 10 s of traffic, so the graph follows within seconds."""
from __future__ import annotations

import os
import uuid

import psycopg
import pytest
from django.urls import NoReverseMatch, reverse

from tests.support.browser import browser_page, screenshot
from tests.support.portal_process import PortalProcess

from .pages import ConsoleWatch, axe_violations, login
from .test_browser_graph import wait_for_graph
from .test_browser_live import MARK


def _has_changes() -> bool:
    try:
        reverse("changes:list")
        return True
    except NoReverseMatch:
        return False


pytestmark = [pytest.mark.browser, pytest.mark.skipif(not _has_changes(), reason="no changes app")]

GRAPH = "/clusters/demo/graph/?namespaces=bookinfo&graphType=workload&edges=pct"
SHARE = """(workload) => window.cy.edges().filter(e => e.target().data('workload') === workload
    && e.source().data('service') === 'reviews').map(e => e.data('percentReq'))[0] ?? null"""


@pytest.fixture(scope="module")
def flow_portal(tmp_path_factory):
    # PostgreSQL, not the embedded SQLite file: with a snapshot every 3 s, SQLite's single writer
    # makes filing a change fail with "database is locked" now and then (reported to the lead)
    base = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    name = "meshdeck_e2e_changes_" + uuid.uuid4().hex[:8]
    admin = psycopg.connect(base, autocommit=True)
    admin.execute(f'CREATE DATABASE "{name}"')
    process = PortalProcess(tmp_path_factory.mktemp("portal-changes"))
    process.env.update(MESHDECK_SNAPSHOT_INTERVAL="3", MESHDECK_SNAPSHOT_WINDOW="10",
                       DATABASE_URL=base.rsplit("/", 1)[0] + "/" + name)
    try:
        process.start()
        yield process
    finally:
        process.stop()
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def test_an_operator_files_a_traffic_shift_an_approver_approves_it_and_the_graph_moves(flow_portal, chromium_path):
    portal = flow_portal
    with browser_page(chromium_path, 1280, 800) as page:
        watch = ConsoleWatch(page)
        # the graph, open all along in its own tab: reviews' traffic is split over v1, v2, v3
        graph = page.context.browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
        graph_watch = ConsoleWatch(graph)
        login(graph, portal, "viewer")
        graph.goto(portal.url + GRAPH)
        wait_for_graph(graph)
        graph.wait_for_function(f"() => ({SHARE})('reviews-v1') > 10")
        graph.evaluate(MARK)

        # the operator: service page -> Actions -> Traffic shifting -> the wizard
        login(page, portal, "operator")
        page.goto(portal.url + "/clusters/demo/namespaces/bookinfo/services/reviews/")
        page.locator(".actions-menu > summary").click()
        with page.expect_navigation():
            page.get_by_role("link", name="Traffic shifting", exact=True).click()
        assert "kind=traffic_shift" in page.url
        page.fill("#id_weight_v1", "0")
        page.fill("#id_weight_v2", "0")
        page.fill("#id_weight_v3", "100")
        assert page.locator("#id_submit_now").is_checked()
        screenshot(page, "page-change-wizard")
        with page.expect_navigation():
            page.get_by_role("button", name="File the change").click()
        assert "/changes/" in page.url
        change_url = page.url.split("?")[0]
        assert "Waiting for review" in page.locator("h1").inner_text()
        assert watch.problems() == []

        # the approver: the review queue -> the change -> approve (password) -> apply (password)
        approver = page.context.browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
        approver_watch = ConsoleWatch(approver)
        login(approver, portal, "approver")
        approver.goto(portal.url + "/changes/?waiting=1")
        row = approver.locator("table tr", has_text="traffic_shift").first
        row.wait_for()
        assert "1" in approver.locator(".sidebar .count").inner_text().split()  # the badge
        screenshot(approver, "page-review-queue")
        with approver.expect_navigation():
            row.locator("a").first.click()
        assert approver.url.split("?")[0] == change_url
        assert "v3" in approver.locator("main").inner_text()
        assert axe_violations(approver) == []
        screenshot(approver, "page-change-review")
        approver.fill("#approve-password", portal.passwords["approver"])
        with approver.expect_navigation():
            approver.get_by_role("button", name="Approve").click()
        assert "Approved" in approver.locator("h1").inner_text()
        approver.locator("#apply-password").fill(portal.passwords["approver"])
        with approver.expect_navigation():
            approver.get_by_role("button", name="Apply to demo").click()
        approver.wait_for_function("() => document.querySelector('h1').textContent.includes('Applied')")
        screenshot(approver, "page-change-applied")
        assert approver_watch.problems() == []

        # the open graph moves by itself: v1 and v2 lose their share, v3 takes it all
        graph.wait_for_function(f"() => ({SHARE})('reviews-v3') > 95", timeout=60_000)
        assert (graph.evaluate(SHARE, "reviews-v1") or 0) < 5
        assert graph.evaluate("window.cy.__mark === 'first' && window.__notReloaded === true")
        screenshot(graph, "page-graph-after-change")
        assert graph_watch.problems() == []
