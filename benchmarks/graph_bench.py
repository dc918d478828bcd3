"""Graph benchmark: the large simulated mesh scraped by a real Prometheus.

    .venv/bin/python benchmarks/graph_bench.py [--scrape-interval 5s] [--runs 5]

Times, each as the median of N runs after one warm-up:
  (a) our all-namespace workload graph, end to end and live: the query plan
      against Prometheus, graph build (p95 latency on edges), JSON rendering;
      no recording rules, no result cache;
  (b) the floor: the same PromQL our graph sends, straight to Prometheus,
      run the way we run them (concurrently, same pool size), bodies read;
  (c) Kiali's plan on the same Prometheus: per namespace, one namespace after
      another, 3 request-rate + 3 TCP + 2 p95 + 2 mTLS queries, sequential
      (the PromQL of Kiali's graph/telemetry/istio/istio.go and its
      response_time / security_policy appenders, see kiali_queries);
  (c') the same with the two appenders of a namespace run concurrently, as the
      newest Kiali does (informational);
plus the peak Python allocation of the graph build (tracemalloc) and the
Bookinfo namespace graph (demo mesh, its own Prometheus). Prints the ratios
against the targets; a missed target is reported, not hidden. Results go in
docs/benchmarks.md. Not part of CI.
"""
from __future__ import annotations

import argparse
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

from apps.core.renderers import FastJSONRenderer  # noqa: E402
from apps.graphs.builder import GraphOptions, build_graph  # noqa: E402
from apps.graphs.builder.render import to_cytoscape  # noqa: E402
from apps.graphs.telemetry.plan import fetch_traffic, sharded_queries  # noqa: E402
from apps.graphs.telemetry.prometheus import MAX_PARALLEL_QUERIES, PrometheusTelemetry  # noqa: E402
from apps.simulator.exporter import start_exporter  # noqa: E402
from apps.simulator.mesh import SimulatedMesh  # noqa: E402
from tests.support.prometheus import PrometheusServer  # noqa: E402

WINDOW = 60
RENDERER = FastJSONRenderer()


def median_of(fn, runs: int, warm: bool = True) -> tuple[float, list[float]]:
    """The median of ``runs`` timings of ``fn`` (after one untimed warm-up unless ``warm`` is false), and the runs."""
    if warm:
        fn()
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), times


def paired_runs(first, second, runs: int) -> tuple[list[float], list[float]]:
    """``runs`` timings of each, alternating first/second after one warm-up of each."""
    first(), second()
    a, b = [], []
    for _ in range(runs):
        for fn, out in ((first, a), (second, b)):
            t = time.perf_counter()
            fn()
            out.append(time.perf_counter() - t)
    return a, b


def profile_once(fn) -> None:
    import cProfile
    import pstats

    prof = cProfile.Profile()
    prof.enable()
    fn()
    prof.disable()
    print("\nwhere one run of (a) spends its time in this thread (Prometheus waits show as lock/recv):")
    pstats.Stats(prof).sort_stats("tottime").print_stats(25)


def our_graph(telemetry: PrometheusTelemetry, inventory, namespaces, query_time: float, scope):
    """What GET /api/clusters/<c>/graph does after authorization: the cluster's shared
    telemetry client (pooled connections), the plan, the build, the API's JSON renderer."""
    traffic = fetch_traffic(telemetry, namespaces=scope, graph_type="workload",
                            inject_service_nodes=False, window=WINDOW, query_time=query_time,
                            mesh_namespaces=[n.name for n in inventory.namespaces], pending=True)
    opts = GraphOptions(namespaces=tuple(namespaces), graph_type="workload", inject_service_nodes=False,
                        duration=WINDOW, query_time=int(query_time))
    graph = build_graph(inventory, traffic, opts)
    return graph, RENDERER.render(to_cytoscape(graph, secret="bench", cluster_name="large"))


def floor(session: requests.Session, prom_url: str, query_time: float, scope, mesh_namespaces) -> None:
    """The same PromQL over one kept-alive session, bodies read and not decoded."""
    texts = [q.promql(WINDOW) for q in sharded_queries(scope, "workload", False, 0.95, mesh_namespaces).values()]
    send_all(session, prom_url, texts, query_time)


def send_all(session: requests.Session, prom_url: str, texts: list[str], query_time: float) -> None:
    """PromQL ``texts`` sent as our telemetry client sends them (MAX_PARALLEL_QUERIES at once),
    bodies read and not decoded: what Prometheus alone takes."""
    def run(text):
        r = session.post(prom_url + "/api/v1/query", data={"query": text, "time": f"{query_time:.3f}"}, timeout=60)
        r.raise_for_status()
        return len(r.content)

    with ThreadPoolExecutor(max_workers=min(MAX_PARALLEL_QUERIES, len(texts))) as pool:
        list(pool.map(run, texts))


# ---------------------------------------------------------------------------
# (c) Kiali's plan, reproduced as PromQL text (data describing Kiali's behaviour;
# no Kiali code). Sources, kiali/kiali on GitHub:
#   graph/telemetry/istio/istio.go            buildNamespaceTrafficMap: 3 request + 3 TCP queries
#   graph/telemetry/istio/appender/response_time.go   2 histogram_quantile queries
#     (query strings as pinned by appender/response_time_test.go)
#   graph/telemetry/istio/appender/security_policy.go 2 mTLS queries
#   graph/telemetry/istio/util/util.go        GetReporter / GetApp; PromQuery wraps every
#                                             query in round(...,0.001)
#   graph/options.go                          defaults: rateHttp/rateGrpc=requests,
#                                             rateTcp=sent, includeIdleEdges=false
#   graph/telemetry/istio/appender/appender.go  order: ... responseTime, securityPolicy ...
# Options reproduced: a namespace graph of a sidecar mesh with default rates, idle
# edges hidden ("> 0"), responseTime=95 and the securityPolicy appender, no ambient
# namespaces (so the ambient-only queries are not sent).
KIALI_SRC = ("source_cluster,source_workload_namespace,source_workload,source_canonical_service,"
             "source_canonical_revision")
KIALI_DST = ("destination_cluster,destination_service_namespace,destination_service,destination_service_name,"
             "destination_workload_namespace,destination_workload,destination_canonical_service,"
             "destination_canonical_revision")
KIALI_HTTP_GROUP = f"{KIALI_SRC},{KIALI_DST},request_protocol,response_code,grpc_response_status,response_flags"
KIALI_TCP_GROUP = f"app,{KIALI_SRC},{KIALI_DST},response_flags"
KIALI_RT_GROUP = f"le,{KIALI_SRC},{KIALI_DST},request_protocol"
KIALI_SP_GROUP = (f"{KIALI_SRC},source_principal,destination_cluster,destination_service_namespace,"
                  "destination_service_name,destination_workload_namespace,destination_workload,"
                  "destination_canonical_service,destination_canonical_revision,destination_principal,"
                  "connection_security_policy")
# rateTcp=sent reads istio_tcp_received_bytes_total in the traffic queries (Istio's L4
# telemetry is backwards, istio/istio#32399) but istio_tcp_sent_bytes_total in the
# security-policy appender: both as Kiali does.
KIALI_TCP_METRIC = "istio_tcp_received_bytes_total"
KIALI_SP_TCP_METRIC = "istio_tcp_sent_bytes_total"


def _kiali_reporter(reporter: str, ambient: str) -> str:
    # util.GetReporter: ambientTraffic total|waypoint -> reporter=~"waypoint|<r>"
    return f'reporter=~"waypoint|{reporter}"' if ambient in ("total", "waypoint") else f'reporter="{reporter}"'


def _kiali_app(ambient: str) -> str:
    # util.GetApp: ambientTraffic waypoint|none -> exclude ztunnel's TCP series
    return 'app!="ztunnel",' if ambient in ("waypoint", "none") else ""


def _kiali_round(q: str) -> str:
    return f"round({q},0.001)"  # util.PromQuery / PromQueryAppender


def kiali_traffic_queries(ns: str, d: int = WINDOW, ambient: str = "none") -> list[str]:
    """istio.go buildNamespaceTrafficMap for a non-ambient namespace: 3 request-rate + 3 TCP queries."""
    src, dst, app = _kiali_reporter("source", ambient), _kiali_reporter("destination", ambient), _kiali_app(ambient)
    unserviced = (f'source_workload_namespace!="{ns}",destination_workload_namespace="unknown",'
                  f'destination_workload="unknown",destination_service=~"^.+\\\\.{ns}\\\\..+$"')
    q = []
    for metric, group, prefix in (("istio_requests_total", KIALI_HTTP_GROUP, ""),
                                  (KIALI_TCP_METRIC, KIALI_TCP_GROUP, app)):
        q += [
            # 0) incoming, source-reported: requests to the namespace's services that reached no workload
            f"sum(rate({metric}{{{prefix}{src},{unserviced}}} [{d}s])) by ({group}) > 0",
            # (1) ambient namespaces only: not sent here
            # 2) incoming, destination-reported: everything the namespace's workloads received
            f'sum(rate({metric}{{{prefix}{dst},destination_workload_namespace="{ns}"}} [{d}s])) by ({group}) > 0',
            # 3) outgoing, source-reported: everything the namespace's workloads sent
            f'sum(rate({metric}{{{prefix}{src},source_workload_namespace="{ns}"}} [{d}s])) by ({group}) > 0',
        ]
    return [_kiali_round(x) for x in q]


def kiali_response_time_queries(ns: str, d: int = WINDOW, ambient: str = "none", quantile: float = 0.95) -> list[str]:
    """response_time.go, quantile mode, non-ambient namespace: destination- then source-reported.
    No response_code matcher: every response counts (current Kiali)."""
    b = "istio_request_duration_milliseconds_bucket"
    return [_kiali_round(
        f"histogram_quantile({quantile:.2f}, sum(rate({b}{{{_kiali_reporter(r, ambient)},{m}}}[{d}s])) "
        f"by ({KIALI_RT_GROUP})) > 0")
        for r, m in (("destination", f'destination_service_namespace="{ns}"'),
                     ("source", f'source_workload_namespace="{ns}"'))]


def kiali_security_policy_queries(ns: str, d: int = WINDOW, ambient: str = "none") -> list[str]:
    """security_policy.go with rateHttp/rateGrpc=requests, rateTcp=sent: two OR-ed queries."""
    dst, app = _kiali_reporter("destination", ambient), _kiali_app(ambient)
    q = []
    for where in (f'source_workload_namespace!="{ns}",destination_service_namespace="{ns}"',
                  f'source_workload_namespace="{ns}"'):
        parts = [
            f"sum(rate(istio_requests_total{{{dst},{where}}}[{d}s])) by ({KIALI_SP_GROUP}) > 0",
            f"sum(rate({KIALI_SP_TCP_METRIC}{{{app}{dst},{where}}}[{d}s])) by ({KIALI_SP_GROUP}) > 0",
        ]
        if where.startswith("source_workload_namespace=") and ambient in ("total", "ztunnel"):
            parts.append(f'sum(rate({KIALI_SP_TCP_METRIC}{{app="ztunnel",reporter="source",{where}}}[{d}s])) '
                         f"by ({KIALI_SP_GROUP}) > 0")
        q.append(_kiali_round(" OR ".join(f"({x})" for x in parts)))
    return q


def kiali_queries(ns: str, d: int = WINDOW, ambient: str = "none") -> list[str]:
    """All of one namespace's queries, in Kiali's order (10 for a non-ambient namespace)."""
    return (kiali_traffic_queries(ns, d, ambient) + kiali_response_time_queries(ns, d, ambient)
            + kiali_security_policy_queries(ns, d, ambient))


def _kiali_query(session, prom_url: str, text: str, query_time: float) -> int:
    # Kiali queries at time.Unix(o.QueryTime, 0): whole seconds.
    r = session.post(prom_url + "/api/v1/query", data={"query": text, "time": str(int(query_time))}, timeout=120)
    r.raise_for_status()
    return len(r.json()["data"]["result"])


def kiali_plan(prom_url: str, namespaces, query_time: float, ambient: str = "none",
               parallel_appenders: bool = False, stats: dict | None = None) -> None:
    """One namespace after another (istio.go BuildNamespacesTrafficMap). Per namespace: the 6
    traffic queries, then the responseTime and securityPolicy appenders (skipped, as in Kiali,
    when the namespace's traffic map is empty). parallel_appenders: the two appenders run
    concurrently, as the newest Kiali does (runAppendersInParallel); otherwise one after the other."""
    session = requests.Session()
    pool = ThreadPoolExecutor(max_workers=2) if parallel_appenders else None
    appender_sessions = (requests.Session(), requests.Session())
    rows = sent = 0
    try:
        for ns in namespaces:
            found = 0
            for text in kiali_traffic_queries(ns, ambient=ambient):
                found += _kiali_query(session, prom_url, text, query_time)
            sent += 6
            rows += found
            if not found:
                continue  # appenders return early on an empty traffic map
            appenders = (kiali_response_time_queries(ns, ambient=ambient),
                         kiali_security_policy_queries(ns, ambient=ambient))
            if pool is None:
                for texts in appenders:
                    for text in texts:
                        rows += _kiali_query(session, prom_url, text, query_time)
            else:
                def run(job):
                    sess, texts = job
                    return sum(_kiali_query(sess, prom_url, t, query_time) for t in texts)
                rows += sum(pool.map(run, zip(appender_sessions, appenders, strict=False)))
            sent += 4
    finally:
        if pool is not None:
            pool.shutdown()
    if stats is not None:
        stats.update(queries=sent, rows=rows)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scrape-interval", default="5s", help="Prometheus scrape interval (default 5s)")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--profile", action="store_true",
                    help="also print where (a)'s Python time goes (cProfile of one run, top 25 by own time)")
    ap.add_argument("--kiali-ambient", default="none", choices=("none", "total"),
                    help="Kiali's ambientTraffic for (c): none (what Kiali's UI sends when ambient is not "
                         "enabled, default) or total (the server-side default)")
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

        telemetry = PrometheusTelemetry(prom_large, timeout=60)  # shared, as telemetry_for shares it
        floor_session = requests.Session()
        graph, body = our_graph(telemetry, inventory, namespaces, query_time, None)
        edges = [e for e in graph.edges.values()]
        with_p95 = sum(1 for e in edges if e.latency_quantile is not None)
        print(f"graph: {len(graph.nodes)} nodes, {len(edges)} edges ({with_p95} with p95), JSON {len(body)/1e6:.1f} MB")

        # (a) and (b) alternate, so that both meet the same moments of a shared machine's load; the
        # ratio is the median of each pair's ratio (the medians of (a) and (b) are printed too).
        our = lambda: our_graph(telemetry, inventory, namespaces, query_time, None)  # noqa: E731
        direct = lambda: floor(floor_session, prom_large, query_time, None, namespaces)  # noqa: E731
        a_runs, b_runs = paired_runs(our, direct, args.runs)
        a, b = statistics.median(a_runs), statistics.median(b_runs)
        ratio = statistics.median(x / y for x, y in zip(a_runs, b_runs, strict=True))
        if args.profile:
            profile_once(our)
        kstats: dict = {}
        kiali_plan(prom_large, namespaces, query_time, args.kiali_ambient, stats=kstats)
        print(f"Kiali plan: {kstats['queries']} queries, {kstats['rows']} result rows "
              f"(ambientTraffic={args.kiali_ambient})", flush=True)
        c, c_runs = median_of(lambda: kiali_plan(prom_large, namespaces, query_time, args.kiali_ambient), args.runs)
        cp, cp_runs = median_of(lambda: kiali_plan(prom_large, namespaces, query_time, args.kiali_ambient,
                                                   parallel_appenders=True), args.runs)

        # Peak Python allocation of the graph build (telemetry rows in, graph out, JSON rendered).
        tracemalloc.start()
        traffic = fetch_traffic(telemetry, namespaces=None, graph_type="workload",
                                inject_service_nodes=False, window=WINDOW, query_time=query_time,
                                mesh_namespaces=namespaces)
        opts = GraphOptions(namespaces=tuple(namespaces), graph_type="workload", inject_service_nodes=False)
        RENDERER.render(to_cytoscape(build_graph(inventory, traffic, opts), secret="bench", cluster_name="large"))
        peak_mb = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
        del traffic

        demo_inv = demo.inventory()
        demo_ns = ["bookinfo"]
        demo_telemetry = PrometheusTelemetry(prom_demo, timeout=60)
        bi, bi_runs = median_of(
            lambda: our_graph(demo_telemetry, demo_inv, demo_ns, time.time() - 1, demo_ns), args.runs)

        fmt = lambda xs: ", ".join(f"{x:.3f}" for x in xs)  # noqa: E731
        print()
        print(f"(a) our live workload graph      median {a:.3f}s   runs [{fmt(a_runs)}]")
        print(f"(b) floor (our PromQL, direct)   median {b:.3f}s   runs [{fmt(b_runs)}]")
        print(f"(c) Kiali plan ({len(kiali_queries('x'))}/ns x {len(namespaces)}) "
              f"median {c:.3f}s   runs [{fmt(c_runs)}]")
        print(f"(c') same, appenders in parallel  median {cp:.3f}s   runs [{fmt(cp_runs)}]")
        print(f"Bookinfo namespace graph         median {bi * 1000:.0f} ms")
        print(f"peak Python allocation (build)   {peak_mb:.0f} MB")
        print()
        checks = [
            (f"(c)/(a) = {c / a:.2f}x faster than Kiali's plan", c / a >= 2.0, "target >= 2x"),
            (f"(c')/(a) = {cp / a:.2f}x faster than Kiali's plan with parallel appenders", cp / a >= 2.0,
             "informational, same 2x bar"),
            (f"(a)/(b) = {ratio:.2f}x the floor (median of the paired runs' ratios)", ratio <= 1.25,
             "target <= 1.25x"),
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
            except Exception:  # noqa: BLE001 - stopping the other one matters more
                pass


if __name__ == "__main__":
    sys.exit(main())
