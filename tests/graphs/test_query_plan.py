import pytest

from apps.graphs.telemetry.plan import graph_queries


def test_few_global_queries_whatever_the_namespace_count():
    many = [f"ns-{i}" for i in range(50)]
    assert len(graph_queries(["bookinfo"], "workload", False)) == len(graph_queries(many, "workload", False)) == 7
    assert len(graph_queries(many, "versionedApp", True)) == 8  # two quantile groupings with service nodes


def test_namespaces_become_one_regex_matcher():
    promql = graph_queries(["a", "b.c"], "workload", False)["requests"].promql(60)
    assert 'source_workload_namespace=~"a|b\\\\.c"' in promql
    assert 'reporter="destination",source_workload="unknown"' in promql
    assert "[60s]" in promql


def test_whole_mesh_needs_no_namespace_matchers():
    promql = graph_queries(None, "workload", False)["lat_edge"].promql(300)
    assert "namespace" not in promql.split("by (")[1].split(")")[1]  # selectors carry no namespace matcher
    assert promql.startswith("histogram_quantile(0.95, sum by (le,")


def test_sharding_partitions_namespaces_and_keeps_the_graph_exact():
    from apps.graphs.builder import GraphOptions, build_graph
    from apps.graphs.telemetry.plan import fetch_traffic, shard_matchers
    from apps.graphs.telemetry.simulator import SimulatorTelemetry

    from .fakes import FakeMesh, bookinfo_inventory, bookinfo_samples

    mesh_namespaces = ["bookinfo", "istio-system"] + [f"team-{i:02d}" for i in range(30)]
    assert len(shard_matchers(mesh_namespaces)) == 5
    assert shard_matchers(["bookinfo", "istio-system"]) == []
    for graph_type, inject in (("workload", False), ("versionedApp", True), ("service", True)):
        graphs = []
        for shard_over in (None, mesh_namespaces):
            traffic = fetch_traffic(SimulatorTelemetry(FakeMesh(bookinfo_samples())), namespaces=None,
                                    graph_type=graph_type, inject_service_nodes=inject, window=60, query_time=0,
                                    mesh_namespaces=shard_over)
            opts = GraphOptions(namespaces=("bookinfo", "istio-system"), graph_type=graph_type,
                                inject_service_nodes=inject)
            graphs.append(build_graph(bookinfo_inventory(), traffic, opts))
        whole, sharded = graphs
        assert set(whole.edges) == set(sharded.edges)
        for k, e in whole.edges.items():
            s = sharded.edges[k]
            assert (e.total, e.percent_err, e.mtls_percent, e.latency_quantile, e.latency_avg) == pytest.approx(
                (s.total, s.percent_err, s.mtls_percent, s.latency_quantile, s.latency_avg)), k
