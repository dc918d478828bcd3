"""Reads at a past time T answer from the nearest snapshot at or before T, and say which one."""
from __future__ import annotations

import json
import time

import pytest
from django.test import override_settings

from apps.clusters.sources import SNAPSHOT
from apps.graphs.selectors import graph_for_user, parse_graph_params
from apps.graphs.sources import live_source

from ..graphs.snapshots import assert_same, graph_dict

pytestmark = pytest.mark.django_db


def graph(client, **params):
    resp = client.get("/api/clusters/demo/graph", params)
    assert resp.status_code == 200, resp.content
    return resp.json()


def test_graph_at_t_comes_from_the_snapshot_at_or_before_t(api_client, cluster_admin, take):
    now = time.time()
    older, newer = take(at=now - 300), take(at=now - 60)
    body = graph(api_client(cluster_admin), at=str(now - 100), graphType="workload")
    src = body["source"]
    assert src["kind"] == SNAPSHOT and src["snapshot"]["id"] == older.pk
    assert src["snapshot"]["taken_at"] == older.taken_at.timestamp()
    assert src["snapshot"]["age_seconds"] == pytest.approx(200, abs=1)
    assert body["timestamp"] == int(older.taken_at.timestamp()) and f"snapshot #{older.pk}" in src["description"]
    assert graph(api_client(cluster_admin), at=str(now - 30))["source"]["snapshot"]["id"] == newer.pk


@override_settings(MESHDECK_SNAPSHOT_RATE_BITS=52)  # bit for bit (the default keeps 1 part in a million)
def test_the_stored_graph_is_the_graph_live_gave_for_that_window(cluster_admin, take, sim_cluster):
    from apps.history.sources import HistoryResolver

    t = int(time.time()) - 5
    snap = take(at=t)
    params = parse_graph_params({"graphType": "versionedApp", "queryTime": str(t), "idleNodes": "true"})
    live = graph_for_user(cluster_admin, live_source(sim_cluster), params)
    stored = graph_for_user(cluster_admin, HistoryResolver().graph_at(sim_cluster, t + 30, 60), params)
    assert snap.taken_at.timestamp() == t
    assert_same(graph_dict(stored), graph_dict(live))


def test_before_the_first_snapshot_is_a_404_that_says_so(api_client, cluster_admin, take):
    snap = take()
    resp = api_client(cluster_admin).get("/api/clusters/demo/graph", {"at": snap.taken_at.timestamp() - 3600})
    assert resp.status_code == 404 and resp.json()["code"] == "no_snapshot"
    assert "/api/clusters/demo/snapshots/" in resp.json()["detail"]


@pytest.mark.parametrize("bad", ["soon", "-5", "nan"])
def test_a_bad_at_is_a_400(api_client, cluster_admin, bad):
    resp = api_client(cluster_admin).get("/api/clusters/demo/graph", {"at": bad})
    assert resp.status_code == 400 and "at" in resp.json()["detail"]


# Found by the API fuzzer: floats no date can hold used to overflow datetime and answer 500.
@pytest.mark.parametrize("path,param", [
    ("/api/clusters/demo/graph", "at"),
    ("/api/clusters/demo/namespaces/", "at"),
    ("/api/clusters/demo/namespaces/bookinfo/workloads/", "at"),
    ("/api/clusters/demo/namespaces/bookinfo/services/", "at"),
    ("/api/clusters/demo/namespaces/bookinfo/apps/productpage-v1/", "at"),
    ("/api/clusters/demo/istio/bookinfo/VirtualService/reviews/", "at"),
    ("/api/clusters/demo/snapshots/", "since"),
    ("/api/clusters/demo/snapshots/", "until"),
    ("/api/clusters/demo/timeline", "until"),
    ("/api/clusters/demo/diff", "from"),
])
@pytest.mark.parametrize("huge", ["5.02e238", "2.1e16", "inf"])
def test_a_time_beyond_year_9999_is_a_400_naming_the_parameter(api_client, cluster_admin, take, path, param, huge):
    take()
    resp = api_client(cluster_admin).get(path, {param: huge})
    assert resp.status_code == 400, resp.content
    assert resp.json()["errors"][param] and "year 9999" in resp.json()["detail"]


def test_a_future_at_is_a_400(api_client, cluster_admin, take):
    take()
    resp = api_client(cluster_admin).get("/api/clusters/demo/graph", {"at": time.time() + 3600})
    assert resp.status_code == 400


@override_settings(MESHDECK_SNAPSHOT_RATE_BITS=52)
def test_a_longer_duration_is_built_from_the_snapshots_covering_it_exactly(api_client, cluster_admin, take,
                                                                          sim_cluster):
    t = int(time.time()) - 5
    snaps = [take(at=t - 120), take(at=t - 60), take(at=t)]
    body = graph(api_client(cluster_admin), at=str(t), duration="3m", graphType="workload")
    window = body["source"]["window"]
    assert window == {"exact": True, "snapshots": [s.pk for s in reversed(snaps)], "coverage": 1.0}
    assert body["duration"] == 180
    # the same numbers live over the 3 minutes (the simulator's counters are exact integrals)
    live = graph(api_client(cluster_admin), queryTime=str(t), duration="3m", graphType="workload")
    rates = {(e["data"]["source"], e["data"]["target"]): e["data"]["rates"] for e in live["elements"]["edges"]}
    stored = {(e["data"]["source"], e["data"]["target"]): e["data"]["rates"] for e in body["elements"]["edges"]}
    assert_same(stored, rates)


def test_a_gap_in_the_snapshots_makes_the_window_approximate(api_client, cluster_admin, take):
    t = int(time.time()) - 5
    take(at=t - 120)
    take(at=t)
    window = graph(api_client(cluster_admin), at=str(t), duration="3m")["source"]["window"]
    assert window["exact"] is False and window["coverage"] == pytest.approx(2 / 3, abs=0.01)


def test_the_latest_graph_comes_from_a_fresh_snapshot_and_live_otherwise(api_client, cluster_admin, take):
    client = api_client(cluster_admin)
    assert graph(client)["source"]["kind"] == "live"
    snap = take()
    body = graph(client)
    assert body["source"]["kind"] == SNAPSHOT and body["source"]["snapshot"]["id"] == snap.pk
    # another window, or an explicit time, is read live
    assert graph(client, duration="5m")["source"]["kind"] == "live"
    assert graph(client, queryTime=str(int(time.time())))["source"]["kind"] == "live"
    with override_settings(MESHDECK_SNAPSHOT_FRESH_SECONDS=0):
        assert graph(client)["source"]["kind"] == "live"


def test_editing_the_health_tolerances_recolours_a_graph_already_served_from_a_snapshot(api_client, cluster_admin,
                                                                                        take, sim_cluster):
    from apps.clusters.services import cluster_update

    take()
    client = api_client(cluster_admin)

    def details_health(body):
        return next(n["data"]["healthStatus"] for n in body["elements"]["nodes"]
                    if n["data"].get("workload") == "details-v1")

    first = graph(client, graphType="workload")
    assert first["source"]["kind"] == SNAPSHOT and details_health(first) == "Degraded"  # 2% 5xx, Kiali's defaults
    cluster_update(cluster=sim_cluster, health_tolerances=[{"code": "5XX", "protocol": "http",
                                                             "degraded": 0.5, "failure": 1}])
    again = graph(client, graphType="workload")
    assert again["source"]["snapshot"]["id"] == first["source"]["snapshot"]["id"]
    assert details_health(again) == "Failure"


def test_a_stale_snapshot_is_not_served_as_the_latest(api_client, cluster_admin, take):
    take(at=time.time() - 3600)
    assert graph(api_client(cluster_admin))["source"]["kind"] == "live"


def test_the_kiali_endpoint_travels_too(api_client, cluster_admin, take):
    snap = take()
    resp = api_client(cluster_admin).get("/api/namespaces/graph", {"namespaces": "bookinfo", "at": time.time()})
    assert resp.status_code == 200
    assert json.loads(resp["X-Meshdeck-Source"])["snapshot"]["id"] == snap.pk


def test_inventory_and_istio_config_at_t(api_client, cluster_admin, take, sim_cluster):
    from apps.simulator.gateway import gateway_for_cluster

    snap = take()
    gateway_for_cluster(sim_cluster).apply_istio_object({
        "apiVersion": "networking.istio.io/v1", "kind": "VirtualService",
        "metadata": {"name": "added-later", "namespace": "bookinfo"},
        "spec": {"hosts": ["details"], "http": [{"route": [{"destination": {"host": "details"}}]}]}})
    client = api_client(cluster_admin)
    at = str(snap.taken_at.timestamp() + 1)
    names_now = {r["name"] for r in client.get("/api/clusters/demo/istio/").json()["results"]}
    past = client.get("/api/clusters/demo/istio/", {"at": at})
    assert "added-later" in names_now and past.status_code == 200
    assert "added-later" not in {r["name"] for r in past.json()["results"]}
    assert json.loads(past["X-Meshdeck-Source"])["snapshot"]["id"] == snap.pk
    workloads = client.get("/api/clusters/demo/namespaces/bookinfo/workloads/", {"at": at})
    assert workloads.status_code == 200 and json.loads(workloads["X-Meshdeck-Source"])["snapshot"]["id"] == snap.pk
    assert {w["name"] for w in workloads.json()["results"]} >= {"productpage-v1", "reviews-v3"}


def test_a_viewer_sees_only_their_namespaces_in_the_past_too(api_client, viewer, take):
    take()
    body = graph(api_client(viewer), at=str(time.time()), graphType="workload")
    named = {n["data"].get("namespace") for n in body["elements"]["nodes"] if not n["data"].get("isInaccessible")}
    assert named <= {"bookinfo", None}
    resp = api_client(viewer).get("/api/clusters/demo/graph", {"at": time.time(), "namespaces": "grpc-demo"})
    assert resp.status_code == 404


def test_by_default_rates_are_kept_to_one_part_in_a_million(api_client, cluster_admin, take):
    t = int(time.time()) - 5
    take(at=t)
    client = api_client(cluster_admin)
    stored = graph(client, at=str(t), graphType="workload")
    live = graph(client, queryTime=str(t), graphType="workload")

    def rates(body):
        return {(e["data"]["source"], e["data"]["target"]): e["data"]["rates"] for e in body["elements"]["edges"]}

    a, b = rates(stored), rates(live)
    assert a.keys() == b.keys()
    for key in a:
        for name, value in b[key].items():
            assert a[key][name] == pytest.approx(value, rel=2e-6), (key, name)
