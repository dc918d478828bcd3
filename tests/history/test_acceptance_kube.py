"""Acceptance on the real kube-apiserver: a VirtualService created between two snapshots.

The cluster has no Prometheus, so its snapshots are "partial" (inventory and config, no traffic):
the diff still names the new VirtualService, and the Istio config read at T1 does not have it while
at T2 it does. Before that, the API server is unreachable: an "unreachable" record, then recovery.
"""
from __future__ import annotations

import json
import time

import pytest

from apps.clusters.models import Cluster
from apps.history.models import SnapshotSchedule
from apps.history.services import snapshot_take
from tests.support.localservers import closed_port

pytestmark = [pytest.mark.django_db, pytest.mark.kube]


def test_a_virtualservice_created_between_two_snapshots(kube_apiserver, kube_namespace, api_client, make_user):
    from apps.accounts.roles import Role

    cluster = Cluster.objects.create(name="kube", kind=Cluster.Kind.KUBERNETES,
                                     api_server_url=f"https://127.0.0.1:{closed_port()}")
    cluster.credentials = {"token": kube_apiserver.admin_token, "ca_pem": kube_apiserver.ca_pem}
    cluster.save()
    now = time.time()
    down = snapshot_take(cluster, now=now - 180).snapshot
    assert down.status == "unreachable" and down.reason.startswith("API server:")

    cluster.api_server_url = kube_apiserver.url
    cluster.save()
    ns = kube_namespace("hist")
    t1 = snapshot_take(cluster, now=now - 120, respect_backoff=False).snapshot
    assert t1.status == "partial" and "Prometheus" in t1.reason and t1.counts["by_namespace"][ns]
    assert SnapshotSchedule.objects.get(cluster=cluster).failures == 2  # partial is still a failure to back off

    cluster.gateway().apply_istio_object({
        "apiVersion": "networking.istio.io/v1", "kind": "VirtualService",
        "metadata": {"name": "web", "namespace": ns},
        "spec": {"hosts": ["web"], "http": [{"route": [{"destination": {"host": "web"}, "weight": 100}]}]}})
    t2 = snapshot_take(cluster, now=now - 60).snapshot
    assert t2.status == "partial" and t2.config_id != t1.config_id and t2.inventory_id == t1.inventory_id

    admin = make_user("kube-admin", cluster=cluster, role=Role.ADMIN)
    client = api_client(admin)
    d = client.get("/api/clusters/kube/diff", {"from": t1.taken_at.timestamp(), "to": t2.taken_at.timestamp(),
                                              "namespaces": ns}).json()
    assert [(o["kind"], o["name"]) for o in d["istioConfig"]["added"]] == [("VirtualService", "web")]
    assert "+  name: web" in d["istioConfig"]["added"][0]["yamlDiff"]
    assert d["traffic"].startswith("not compared")

    def names(at):
        resp = client.get("/api/clusters/kube/istio/", {"at": at, "namespace": ns})
        assert resp.status_code == 200, resp.content
        return json.loads(resp["X-Meshdeck-Source"])["snapshot"]["id"], {r["name"] for r in resp.json()["results"]}

    assert names(t1.taken_at.timestamp() + 1) == (t1.pk, set())
    assert names(t2.taken_at.timestamp() + 1) == (t2.pk, {"web"})
    timeline = client.get("/api/clusters/kube/timeline", {"since": now - 200, "namespaces": ns}).json()
    kinds = [(e["type"], e["what"]) for e in timeline["events"]]
    assert ("config", f"VirtualService {ns}/web added") in kinds
    assert any(t == "snapshot" and "unreachable" in w for t, w in kinds)
