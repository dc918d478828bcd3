"""`MESHDECK_SNAPSHOT_INTERVAL=10 make run`: the embedded default snapshots the demo cluster every 10 s."""
from __future__ import annotations

import threading
import time

import pytest

from tests.support.portal_process import PortalProcess


@pytest.fixture
def portal_every_10s(tmp_path):
    portal = PortalProcess(tmp_path / "portal")
    portal.env["MESHDECK_SNAPSHOT_INTERVAL"] = "10"
    portal.start()
    yield portal
    portal.stop()


def test_the_embedded_default_snapshots_every_10_seconds(portal_every_10s):
    session = portal_every_10s.login("admin")
    deadline = time.monotonic() + 120
    rows: list = []
    while time.monotonic() < deadline:
        resp = session.get(portal_every_10s.url + "/api/clusters/demo/snapshots/", timeout=30)
        assert resp.status_code == 200, resp.text[:300]
        rows = resp.json()["results"]
        if len(rows) >= 3:
            break
        time.sleep(2)
    assert len(rows) >= 3, rows
    times = sorted(r["taken_at"] for r in rows)
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    assert all(r["status"] == "ok" for r in rows)
    # one per 10 s bucket: never two in a bucket, none skipped while the portal ran
    assert {int(t) // 10 for t in times} == set(range(int(times[0]) // 10, int(times[-1]) // 10 + 1)), gaps


def test_frequent_snapshots_and_busy_users_share_the_embedded_sqlite_without_locking(tmp_path):
    """SQLite has one writer at a time: snapshots every 2 s while four people log in and out (each
    login writes a session and an audit event) must wait their turn, never fail "database is locked"."""
    portal = PortalProcess(tmp_path / "portal")
    portal.env["MESHDECK_SNAPSHOT_INTERVAL"] = "2"
    portal.start()
    failures: list = []

    def busy(user: str) -> None:
        end = time.monotonic() + 30
        while time.monotonic() < end:
            session = portal.login(user)
            for path in ("/api/clusters/demo/graph?graphType=workload", "/api/clusters/demo/snapshots/"):
                resp = session.get(portal.url + path, timeout=60)
                if resp.status_code != 200:
                    failures.append((user, path, resp.status_code, resp.text[:200]))

    try:
        threads = [threading.Thread(target=busy, args=(u,)) for u in ("admin", "operator", "approver", "viewer")]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        rows = portal.login("admin").get(portal.url + "/api/clusters/demo/snapshots/", timeout=30).json()["results"]
    finally:
        portal.stop()
    log = (portal.data_dir / "portal.log").read_text()
    assert not failures, failures[:3]
    assert "database is locked" not in log, log[log.find("database is locked") - 3000:][:4000]
    assert len(rows) >= 5 and all(r["status"] == "ok" for r in rows), rows
