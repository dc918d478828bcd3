"""Graph benchmark: the large simulated mesh scraped by a real Prometheus.

    .venv/bin/python benchmarks/graph_bench.py [--scrape-interval 5s] [--runs 5]

Times, each as the median of N runs after one warm-up:
  (a) our all-namespace workload graph, end to end and live: the query plan
      against Prometheus, graph build (p95 latency on edges), JSON rendering;
      no recording rules, no result cache;
  (b) the floor: the same PromQL our graph sends, straight to Prometheus,
      run the way we run them (concurrently, same pool size), bodies read;
  (c) Kiali's plan on the same Prometheus: per namespace, one namespace after
      another, 3 request-rate + 3 TCP + 2 p95 + 2 mTLS queries, sequential;
plus the peak Python allocation of the graph build (tracemalloc) and the
Bookinfo namespace graph (demo mesh, its own Prometheus). Prints the ratios
against the targets; a missed target is reported, not hidden. Results go in
docs/benchmarks.md. Not part of CI.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
import tracemalloc
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

import requests  # noqa: E402

from apps.graphs.builder import GraphOptions, build_graph  # noqa: E402
from apps.graphs.builder.render import to_cytoscape  # noqa: E402
from apps.graphs.telemetry.plan import fetch_traffic, sharded_queries  # noqa: E402
from apps.graphs.telemetry.prometheus import MAX_PARALLEL_QUERIES, PrometheusTelemetry  # noqa: E402
from apps.simulator.exporter import start_exporter  # noqa: E402
from apps.simulator.mesh import SimulatedMesh  # noqa: E402
from tests.support.prometheus import PrometheusServer  # noqa: E402

WINDOW = 60


def median_of(fn, runs: int) -> tuple[float, list[float]]:
    fn()  # warm-up
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), times


def our_graph(prom_url: str, inventory, namespaces, query_time: float, scope):
    traffic = fetch_traffic(PrometheusTelemetry(prom_url, timeout=60), namespaces=scope, graph_type="workload",
                            inject_service_nodes=False, window=WINDOW, query_time=query_time,
                            mesh_namespaces=[n.name for n in inventory.namespaces])
    opts = GraphOptions(namespaces=tuple(namespaces), graph_type="workload", inject_service_nodes=False,
                        duration=WINDOW, query_time=int(query_time))
    graph = build_graph(inventory, traffic, opts)
    return graph, json.dumps(to_cytoscape(graph, secret="bench", cluster_name="large"))


def floor(prom_url: str, query_time: float, scope, mesh_namespaces) -> None:
    texts = [q.promql(WINDOW) for q in sharded_queries(scope, "workload", False, 0.95, mesh_namespaces).values()]
    session = requests.Session()

    def run(text):
        r = session.post(prom_url + "/api/v1/query", data={"query": text, "time": f"{query_time:.3f}"}, timeout=60)
        r.raise_for_status()
        return len(r.content)

    with ThreadPoolExecutor(max_workers=min(MAX_PARALLEL_QUERIES, len(texts))) as pool:
        list(pool.map(run, texts))


KIALI_GROUP = ("source_workload_namespace,source_workload,source_canonical_service,source_canonical_revision,"
               "destination_service_namespace,destination_service,destination_service_name,"
               "destination_workload_namespace,destination_workload,destination_canonical_service,"
               "destination_canonical_revision")
KIALI_HTTP_GROUP = KIALI_GROUP + ",request_protocol,response_code,grpc_response_status,response_flags"
KIALI_TCP_GROUP = KIALI_GROUP + ",response_flags"
KIALI_RT_GROUP = ("le,source_workload_namespace,source_workload,source_app,source_version,"
                  "destination_service_namespace,destination_service_name,destination_workload_namespace,"
                  "destination_workload,destination_app,destination_version")
KIALI_SP_GROUP = ("source_workload_namespace,source_workload,source_canonical_service,source_canonical_revision,"
                  "source_principal,destination_service_namespace,destination_service_name,"
                  "destination_workload_namespace,destination_workload,destination_canonical_service,"
                  "destination_canonical_revision,destination_principal,connection_security_policy")


def kiali_queries(ns: str, d: int = WINDOW) -> list[str]:
    """Kiali's per-namespace graph queries (graph/telemetry/istio/istio.go and its appenders)."""
    q = []
    for metric, group in (("istio_requests_total", KIALI_HTTP_GROUP), ("istio_tcp_sent_bytes_total", KIALI_TCP_GROUP)):
        q += [
            f'round(sum(rate({metric}{{reporter="destination",source_workload="unknown",'
            f'destination_workload_namespace="{ns}"}} [{d}s])) by ({group}),0.001)',
            f'round(sum(rate({metric}{{reporter="source",source_workload_namespace!="{ns}",source_workload!="unknown",'
            f'destination_service_namespace="{ns}"}} [{d}s])) by ({group}),0.001)',
            f'round(sum(rate({metric}{{reporter="source",source_workload_namespace="{ns}"}} [{d}s])) by ({group}),0.001)',
        ]
    b = "istio_request_duration_milliseconds_bucket"
    q += [
        f'round(histogram_quantile(0.95, sum(rate({b}{{reporter="destination",source_workload="unknown",'
        f'destination_workload_namespace="{ns}",response_code=~"2[0-9]{{2}}$"}}[{d}s])) by ({KIALI_RT_GROUP})) > 0,0.001)',
        f'round(histogram_quantile(0.95, sum(rate({b}{{reporter="source",source_workload_namespace="{ns}",'
        f'response_code=~"2[0-9]{{2}}$"}}[{d}s])) by ({KIALI_RT_GROUP})) > 0,0.001)',
    ]
    for where in (f'source_workload_namespace!="{ns}",destination_service_namespace="{ns}"',
                  f'source_workload_namespace="{ns}"'):
        http = f'sum(rate(istio_requests_total{{reporter="destination",{where}}}[{d}s])) by ({KIALI_SP_GROUP}) > 0'
        tcp = f'sum(rate(istio_tcp_sent_bytes_total{{reporter="destination",{where}}}[{d}s])) by ({KIALI_SP_GROUP}) > 0'
        q.append(f"round(({http}) OR ({tcp}),0.001)")
    return q


def kiali_plan(prom_url: str, namespaces, query_time: float) -> None:
    session = requests.Session()
    for ns in namespaces:
        for text in kiali_queries(ns):
            r = session.post(prom_url + "/api/v1/query", data={"query": text, "time": f"{query_time:.3f}"}, timeout=60)
            r.raise_for_status()
            r.json()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scrape-interval", default="5s", help="Prometheus scrape interval (default 5s)")
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    interval = float(args.scrape_interval.rstrip("s"))

    started = time.time()
    # Meshes "started" an hour ago: counters have history from the first scrape on.
    large = SimulatedMesh("large", start=started - 3600)
    demo = SimulatedMesh("demo", start=started - 3600)
    large_exporter, large_port = start_exporter(large)
    demo_exporter, demo_port = start_exporter(demo)
    proms = [
        PrometheusServer([f"127.0.0.1:{large_port}"], scrape_interval=args.scrape_interval,
                         scrape_timeout=args.scrape_interval, startup_timeout=60),
        PrometheusServer([f"127.0.0.1:{demo_port}"], scrape_interval="1s"),
    ]
    try:
        for p in proms:
            p.start()
        for p in proms:
            p.wait_for_targets_up(timeout=120)
        counts = large.series_count()
        inventory = large.inventory()
        namespaces = sorted(n.name for n in inventory.namespaces)
        print(f"large mesh: {len(namespaces)} namespaces, {len(inventory.workloads)} workloads, "
              f"{counts['time_series']} series; scrape {args.scrape_interval}; window {WINDOW}s", flush=True)
        # Enough scrapes that the whole window is covered (rate() without partial-window extrapolation).
        wait = started + WINDOW + 3 * interval - time.time()
        print(f"waiting {wait:.0f}s for a full window of data ...", flush=True)
        time.sleep(max(0.0, wait))
        prom_large, prom_demo = proms[0].url, proms[1].url
        query_time = time.time() - interval  # the last complete scrape
        # Stop feeding Prometheus: ingesting 230k series every scrape would eat a
        # core while we measure. The window ending at query_time is already stored.
        large_exporter.stop()
        time.sleep(2 * interval)

        graph, body = our_graph(prom_large, inventory, namespaces, query_time, None)
        edges = [e for e in graph.edges.values()]
        with_p95 = sum(1 for e in edges if e.latency_quantile is not None)
        print(f"graph: {len(graph.nodes)} nodes, {len(edges)} edges ({with_p95} with p95), JSON {len(body)/1e6:.1f} MB")

        a, a_runs = median_of(lambda: our_graph(prom_large, inventory, namespaces, query_time, None), args.runs)
        b, b_runs = median_of(lambda: floor(prom_large, query_time, None, namespaces), args.runs)
        c, c_runs = median_of(lambda: kiali_plan(prom_large, namespaces, query_time), args.runs)

        # Peak Python allocation of the graph build (telemetry rows in, graph out, JSON rendered).
        tracemalloc.start()
        traffic = fetch_traffic(PrometheusTelemetry(prom_large, timeout=60), namespaces=None, graph_type="workload",
                                inject_service_nodes=False, window=WINDOW, query_time=query_time,
                                mesh_namespaces=namespaces)
        opts = GraphOptions(namespaces=tuple(namespaces), graph_type="workload", inject_service_nodes=False)
        json.dumps(to_cytoscape(build_graph(inventory, traffic, opts), secret="bench", cluster_name="large"))
        peak_mb = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
        del traffic

        demo_inv = demo.inventory()
        demo_ns = ["bookinfo"]
        bi, bi_runs = median_of(
            lambda: our_graph(prom_demo, demo_inv, demo_ns, time.time() - 1, demo_ns), args.runs)

        fmt = lambda xs: ", ".join(f"{x:.3f}" for x in xs)  # noqa: E731
        print()
        print(f"(a) our live workload graph      median {a:.3f}s   runs [{fmt(a_runs)}]")
        print(f"(b) floor (our PromQL, direct)   median {b:.3f}s   runs [{fmt(b_runs)}]")
        print(f"(c) Kiali plan ({len(kiali_queries('x'))}/ns x {len(namespaces)}) median {c:.3f}s   runs [{fmt(c_runs)}]")
        print(f"Bookinfo namespace graph         median {bi * 1000:.0f} ms")
        print(f"peak Python allocation (build)   {peak_mb:.0f} MB")
        print()
        checks = [
            (f"(c)/(a) = {c / a:.2f}x faster than Kiali's plan", c / a >= 2.0, "target >= 2x"),
            (f"(a)/(b) = {a / b:.2f}x the floor", a / b <= 1.25, "target <= 1.25x"),
            (f"Bookinfo graph {bi * 1000:.0f} ms", bi <= 0.100, "target <= 100 ms"),
            (f"peak memory {peak_mb:.0f} MB", peak_mb <= 200, "target <= 200 MB"),
        ]
        for text, ok, target in checks:
            print(f"  {'OK  ' if ok else 'MISS'} {text} ({target})")
        return 0
    finally:
        for p in proms:
            p.stop()
        for server in (large_exporter, demo_exporter):
            try:
                server.stop()
            except Exception:
                pass


if __name__ == "__main__":
    sys.exit(main())
