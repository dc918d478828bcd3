"""Screenshots of every page, and the README's three (graph, review of a change, audit history).

    .venv/bin/python scripts/screenshots.py        (make screenshots)

Runs the portal as `make run` does, on a PostgreSQL database of its own (DATABASE_URL's server,
a temporary database; snapshots every 3 s so the history and the graph have something to show),
drives Debian's Chromium through Playwright like the browser tests: an operator files a traffic
shift through the wizard, so the review page and the audit history have a real change in them.
Writes every page (full length) to var/screenshots/readme-run/ and three (1280x800) to
docs/screenshots/.
Screenshots are made by this script only, never by hand.
"""
from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
OUT = ROOT / "var" / "screenshots" / "readme-run"
os.environ["MESHDECK_SCREENSHOTS"] = str(OUT)

import psycopg  # noqa: E402

from tests.e2e import pages  # noqa: E402
from tests.support import binaries  # noqa: E402
from tests.support.browser import browser_page, screenshot  # noqa: E402
from tests.support.portal_process import PortalProcess  # noqa: E402

DOCS = ROOT / "docs" / "screenshots"
README_SHOTS = {"graph": "graph.png", "change-review": "change-review.png", "audit": "audit-history.png"}

# Every page, and those the browser tests do not visit
PAGES = [*pages.PAGES, ("history", "/clusters/demo/history/", "h1"), ("changes", "/changes/", "h1")]


def readme(page, name):
    """The README's copy: what a person sees at 1280x800 (the full page is in var/screenshots/)."""
    DOCS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(DOCS / README_SHOTS[name]), full_page=False)


def file_traffic_shift(page, portal):
    pages.login(page, portal, "operator")
    page.goto(portal.url + "/clusters/demo/changes/new/?kind=traffic_shift&namespace=bookinfo&service=reviews")
    page.fill("#id_weight_v1", "10")
    page.fill("#id_weight_v2", "10")
    page.fill("#id_weight_v3", "80")
    screenshot(page, "change-wizard")
    with page.expect_navigation():
        page.get_by_role("button", name="File the change").click()
    return page.url.split("?")[0]


def main() -> int:
    chromium = binaries.require("chromium")
    base = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    name = "meshdeck_screenshots_" + uuid.uuid4().hex[:8]
    admin = psycopg.connect(base, autocommit=True)
    admin.execute(f'CREATE DATABASE "{name}"')
    portal = PortalProcess(Path(tempfile.mkdtemp(prefix="meshdeck-shots-")))
    portal.env.update(MESHDECK_SNAPSHOT_INTERVAL="3", MESHDECK_SNAPSHOT_WINDOW="10",
                      DATABASE_URL=base.rsplit("/", 1)[0] + "/" + name)
    if OUT.exists():
        shutil.rmtree(OUT)
    try:
        portal.start()
        time.sleep(8)  # a few snapshots for the history
        with browser_page(chromium, 1280, 800) as page:
            change_url = file_traffic_shift(page, portal)
            review = page.context.browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
            pages.login(review, portal, "approver")
            review.goto(change_url)
            review.locator("#approve-password").wait_for()
            screenshot(review, "change-review")
            readme(review, "change-review")
            review.goto(portal.url + "/changes/?waiting=1")
            screenshot(review, "review-queue")
            # approved and applied, so the audit history and the graph show the whole flow
            review.goto(change_url)
            review.fill("#approve-password", portal.passwords["approver"])
            with review.expect_navigation():
                review.get_by_role("button", name="Approve").click()
            review.fill("#apply-password", portal.passwords["approver"])
            with review.expect_navigation():
                review.get_by_role("button", name="Apply to demo").click()
            screenshot(review, "change-applied")
            portal._manage("audit", "verify")
            time.sleep(12)  # snapshots of the new split
            viewer = page.context.browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
            pages.login(viewer, portal, "admin")
            for shot, path, ready in PAGES:
                viewer.goto(portal.url + path)
                viewer.locator(ready).first.wait_for()
                screenshot(viewer, shot)
            viewer.goto(portal.url + "/audit/")
            viewer.locator("table.audit-events").wait_for()
            screenshot(viewer, "audit")
            readme(viewer, "audit")
            viewer.goto(portal.url + "/clusters/demo/graph/?namespaces=bookinfo&graphType=versionedApp"
                        "&edges=rps,pct&badges=1")
            viewer.locator("#graph-live[data-state=live]").wait_for()
            viewer.wait_for_function("window.meshdeckGraph && window.meshdeckGraph.updates() >= 1")
            viewer.locator("#graph-history:not([hidden])").wait_for()
            viewer.wait_for_timeout(1500)  # the layout's last frame and the badges
            screenshot(viewer, "graph")
            readme(viewer, "graph")
    finally:
        portal.stop()
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()
    for target in README_SHOTS.values():
        print(f"docs/screenshots/{target}")
    print(f"every page: {OUT.relative_to(ROOT)}/ ({len(list(OUT.glob('*.png')))} files)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
