"""Inventory and Istio-config reads take a source: a stored inventory gives what the live cluster gave.

The history app will hand these selectors a snapshot; here the snapshot is the
demo cluster's inventory and traffic of one moment, through their stored JSON.
"""
from __future__ import annotations

import time

import pytest

from apps.graphs.sources import live_source
from apps.inventory import selectors as inventory
from apps.inventory.overview import overview_for_user
from apps.meshconfig import selectors as config
from apps.meshconfig.meshview import mesh_view
from tests.graphs.snapshots import assert_same, snapshot_of, stored_copy

pytestmark = pytest.mark.django_db


def _reads(user, source):
    """Everything the namespaces, workloads, services and Istio config pages read."""
    view = mesh_view(user, source)
    summaries = inventory.namespace_summaries(view)
    health_error = inventory.attach_health(user, view, summaries)
    return {
        "namespaces": summaries,
        "health_error": health_error,
        "workloads": inventory.workload_list(view),
        "workload": inventory.workload_detail(view, "bookinfo", "reviews-v2"),
        "services": inventory.service_list(view),
        "service": inventory.service_detail(view, "bookinfo", "reviews"),
        "config": [(r.object, r.validation) for r in config.config_list(view)],
        "validations": view.validations,
    }


@pytest.mark.parametrize("who", ["cluster_admin", "viewer"])
def test_pages_read_from_a_stored_source_equal_the_live_ones(request, sim_cluster, who, monkeypatch):
    user = request.getfixturevalue(who)
    # a finding, so that validation results are compared too
    sim_cluster.gateway().apply_istio_object({
        "apiVersion": "networking.istio.io/v1", "kind": "DestinationRule",
        "metadata": {"name": "reviews-typo", "namespace": "bookinfo"},
        "spec": {"host": "reviewz", "subsets": [{"name": "v1", "labels": {"version": "v1"}}]},
    })
    t = int(time.time()) - 5
    monkeypatch.setattr("apps.graphs.sources.time.time", lambda: float(t))  # live health: the same minute
    live, stored = snapshot_of(sim_cluster, t)
    from_live, from_store = _reads(user, live), _reads(user, stored)
    assert_same(from_store, from_live)
    assert from_live["health_error"] == "" and {n.health for n in from_live["namespaces"]} - {None}
    assert any(v.checks for v in from_live["validations"].values())
    if who == "viewer":
        assert [n.name for n in from_store["namespaces"]] == ["bookinfo"]


def test_the_overview_reads_each_cluster_from_the_source_it_is_given(cluster_admin, sim_cluster):
    t = int(time.time()) - 5
    live, stored = snapshot_of(sim_cluster, t)
    seen = []

    def source_for(cluster):
        seen.append(cluster.name)
        return stored

    [summary] = overview_for_user(cluster_admin, source_for=source_for)
    assert seen == ["demo"] and summary.error == "" and summary.health_error == ""
    assert summary.totals == {"namespaces": 4, "workloads": len(stored.inventory().workloads),
                              "services": len(stored.inventory().services)}
    assert {n.name: n.health for n in summary.namespaces}["bookinfo"] == "Degraded"


def test_a_stored_inventory_shows_the_past_not_the_present(cluster_admin, sim_cluster):
    """An object created after the snapshot is on the live pages only."""
    t = int(time.time()) - 5
    _, stored = snapshot_of(sim_cluster, t)
    sim_cluster.gateway().apply_istio_object({
        "apiVersion": "networking.istio.io/v1", "kind": "DestinationRule",
        "metadata": {"name": "later", "namespace": "bookinfo"}, "spec": {"host": "ratings"},
    })
    later = stored_copy(live_source(sim_cluster), query_time=t)
    names = {r.object.name for r in config.config_list(mesh_view(cluster_admin, stored))}
    assert "later" not in names
    assert "later" in {r.object.name for r in config.config_list(mesh_view(cluster_admin, later))}
