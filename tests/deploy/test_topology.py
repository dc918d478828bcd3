"""The production topology with real processes (scripts/topology.py): two uvicorn web processes
behind a round-robin balancer, a Celery worker and Celery beat, on the real PostgreSQL and Redis,
production settings (TLS, secure cookies).

* A change approved through web process A is announced to a WebSocket client connected to web
  process B (the Redis channel layer between processes): the requester's change notifications.
* Work scheduled by beat runs in the worker, and both web processes serve its result: the periodic
  connection check, and the snapshots (django-celery-beat's database schedule, every 5 s here).
"""
from __future__ import annotations

import os
import time

import pytest

from tests.deploy.topology_support import receive_json, running_topology, session_for, token_for, websocket
from tests.support.services import require_redis

# Setting up migrates a new database and, when static/ changed, collects and compresses the static
# files once (var/topology-static): minutes on a busy 2-core machine, more than the default 300 s.
pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.timeout(1200)]


@pytest.fixture(scope="module")
def topology(tmp_path_factory):
    database_url = os.environ.get("DATABASE_URL", "")
    if not database_url.startswith("postgres"):
        message = "needs PostgreSQL: set DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres"
        if os.environ.get("CI"):
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    redis_url = require_redis()
    with running_topology(tmp_path_factory.mktemp("topology"), database_url, redis_url, web=2,
                          worker_concurrency=1, env={"CLUSTER_CHECK_INTERVAL_SECONDS": "2",
                                                    "MESHDECK_SNAPSHOT_INTERVAL": "5"}) as runner:
        yield runner
        runner.check_alive()


def test_two_web_processes_a_worker_and_beat_run_on_postgres_and_redis(topology):
    assert set(topology.processes) == {"web-a", "web-b", "worker", "beat"}
    assert len(set(topology.web_ports)) == 2
    assert "Connected to redis://" in topology.processes["worker"].log()
    assert "beat: Starting" in topology.processes["beat"].log()


def test_a_login_through_the_balancer_holds_on_both_web_processes(topology):
    session = session_for(topology, topology.url, "viewer")
    before = list(topology.balancer.connections)
    for _ in range(6):
        session.close()  # a new connection each time: the balancer alternates per connection
        response = session.get(topology.url + "/clusters/demo/graph/", timeout=30)
        assert response.status_code == 200 and "bookinfo" in response.text
    served = [after - was for after, was in zip(topology.balancer.connections, before, strict=True)]
    assert all(n >= 2 for n in served), served
    # production settings: the session cookie is Secure and HttpOnly
    cookie = next(c for c in session.cookies if c.name == "sessionid")
    assert cookie.secure and cookie.has_nonstandard_attr("HttpOnly")


# --- a write on A, heard on B ---------------------------------------------------------------------

def _api(topology, web_a: str, username: str):
    session = session_for(topology, web_a, username)
    session.headers["Authorization"] = f"Bearer {token_for(topology, web_a, username, scope='write')}"
    return session


def test_a_change_approved_through_web_a_is_announced_on_web_b(topology):
    web_a, web_b = topology.web_urls
    filed = _api(topology, web_a, "operator").post(web_a + "/api/clusters/demo/changes/", json={
        "kind": "traffic_shift", "namespace": "bookinfo", "service": "reviews",
        "weights": {"v1": 0, "v2": 80, "v3": 20}, "submit": True}, timeout=60)
    assert filed.status_code == 201 and filed.json()["status"] == "submitted", filed.text
    change_id = filed.json()["id"]
    requester = session_for(topology, web_b, "operator")
    with websocket(topology, web_b, "/ws/changes/?cluster=demo", requester) as ws:
        assert receive_json(ws, timeout=30) == {"type": "subscribed", "cluster": "demo"}
        started = time.monotonic()
        approved = _api(topology, web_a, "approver").post(
            f"{web_a}/api/changes/{change_id}/approve/", json={"password": topology.passwords["approver"]},
            timeout=60)
        assert approved.status_code == 200 and approved.json()["status"] == "approved", approved.text
        message = receive_json(ws, timeout=30)
        assert message["type"] == "change.status", message
        assert message["change"]["id"] == change_id and message["change"]["status"] == "approved", message
        # Heard through the channel layer, not a poll.
        assert time.monotonic() - started < 30


# --- work of the worker, served by both -------------------------------------------------------------

def test_beats_schedule_runs_in_the_worker_and_both_web_processes_serve_the_result(topology):
    sessions = [session_for(topology, url, "admin") for url in topology.web_urls]

    def checked_at(session, url):
        response = session.get(url + "/api/clusters/demo/", timeout=30)
        response.raise_for_status()
        return response.json()["last_checked_at"], response.json()["last_check_ok"]

    first, _ = checked_at(sessions[0], topology.web_urls[0])
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        seen = [checked_at(s, url) for s, url in zip(sessions, topology.web_urls, strict=True)]
        if seen[0][0] and seen[0][0] != first and seen[0] == seen[1]:
            break
        time.sleep(1)
    else:
        pytest.fail(f"no new connection check served by both web processes within 60 s: {first} -> {seen}")
    assert seen[0][1] is True  # the simulated cluster answers
    worker_log = topology.processes["worker"].log()
    assert "apps.clusters.tasks.cluster_check_connection" in worker_log and "succeeded" in worker_log
    assert "Sending due task clusters-check-connections" in topology.processes["beat"].log()


def test_snapshots_taken_by_the_worker_are_served_by_both_web_processes(topology):
    sessions = [session_for(topology, url, "admin") for url in topology.web_urls]

    def snapshots(session, url):
        response = session.get(url + "/api/clusters/demo/snapshots/", timeout=30)
        response.raise_for_status()
        body = response.json()
        return body["results"] if isinstance(body, dict) else body

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        seen = [snapshots(s, url) for s, url in zip(sessions, topology.web_urls, strict=True)]
        if len(seen[0]) >= 2 and seen[0][:2] == seen[1][:2]:
            break
        time.sleep(2)
    else:
        pytest.fail(f"the web processes did not serve the same two snapshots within 120 s: {seen}")
    newest = seen[0][0]
    assert newest["status"] == "ok" and newest["counts"], newest
    assert "apps.history.tasks.snapshot_cluster" in topology.processes["worker"].log()
