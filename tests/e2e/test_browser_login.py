"""A person logs in with the keyboard in a real Chromium and reads the overview."""
import pytest

from tests.support.browser import browser_page, screenshot

pytestmark = pytest.mark.browser


def _log_in(page, portal, username, password):
    page.goto(portal.url + "/")
    assert "/accounts/login/" in page.url  # not logged in: sent to the login page
    # keyboard-friendly: the username field has focus when the page is ready
    page.wait_for_function("document.activeElement && document.activeElement.id === 'id_username'")
    page.keyboard.type(username)
    page.keyboard.press("Tab")
    page.keyboard.type(password)
    with page.expect_navigation():
        page.keyboard.press("Enter")


def test_viewer_logs_in_and_sees_only_bookinfo(portal, chromium_path):
    with browser_page(chromium_path) as page:
        _log_in(page, portal, "viewer", portal.passwords["viewer"])
        page.locator("table.namespaces").first.wait_for()
        assert page.locator("h1").first.inner_text() == "Overview"
        rows = page.locator("table.namespaces tbody tr")
        assert rows.count() == 1
        assert rows.first.get_attribute("data-namespace") == "bookinfo"
        assert "enabled" in rows.first.inner_text()
        screenshot(page, "overview-viewer")


def test_admin_sees_every_namespace_and_the_admin_link(portal, chromium_path):
    with browser_page(chromium_path) as page:
        _log_in(page, portal, "admin", portal.passwords["admin"])
        page.locator("table.namespaces").first.wait_for()
        names = page.locator("table.namespaces tbody tr").evaluate_all(
            "rows => rows.map(r => r.dataset.namespace)")
        assert {"bookinfo", "istio-system", "grpc-demo"} <= set(names)
        assert page.get_by_role("link", name="Admin", exact=True).is_visible()
        # health colours: gRPC demo fails 15% of calls, Bookinfo's details answers 2% 503
        grpc = page.locator('table.namespaces tr[data-namespace="grpc-demo"] .health')
        assert grpc.inner_text().strip() == "Failure"
        assert grpc.evaluate("e => getComputedStyle(e.querySelector('.dot')).backgroundColor") == "rgb(197, 34, 31)"
        bookinfo = page.locator('table.namespaces tr[data-namespace="bookinfo"]')
        assert "Degraded" in bookinfo.inner_text() and "details-v1: 2.0% errors inbound" in bookinfo.inner_text()
        screenshot(page, "overview-admin")


def test_wrong_password_shows_an_error_in_the_page(portal, chromium_path):
    with browser_page(chromium_path) as page:
        _log_in(page, portal, "approver", "not-the-password")
        alert = page.get_by_role("alert")
        assert "correct username and password" in alert.inner_text()
        screenshot(page, "login-error")
