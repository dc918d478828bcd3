"""Every page, in Chromium under the portal's Content-Security-Policy: one layout with the left
navigation, no console errors, no serious or critical axe-core violations, every control
reachable with Tab, readable at 1280x800 and usable at 1024 wide. Screenshots of each page go
to var/screenshots/."""
from __future__ import annotations

import pytest
from django.urls import NoReverseMatch, reverse

from tests.support.browser import browser_page, screenshot

from .pages import PAGES, ConsoleWatch, axe_violations, login, unreachable

pytestmark = pytest.mark.browser

ADMIN_PAGES = [("cluster-add", "/clusters/new/", "form.form")]

# which navigation entry each page lights up
CURRENT_ENTRY = {"overview": "Overview", "namespaces": "Namespaces", "workloads": "Workloads",
                 "workload-detail": "Workloads", "services": "Services", "service-detail": "Services",
                 "istio-config": "Istio config", "istio-config-detail": "Istio config", "graph": "Traffic graph",
                 "workloads-empty-filter": "Workloads", "audit": "Audit",
                 "apps": "Applications", "app-detail": "Applications", "apps-empty-filter": "Applications"}


def resolves(name, *args) -> bool:
    try:
        reverse(name, args=args)
        return True
    except NoReverseMatch:
        return False


def check_page(page, portal, watch, name, path, ready, user):
    watch.clear()
    response = page.goto(portal.url + path)
    assert response.status == 200, f"{path}: {response.status}"
    assert "script-src 'self'" in response.headers["content-security-policy"]
    page.locator(ready).first.wait_for()
    screenshot(page, f"page-{name}-{user}")
    assert watch.problems() == [], f"{path}: {watch.problems()}"
    violations = axe_violations(page)
    assert violations == [], f"{path}: {violations}"
    assert unreachable(page) == [], f"{path}: controls Tab never reaches"
    current = page.locator(".sidebar [aria-current=page]").all_inner_texts()
    if name in CURRENT_ENTRY:
        assert [t.split("\n")[0] for t in current] == [CURRENT_ENTRY[name]], f"{path}: {current}"


@pytest.mark.parametrize("user", ["viewer", "admin"])
def test_every_page_is_clean_accessible_and_keyboard_reachable(portal, chromium_path, user):
    with browser_page(chromium_path, 1280, 800) as page:
        watch = ConsoleWatch(page)
        login(page, portal, user)
        for name, path, ready in PAGES + (ADMIN_PAGES if user == "admin" else []):
            check_page(page, portal, watch, name, path, ready, user)


def test_the_login_page_and_its_error_are_clean_and_accessible(portal, chromium_path):
    with browser_page(chromium_path, 1280, 800) as page:
        watch = ConsoleWatch(page)
        page.goto(portal.url + "/accounts/login/")
        assert page.locator(".sidebar").count() == 0  # no navigation before logging in
        assert axe_violations(page) == [] and unreachable(page) == []
        screenshot(page, "page-login")
        login(page, portal, "viewer", "wrong password")
        page.get_by_role("alert").wait_for()
        assert axe_violations(page) == []
        screenshot(page, "page-login-error")
        assert watch.problems() == []


def test_the_navigation_lists_kialis_entries_and_says_which_are_not_available_yet(portal, chromium_path):
    with browser_page(chromium_path, 1280, 800) as page:
        login(page, portal, "viewer")
        page.goto(portal.url + "/clusters/demo/namespaces/")
        nav = page.locator("nav.sidebar")
        entries = [t.split("\n")[0] for t in nav.locator("li").all_inner_texts()]
        assert entries == ["Overview", "Traffic graph", "Applications", "Namespaces", "Workloads", "Services",
                           "Istio config", "History", "Changes", "Audit"]  # no Clusters: the viewer is no admin
        # an entry whose page does not exist yet is plain text saying so, never a link to nowhere
        for entry, available in [("History", resolves("history:timeline", "demo")),
                                 ("Changes", resolves("changes:list")),
                                 ("Audit", resolves("auditreview:events")),
                                 ("Applications", resolves("inventory:apps", "demo", "-"))]:
            item = nav.locator("li", has_text=entry)
            if available:
                assert item.locator("a").count() == 1, entry
            else:
                assert item.locator("a").count() == 0 and "not yet available" in item.inner_text(), entry
        # the cluster's links point at the cluster of the page
        hrefs = nav.locator("a").evaluate_all("links => links.map(a => a.getAttribute('href'))")
        assert "/clusters/demo/graph/" in hrefs and "/clusters/demo/namespaces/-/workloads/" in hrefs
        # every link in the navigation answers (no dead entries)
        for href in hrefs:
            assert page.request.get(portal.url + href).status == 200, href
        login_admin = page.context.browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
        login(login_admin, portal, "admin")
        admin_nav = login_admin.locator("nav.sidebar")
        clusters = admin_nav.get_by_role("link", name="Clusters", exact=True)
        assert clusters.count() == 1
        with login_admin.expect_navigation():
            clusters.click()
        assert login_admin.locator("h1").first.inner_text()  # a real page (the admin's cluster list)


def test_a_second_cluster_can_be_switched_to_from_the_navigation(portal, chromium_path):
    portal._manage("shell", "-c", "from apps.clusters.models import Cluster; "
                   "Cluster.objects.get_or_create(name='lab', "
                   "defaults={'kind': 'simulated', 'simulator_topology': 'helloworld'})")
    try:
        with browser_page(chromium_path, 1280, 800) as page:
            watch = ConsoleWatch(page)
            login(page, portal, "admin")
            page.goto(portal.url + "/clusters/demo/namespaces/")
            assert page.locator(".nav-cluster-name").inner_text() == "demo"
            page.click(".nav-switch summary")
            with page.expect_navigation():
                page.locator(".nav-switch a", has_text="lab").click()
            assert page.locator(".nav-cluster-name").inner_text() == "lab"
            page.locator(".sidebar").get_by_role("link", name="Traffic graph").click()
            page.wait_for_url("**/clusters/lab/graph/**")
            page.locator("#graph-live[data-state=live]").wait_for()
            assert page.evaluate("window.cy.nodes().some(n => n.data('label') === 'helloworld v1')")
            screenshot(page, "page-graph-second-cluster")
            assert watch.problems() == []
    finally:
        portal._manage("shell", "-c",
                       "from apps.clusters.models import Cluster; Cluster.objects.filter(name='lab').delete()")


@pytest.mark.parametrize("path", [p for _, p, _ in PAGES])
def test_every_page_is_usable_1024_wide(portal, chromium_path, path):
    with browser_page(chromium_path, 1024, 768) as page:
        login(page, portal, "admin")
        page.goto(portal.url + path)
        page.locator("main h1").first.wait_for()
        # nothing pushes the page sideways, the navigation and the content are both on screen
        assert page.evaluate("document.documentElement.scrollWidth") <= 1024
        nav = page.locator("nav.sidebar").bounding_box()
        main = page.locator("main").bounding_box()
        assert nav["width"] < 200 and main["x"] >= nav["x"] + nav["width"] - 1 and main["width"] > 800
        if "graph" in path:
            page.locator("#graph-live[data-state=live]").wait_for()
            stage = page.locator(".graph-stage").bounding_box()
            assert stage["width"] > 450 and stage["height"] > 350
            screenshot(page, "page-graph-1024")


def test_the_api_docs_work_under_the_policy(portal, chromium_path):
    with browser_page(chromium_path, 1280, 800) as page:
        watch = ConsoleWatch(page)
        login(page, portal, "viewer")
        page.goto(portal.url + "/api/docs/")
        page.locator(".swagger-ui .info .title").wait_for()
        assert "Meshdeck API" in page.locator(".swagger-ui .info .title").inner_text()
        assert watch.problems() == []
