"""Large generated mesh, the per-key registry and the management command."""
import threading

import pytest

from apps.simulator import topologies
from apps.simulator.mesh import SimulatedMesh
from apps.simulator.registry import get_mesh, reset_meshes

from .helpers import FakeClock


def test_large_scenario_size_and_acyclic():
    sc = topologies.build("large:50:20")
    edges = [c for c in sc.calls if not c.source.startswith("istio-system/")]
    assert len(sc.workloads) == 50 * 20 + 2 and len(sc.services) == 50 * 20 + 2
    assert 4500 <= len(edges) <= 5500
    pos = {f"{w.namespace}/{w.name}": i for i, w in enumerate(sc.workloads)}
    for c in edges:
        name, ns = c.target.split(".")[:2]
        assert pos[f"{ns}/{name}-v1"] > pos[c.source]


def test_large_is_deterministic_per_seed():
    a = SimulatedMesh("large:4:5", seed=7, clock=FakeClock())
    b = SimulatedMesh("large:4:5", seed=7, clock=FakeClock())
    c = SimulatedMesh("large:4:5", seed=8, clock=FakeClock())
    for m in (a, b, c):
        m.clock.advance(10)
    assert a.render_exposition() == b.render_exposition()
    assert a.render_exposition() != c.render_exposition()
    assert a.series_count()["label_sets"] > 0


def test_unknown_topology():
    with pytest.raises(ValueError):
        SimulatedMesh("nope")


def test_registry_one_mesh_per_key():
    reset_meshes()
    got = []
    threads = [threading.Thread(target=lambda: got.append(get_mesh("cluster-1", "bookinfo"))) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({id(m) for m in got}) == 1
    assert get_mesh("cluster-1") is got[0] and get_mesh("cluster-2", "grpc") is not got[0]
    assert {n.name for n in got[0].list_namespaces()} == {"bookinfo", "istio-system"}
    reset_meshes()
    assert get_mesh("cluster-1", "bookinfo") is not got[0]
    reset_meshes()


def test_command_builds_mesh_and_server():
    import io

    from apps.simulator.management.commands.simulator_exporter import Command, run_exporter

    out = io.StringIO()
    mesh, server = run_exporter("grpc", "127.0.0.1", 0, 3, out)
    try:
        assert mesh.seed == 3 and "grpc-demo" in {n.name for n in mesh.list_namespaces()}
        assert f":{server.server_address[1]}/metrics" in out.getvalue()
    finally:
        server.server_close()
    parser = Command().create_parser("manage.py", "simulator_exporter")
    opts = parser.parse_args(["--topology", "large:2:3", "--port", "0", "--seed", "5"])
    assert (opts.topology, opts.port, opts.seed, opts.host) == ("large:2:3", 0, 5, "127.0.0.1")


def test_command_is_registered_with_django():
    from django.core.management import get_commands

    assert get_commands().get("simulator_exporter") == "apps.simulator"
