"""Acceptance: a traffic shift applied to the simulator between two snapshots.

reviews is split evenly over v1/v2/v3 (no VirtualService); an operator's change sends 80% to v2 and
20% to v3. The graph at T1 shows the old split, at T2 the new; the diff names the VirtualService and
the edges that moved; the timeline says who changed what between which snapshots, and when a
namespace's health changed.
"""
from __future__ import annotations

import time

import pytest

from apps.audit.actor import Actor
from apps.audit.services import Target, audit_record

pytestmark = pytest.mark.django_db

DR = {"apiVersion": "networking.istio.io/v1", "kind": "DestinationRule",
      "metadata": {"name": "reviews", "namespace": "bookinfo"},
      "spec": {"host": "reviews", "subsets": [{"name": f"v{i}", "labels": {"version": f"v{i}"}} for i in (1, 2, 3)]}}
VS = {"apiVersion": "networking.istio.io/v1", "kind": "VirtualService",
      "metadata": {"name": "reviews", "namespace": "bookinfo"},
      "spec": {"hosts": ["reviews"], "http": [{"route": [
          {"destination": {"host": "reviews", "subset": "v2"}, "weight": 80},
          {"destination": {"host": "reviews", "subset": "v3"}, "weight": 20}]}]}}


def reviews_split(client, at) -> dict[str, float]:
    resp = client.get("/api/clusters/demo/graph", {"at": at, "graphType": "workload", "namespaces": "bookinfo",
                                                     "injectServiceNodes": "false"})
    assert resp.status_code == 200, resp.content
    body = resp.json()
    nodes = {n["data"]["id"]: n["data"] for n in body["elements"]["nodes"]}
    return {nodes[e["data"]["target"]]["workload"]: e["data"]["rates"]["http"]
            for e in body["elements"]["edges"]
            if nodes[e["data"]["source"]].get("workload") == "productpage-v1"
            and nodes[e["data"]["target"]].get("workload", "").startswith("reviews-")}


@pytest.fixture(scope="module")
def _shifted(django_db_setup, django_db_blocker):
    """T1, the change (by an operator, audited as the changes app does), 61 s, T2. Once for the module."""
    from django.contrib.auth import get_user_model

    from apps.accounts.models import Grant
    from apps.accounts.roles import Role
    from apps.clusters.models import Cluster
    from apps.history.services import snapshot_take
    from apps.simulator.gateway import gateway_for_cluster

    with django_db_blocker.unblock():
        cluster = Cluster.objects.create(name="demo", kind=Cluster.Kind.SIMULATED, simulator_topology="demo")
        admin = get_user_model().objects.create_user(username="shift-admin", password="x" * 20)
        Grant.objects.create(user=admin, cluster=cluster, role=Role.ADMIN, namespace_pattern="*")
        gateway = gateway_for_cluster(cluster)
        gateway.apply_istio_object(DR)
        t1 = snapshot_take(cluster, now=time.time()).snapshot
        gateway.apply_istio_object(VS)
        audit_record("change.applied", actor=Actor(auth="session", user_id=admin.pk, username="operator-ann"),
                     target=Target(type="change", cluster="demo", namespace="bookinfo", name="reviews", id="12"),
                     message="change #12: traffic shift reviews v2 80% / v3 20%")
        time.sleep(61)  # a whole window of the new split
        t2 = snapshot_take(cluster, now=time.time()).snapshot
        yield cluster, admin, t1, t2
        from apps.history.models import Snapshot, SnapshotPart

        Snapshot.objects.all().delete()
        SnapshotPart.objects.all().delete()
        cluster.delete()
        admin.delete()


@pytest.fixture
def shifted(_shifted):
    return _shifted


def test_the_graph_at_t1_shows_the_old_split_and_at_t2_the_new(api_client, shifted):
    cluster, admin, t1, t2 = shifted
    client = api_client(admin)
    old = reviews_split(client, t1.taken_at.timestamp())
    assert set(old) == {"reviews-v1", "reviews-v2", "reviews-v3"}
    assert all(v == pytest.approx(10 / 3, rel=0.05) for v in old.values())
    new = reviews_split(client, t2.taken_at.timestamp() + 5)
    assert set(new) == {"reviews-v2", "reviews-v3"}
    assert new["reviews-v2"] == pytest.approx(8, rel=0.05) and new["reviews-v3"] == pytest.approx(2, rel=0.05)


def test_the_diff_names_the_change(api_client, shifted):
    cluster, admin, t1, t2 = shifted
    resp = api_client(admin).get("/api/clusters/demo/diff", {"from": t1.taken_at.timestamp(),
                                                            "to": t2.taken_at.timestamp(), "namespaces": "bookinfo"})
    assert resp.status_code == 200, resp.content
    d = resp.json()
    assert (d["from"]["id"], d["to"]["id"]) == (t1.pk, t2.pk)
    added = d["istioConfig"]["added"]
    assert [(o["kind"], o["namespace"], o["name"]) for o in added] == [("VirtualService", "bookinfo", "reviews")]
    assert "+    - destination:" in added[0]["yamlDiff"] and "weight: 80" in added[0]["yamlDiff"]
    removed = {(e["source"], e["target"]) for e in d["edges"]["removed"]}
    assert ("bookinfo/productpage-v1", "bookinfo/reviews-v1") in removed
    changed = {e["target"]: e for e in d["edges"]["changed"] if e["source"] == "bookinfo/productpage-v1"}
    assert changed["bookinfo/reviews-v2"]["rateChangePercent"] == pytest.approx(140, abs=8)
    assert "rate" in changed["bookinfo/reviews-v3"]["changed"]
    # reviews-v1 -> nothing, ratings now gets less from v3 (fails 4%) and more from v2
    assert d["workloads"] == {"added": [], "removed": [], "scaled": [], "restarted": [], "sidecars": []}


def test_the_diff_with_a_high_threshold_keeps_only_what_appeared_or_vanished(api_client, shifted):
    cluster, admin, t1, t2 = shifted
    d = api_client(admin).get("/api/clusters/demo/diff", {"from": t1.taken_at.timestamp(),
                                                         "to": t2.taken_at.timestamp(), "threshold": 500}).json()
    assert d["edges"]["removed"] and all("rate" not in e["changed"] for e in d["edges"]["changed"])


def test_the_timeline_says_who_changed_what_between_which_snapshots(api_client, shifted):
    cluster, admin, t1, t2 = shifted
    resp = api_client(admin).get("/api/clusters/demo/timeline", {"since": t1.taken_at.timestamp() - 1})
    assert resp.status_code == 200, resp.content
    tl = resp.json()
    assert [s["id"] for s in tl["snapshots"]] == [t1.pk, t2.pk]
    assert tl["snapshots"][0]["health"]["bookinfo"] in ("Healthy", "Degraded")
    change = next(e for e in tl["events"] if e["type"] == "change")
    assert change["who"] == "operator-ann" and "change #12" in change["what"] and change["link"]
    config = next(e for e in tl["events"] if e["type"] == "config")
    assert config["what"] == "VirtualService bookinfo/reviews added"
    assert config["seenBetween"] == [t1.taken_at.timestamp(), t2.taken_at.timestamp()]
    assert config["who"] == "operator-ann" and config["link"].startswith("/clusters/demo/history/diff/?from=")
    assert change["at"] <= config["at"]


def test_the_pages_show_the_change(page_client, shifted):
    cluster, admin, t1, t2 = shifted
    client = page_client(admin)
    page = client.get(f"/clusters/demo/history/?since={t1.taken_at.timestamp() - 1:.0f}")
    assert page.status_code == 200
    assert b"VirtualService bookinfo/reviews added" in page.content and b"operator-ann" in page.content
    diff = client.get(f"/clusters/demo/history/diff/?from={t1.taken_at.timestamp():.0f}"
                      f"&to={t2.taken_at.timestamp():.0f}")
    assert diff.status_code == 200 and b"weight: 80" in diff.content and b"reviews-v1" in diff.content
