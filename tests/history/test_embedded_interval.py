"""`MESHDECK_SNAPSHOT_INTERVAL=10 make run`: the embedded default snapshots the demo cluster every 10 s."""
from __future__ import annotations

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
