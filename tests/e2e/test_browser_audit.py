"""The embedded default (as `make run` starts it): seeding and logins are in the audit
history, an admin filters it and opens an event's diff in a real Chromium."""
import pytest

from tests.e2e.test_browser_login import _log_in
from tests.support.browser import browser_page, screenshot

pytestmark = pytest.mark.browser


def test_admin_reads_the_history_of_the_demo_seeding_and_the_logins(portal, chromium_path):
    with browser_page(chromium_path) as page:
        _log_in(page, portal, "viewer", "wrong-password")  # a failed login, recorded
        _log_in(page, portal, "admin", portal.passwords["admin"])
        page.get_by_role("link", name="Audit", exact=True).click()
        page.locator("table.audit-events").wait_for()
        actions = page.locator("table.audit-events > tbody > tr > td:nth-child(3)").all_inner_texts()
        assert {"auth.login", "auth.login_failed", "grant.create", "user.create", "cluster.create"} <= set(actions)
        page.fill("#f-action", "grant.*")
        with page.expect_navigation():
            page.keyboard.press("Enter")
        rows = page.locator("table.audit-events > tbody > tr")
        assert rows.count() == 4
        first = rows.first
        first.locator("summary").click()
        diff = first.locator("table.diff")
        assert diff.is_visible() and "namespace_pattern" in diff.inner_text()
        assert "seed_demo" in first.inner_text()
        screenshot(page, "audit-history-admin")


def test_viewer_sees_only_their_own_logins(portal, chromium_path):
    with browser_page(chromium_path) as page:
        _log_in(page, portal, "viewer", portal.passwords["viewer"])
        page.goto(portal.url + "/audit/")
        page.locator("table.audit-events").wait_for()
        targets = page.locator("table.audit-events > tbody > tr > td:nth-child(7)").all_inner_texts()
        assert targets and all("viewer" in t for t in targets)
        assert "grant.create" not in page.content()
        screenshot(page, "audit-history-viewer")
