"""A simulated cluster is one mesh for every process: its changes live in the database."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import urllib.request
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import connection, transaction

from apps.clusters.gateway import ObjectConflict, ObjectInvalid, ObjectNotFound
from apps.clusters.models import Cluster
from apps.graphs.selectors import GraphParams, graph_for_user
from apps.graphs.sources import live_source
from apps.simulator.management.commands.simulator_exporter import run_cluster_exporter
from apps.simulator.models import SimulatedMeshEvent
from apps.simulator.registry import reset_meshes
from apps.simulator.store import PersistentMesh, mesh_from_log, state_for_cluster
from tests.support.concurrency import run_in_threads
from tests.support.services import require_postgres

from .helpers import FakeClock, total
from .test_traffic_follows_config import DR_REVIEWS, SUSPEND_RATINGS, VS_80_20

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.django_db


def _changes(mesh: PersistentMesh, clock: FakeClock) -> None:
    """One of every kind of write, each at its own instant."""
    clock.advance(30)
    mesh.apply_istio_object(DR_REVIEWS)
    clock.advance(5)
    mesh.apply_istio_object(VS_80_20)
    clock.advance(5)
    mesh.apply_istio_object(SUSPEND_RATINGS)
    clock.advance(5)
    mesh.patch_namespace_labels("bookinfo", {"istio-injection": None})
    mesh.restart_workload("Deployment", "bookinfo", "ratings-v1")
    clock.advance(5)
    mesh.patch_workload_template("Deployment", "bookinfo", "details-v1", annotations={"x": "1"})
    clock.advance(5)
    mesh.delete_istio_object("VirtualService", "bookinfo", "ratings")
    clock.advance(20)


def _fingerprint(mesh, clock: FakeClock) -> tuple:
    """Everything a reader can see: objects (resourceVersions, uids), pods, counters and rates over the changes."""
    now = clock()
    return (
        mesh.list_namespaces(), mesh.list_workloads(), mesh.list_services(), mesh.list_istio_objects(),
        mesh.render_exposition(now), mesh.render_exposition(now - 50), mesh.series_rates(60, now),
        mesh.series_rates(45, now - 10),
    )


def test_two_copies_fed_by_the_same_log_agree_exactly(sim_cluster):
    state = state_for_cluster(sim_cluster)
    clock = FakeClock(state.started_at + 100)  # events never take effect before the mesh started
    writer = PersistentMesh(state, clock=clock)
    _changes(writer, clock)
    state.refresh_from_db()
    assert state.sequence == 7 and state.events.count() == 7
    replayed = mesh_from_log(state, clock=clock)  # what a process that never saw the writes builds
    assert _fingerprint(replayed, clock) == _fingerprint(writer, clock)
    rates = replayed.series_rates(20, clock())
    pp = dict(reporter="destination", source_workload="productpage-v1")
    assert total(rates, destination_workload="reviews-v2", **pp) == pytest.approx(8.0)
    assert total(rates, destination_workload="reviews-v3", **pp) == pytest.approx(2.0)


def test_a_fresh_process_keeps_the_applied_config(sim_cluster):
    gateway = sim_cluster.gateway()
    gateway.apply_istio_object(DR_REVIEWS)
    applied = gateway.apply_istio_object(VS_80_20)
    gateway.restart_workload("Deployment", "bookinfo", "reviews-v1")
    pods = [p.name for p in gateway.get_workload("Deployment", "bookinfo", "reviews-v1").pods]
    reset_meshes()  # a restart: nothing of this cluster is left in memory
    again = Cluster.objects.get(pk=sim_cluster.pk).gateway()
    vs = again.get_istio_object("VirtualService", "bookinfo", "reviews")
    assert vs.resource_version == applied.resource_version and vs.spec == VS_80_20["spec"]
    assert vs.metadata["uid"] == applied.metadata["uid"]
    assert [p.name for p in again.get_workload("Deployment", "bookinfo", "reviews-v1").pods] == pods


def test_a_stale_resource_version_is_refused_and_not_logged(sim_cluster):
    gateway = sim_cluster.gateway()
    first = gateway.apply_istio_object(VS_80_20)
    gateway.apply_istio_object(VS_80_20)  # someone else's write moves the resourceVersion on
    with pytest.raises(ObjectConflict, match="was modified"):
        gateway.apply_istio_object(VS_80_20, resource_version=first.resource_version)
    with pytest.raises(ObjectNotFound):
        gateway.delete_istio_object("VirtualService", "bookinfo", "nope")
    with pytest.raises(ObjectInvalid):
        gateway.apply_istio_object({"kind": "VirtualService", "metadata": {"name": "x", "namespace": "bookinfo"},
                                    "spec": {"hosts": ["x"], "http": [{"route": [{"destination": {}}]}]}})
    assert SimulatedMeshEvent.objects.filter(state__cluster=sim_cluster).count() == 2
    reset_meshes()
    rv = sim_cluster.gateway().get_istio_object("VirtualService", "bookinfo", "reviews").resource_version
    assert rv != first.resource_version


def test_a_rolled_back_write_leaves_no_trace(sim_cluster):
    gateway = sim_cluster.gateway()
    with pytest.raises(RuntimeError):
        with transaction.atomic():
            gateway.apply_istio_object(VS_80_20)
            assert gateway.get_istio_object("VirtualService", "bookinfo", "reviews")  # visible inside
            raise RuntimeError("the audit write failed")
    # this process applied it in memory; the log says it never happened, so the copy is rebuilt
    with pytest.raises(ObjectNotFound):
        gateway.get_istio_object("VirtualService", "bookinfo", "reviews")
    after = gateway.apply_istio_object(VS_80_20)
    reset_meshes()
    assert sim_cluster.gateway().get_istio_object("VirtualService", "bookinfo", "reviews").resource_version \
        == after.resource_version


def test_changing_the_topology_starts_the_cluster_over(sim_cluster):
    sim_cluster.gateway().apply_istio_object(VS_80_20)
    sim_cluster.simulator_topology = "grpc"
    sim_cluster.save()
    gateway = sim_cluster.gateway()
    assert {n.name for n in gateway.list_namespaces()} == {"grpc-demo", "istio-system"}
    assert gateway.list_istio_objects(kinds=["VirtualService"]) == []


def test_topologies_come_from_the_simulator(sim_cluster):
    from apps.clusters.services import ClusterInputError, cluster_create
    from apps.clusters.simulated import simulator_topology_choices

    assert [v for v, _ in simulator_topology_choices()] == ["demo", "bookinfo", "helloworld", "grpc", "large"]
    with pytest.raises(ClusterInputError, match="Unknown simulator topology 'nope'; choose one of: demo"):
        cluster_create(name="other", kind=Cluster.Kind.SIMULATED, simulator_topology="nope")
    assert cluster_create(name="other", kind=Cluster.Kind.SIMULATED,
                          simulator_topology="grpc").simulator_topology == "grpc"


# --------------------------------------------------------------------------- two OS processes

WRITER = """
import json, os
from apps.clusters.models import Cluster
gateway = Cluster.objects.get(name="demo").gateway()
for manifest in json.loads(os.environ["MANIFESTS"]):
    gateway.apply_istio_object(manifest)
print("applied", gateway.get_istio_object("VirtualService", "bookinfo", "reviews").resource_version)
"""


def _reviews_split(user, cluster, query_time: int) -> dict[str, float]:
    params = GraphParams(namespaces=("bookinfo",), graph_type="workload", duration=60, query_time=query_time,
                         inject_service_nodes=False, box_by=(), idle_nodes=False)
    graph = graph_for_user(user, live_source(cluster), params)
    name = {node_id: node.workload for node_id, node in graph.nodes.items()}
    return {name[e.dest]: e.rates.get("http", 0.0) for e in graph.edges.values()
            if name.get(e.source) == "productpage-v1" and name.get(e.dest, "").startswith("reviews-")}


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_change_applied_by_another_process_shows_in_this_process_graph(sim_cluster, cluster_admin):
    require_postgres()
    state = state_for_cluster(sim_cluster)
    later = int(state.started_at + 7 * 3600)  # a fixed instant, well after anything this test does
    before = _reviews_split(cluster_admin, sim_cluster, later)  # this process now holds its own copy
    assert before == pytest.approx({"reviews-v1": 10 / 3, "reviews-v2": 10 / 3, "reviews-v3": 10 / 3})

    db = settings.DATABASES["default"]
    env = {**os.environ, "MANIFESTS": json.dumps([DR_REVIEWS, VS_80_20]),
           "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{connection.settings_dict['NAME']}"}
    env.pop("REDIS_URL", None)
    done = subprocess.run([sys.executable, "manage.py", "shell", "-c", WRITER], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    applied_rv = [line.split()[1] for line in done.stdout.splitlines() if line.startswith("applied ")]

    applied_at = SimulatedMeshEvent.objects.filter(state=state).order_by("-sequence").first().at
    after = _reviews_split(cluster_admin, sim_cluster, int(applied_at) + 120)
    assert after.get("reviews-v1", 0.0) == 0.0
    assert after["reviews-v2"] == pytest.approx(8.0) and after["reviews-v3"] == pytest.approx(2.0)
    # the other process's resourceVersion is this process's too
    rv = sim_cluster.gateway().get_istio_object("VirtualService", "bookinfo", "reviews").resource_version
    assert applied_rv == [rv]


# --------------------------------------------------------------------------- the exporter of a cluster

def _scrape(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=30) as resp:
        return resp.read().decode()


@pytest.mark.django_db(transaction=True)  # the exporter's request threads read what this test committed
def test_the_cluster_exporter_follows_the_cluster_changes(sim_cluster):
    _, server = run_cluster_exporter("demo", "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        port = server.server_address[1]
        assert 'destination_workload="ratings-v1"' in _scrape(port)
        assert 'response_flags="FI"' not in _scrape(port)
        sim_cluster.gateway().apply_istio_object(SUSPEND_RATINGS)  # written after the exporter started
        aborted = [line for line in _scrape(port).splitlines()
                   if line.startswith("istio_requests_total{") and 'response_flags="FI"' in line]
        assert aborted and all('destination_service_name="ratings"' in line for line in aborted)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_the_exporter_command_explains_a_wrong_cluster(sim_cluster):
    Cluster.objects.create(name="prod", kind=Cluster.Kind.KUBERNETES, api_server_url="https://127.0.0.1:6443")
    with pytest.raises(CommandError, match="No cluster named 'nope'. Simulated clusters: demo"):
        call_command("simulator_exporter", "--cluster", "nope")
    with pytest.raises(CommandError, match="is a Kubernetes cluster"):
        call_command("simulator_exporter", "--cluster", "prod")
    with pytest.raises(CommandError, match="unknown topology 'nope'"):
        call_command("simulator_exporter", "--topology", "nope")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_are_serialised(sim_cluster):
    require_postgres()
    state = state_for_cluster(sim_cluster)

    def writer(n: int) -> None:
        mesh = PersistentMesh(state)
        for i in range(3):
            manifest = {**VS_80_20, "metadata": {"name": f"vs-{n}-{i}", "namespace": "bookinfo"}}
            mesh.apply_istio_object(manifest)

    run_in_threads(writer, 4)  # an error in a writer is raised here
    assert list(SimulatedMeshEvent.objects.filter(state=state).values_list("sequence", flat=True)) == list(range(1, 13))
    ats = list(SimulatedMeshEvent.objects.filter(state=state).values_list("at", flat=True))
    assert ats == sorted(ats)  # the log's instants never go backwards
    shared = PersistentMesh(state).synced()
    rebuilt = mesh_from_log(state)
    assert shared.list_istio_objects() == rebuilt.list_istio_objects()
    assert len({o.resource_version for o in rebuilt.list_istio_objects(kinds=["VirtualService"])}) == 12
