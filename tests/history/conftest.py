"""History fixtures: the demo cluster, snapshots taken of it at chosen moments."""
from __future__ import annotations

import time

import pytest


@pytest.fixture
def take(sim_cluster):
    """take(at=None, cluster=None, **kw) -> the Snapshot stored (asserts one was)."""
    from apps.history.services import snapshot_take

    def run(at=None, cluster=None, **kw):
        result = snapshot_take(cluster or sim_cluster, now=at if at is not None else time.time(), **kw)
        assert result.created, result.skipped
        return result.snapshot

    return run
