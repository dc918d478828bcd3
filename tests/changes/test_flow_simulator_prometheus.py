"""Acceptance (issue 10): end to end on the simulator, read through a real Prometheus scraping its exporter.

A reviewed 80/20 shift of reviews to v2/v3 is applied through the API; one rate window later the
graph shows about 80/20 with v1 idle; after the reviewed rollback, the even split again. The
expected numbers come from the pinned Bookinfo scenario (docs/simulator.md): productpage sends
10 req/s to reviews, a third to each version without a VirtualService.
"""
from __future__ import annotations

import threading
import time

import pytest
from django.core.management import call_command

from apps.changes.models import ChangeRequest
from apps.simulator.management.commands.simulator_exporter import run_cluster_exporter

from .flow_helpers import PASSWORD, SHIFT_80_20

pytestmark = [pytest.mark.prometheus, pytest.mark.django_db(transaction=True)]
WINDOW = 60  # the graph's shortest duration; waited out after each apply so the window holds only the new split


def reviews_rates(client) -> dict[str, float]:
    r = client.get("/api/clusters/demo/graph", {"namespaces": "bookinfo", "graphType": "workload",
                                                "injectServiceNodes": "false", "duration": f"{WINDOW}s"})
    assert r.status_code == 200, r.content
    nodes = {n["data"]["id"]: n["data"] for n in r.json()["elements"]["nodes"]}
    out = {}
    for e in r.json()["elements"]["edges"]:
        src, dst = nodes[e["data"]["source"]], nodes[e["data"]["target"]]
        if src.get("workload") == "productpage-v1" and (dst.get("workload") or "").startswith("reviews-"):
            out[dst["workload"]] = float(e["data"]["rates"].get("http") or 0)
    return out


def approve_and_apply(client, filed):
    """Approve the change ``filed`` answered (a 201 of the API), apply it; when it was applied."""
    assert filed.status_code == 201, filed.content
    change_id = filed.json()["id"]
    approved = client.post(f"/api/changes/{change_id}/approve/", {"password": PASSWORD}, format="json")
    assert approved.json()["status"] == "approved", approved.content
    r = client.post(f"/api/changes/{change_id}/apply/", {"password": PASSWORD}, format="json")
    assert r.status_code == 200, r.content
    change = ChangeRequest.objects.get(pk=change_id)
    assert change.status == "applied", change.error_message
    return time.time()


def wait_window_after(applied_at: float) -> None:
    time.sleep(max(0.0, applied_at + WINDOW + 4 - time.time()))  # + scrape interval and Prometheus's lag


def test_a_reviewed_shift_moves_the_graph_and_its_rollback_moves_it_back(
        sim_cluster, operator, approver, approver2, api_client, prometheus_factory, eager_tasks):
    _, server = run_cluster_exporter("demo", "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        prom = prometheus_factory([f"127.0.0.1:{server.server_address[1]}"], scrape_interval="1s")
        sim_cluster.prometheus_url = prom.url
        sim_cluster.save()
        prom.wait_for_targets_up()
        op, ap, ap2 = api_client(operator), api_client(approver), api_client(approver2)

        filed = op.post("/api/clusters/demo/changes/", {**SHIFT_80_20, "submit": True}, format="json")
        change_id = filed.json()["id"]
        wait_window_after(approve_and_apply(ap, filed))
        rates = reviews_rates(op)
        total = sum(rates.values())
        assert total == pytest.approx(10, rel=0.05), rates
        assert rates.get("reviews-v2", 0) / total == pytest.approx(0.8, abs=0.03), rates
        assert rates.get("reviews-v3", 0) / total == pytest.approx(0.2, abs=0.03), rates
        assert rates.get("reviews-v1", 0) == pytest.approx(0, abs=0.05), rates  # v1 idle

        wait_window_after(approve_and_apply(ap2, op.post(f"/api/changes/{change_id}/rollback/", format="json")))
        rates = reviews_rates(op)
        for version in ("reviews-v1", "reviews-v2", "reviews-v3"):
            assert rates.get(version, 0) == pytest.approx(10 / 3, rel=0.06), rates
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
    # every step left its event, and the chain is intact
    call_command("audit", "verify")
