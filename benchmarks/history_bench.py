"""History benchmark: snapshots of the large simulated mesh through a real Prometheus.

    DATABASE_URL=postgres://... .venv/bin/python benchmarks/history_bench.py [--snapshots 100] [--runs 5]

Needs PostgreSQL (a database of its own: the bench's cluster is created there and removed after).
The large mesh (about 1,000 services, 4,400 edges) is served by the simulator's exporter and
scraped every 5 s by a real Prometheus. After enough data for every window, the bench takes
``--snapshots`` snapshots through ``apps.history.services.snapshot_take``, one per ``--step``
seconds of query time (default: the scrape interval, so every window holds a new scrape and its
rates move; the topology and config do not), and prints, each a median of ``--runs`` after one warm-up:

  snapshot         wall time, and this process's CPU time (Meshdeck's own: Prometheus is another
                   process) per snapshot; the targets are <= 2.5 s and <= 1 s; and its floor: the same
                   capture queries sent straight to Prometheus, nothing decoded;
  storage          bytes stored per snapshot (new parts only), averaged over all of them (<= 100 KB);
  latest           GET /api/clusters/<c>/graph (whole-mesh workload graph) answered from the latest
                   snapshot, first answer (cold: decode and build) and the following ones (<= 150 ms),
                   and the ratio to Kiali's query plan measured in this run (>= 15x);
  past T           GET .../graph?at=T for a T that needs another snapshot decoded each time (cold)
                   and repeated (warm) (<= 200 ms);
  diff             GET .../diff between the first and the last snapshot, its two graphs not built yet
                   (<= 300 ms), and the same diff asked again (the graphs compared are kept);
  floor            reading and decoding the latest snapshot alone (inventory + traffic).

``--profile``: after the figures, one more snapshot (query time one step after the last) is taken
under cProfile and the functions that took most of this process's time are printed, by own time
and by cumulative time (``--profile-top`` of each); its Prometheus queries run one after another
in the main thread, so that their decoding is seen. Not counted in any figure above.

Results go in docs/benchmarks.md. Not part of CI.
"""
from __future__ import annotations

import argparse
import cProfile
import gc
import io
import json
import os
import pstats
import statistics
import sys
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
os.environ.setdefault("CELERY_TASK_ALWAYS_EAGER", "1")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.db.models import Sum  # noqa: E402
from django.test import Client  # noqa: E402

from apps.clusters.models import Cluster  # noqa: E402
from apps.graphs.telemetry.mesh_traffic import capture_queries  # noqa: E402
from apps.graphs.telemetry.prometheus import folded_promql  # noqa: E402
from apps.history import store  # noqa: E402
from apps.history.models import Snapshot, SnapshotPart  # noqa: E402
from apps.history.services import snapshot_schedule_update, snapshot_take  # noqa: E402
from apps.simulator.exporter import start_exporter  # noqa: E402
from apps.simulator.mesh import SimulatedMesh  # noqa: E402
from benchmarks.graph_bench import kiali_plan, median_of, send_all  # noqa: E402
from tests.support.prometheus import PrometheusServer  # noqa: E402

NAME = "bench-history"
WINDOW = 60


def fmt(xs) -> str:
    return ", ".join(f"{x:.3f}" for x in xs)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--snapshots", type=int, default=100)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--step", type=float, default=None,
                    help="seconds of query time between snapshots (default: the scrape interval, so that every "
                         "window holds a scrape the previous one did not and its rates move; 1 s steps mostly "
                         "give windows of the same samples, equal rates, nothing stored)")
    ap.add_argument("--scrape-interval", default="15s",
                    help="scrape interval and timeout (default 15s: the large mesh's 230k series take a while)")
    ap.add_argument("--profile", action="store_true",
                    help="after the figures, cProfile one more snapshot_take and print the top functions")
    ap.add_argument("--profile-top", type=int, default=30, help="functions printed per ordering (--profile)")
    args = ap.parse_args()
    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        print("set DATABASE_URL to a PostgreSQL database of its own")
        return 2
    interval = float(args.scrape_interval.rstrip("s"))
    load_start = os.getloadavg()
    started = time.time()
    mesh = SimulatedMesh("large", start=started - 3600)
    exporter, port = start_exporter(mesh)
    prom = PrometheusServer([f"127.0.0.1:{port}"], scrape_interval=args.scrape_interval,
                            scrape_timeout=args.scrape_interval, startup_timeout=60)
    Cluster.objects.filter(name=NAME).delete()
    user = get_user_model().objects.filter(username="bench-root").first() or \
        get_user_model().objects.create_superuser("bench-root", password="bench-" + os.urandom(8).hex())
    try:
        prom.start()
        prom.wait_for_targets_up(timeout=120)
        cluster = Cluster.objects.create(name=NAME, kind=Cluster.Kind.SIMULATED, simulator_topology="large",
                                         prometheus_url=prom.url)
        snapshot_schedule_update(cluster=cluster, interval_seconds=1)
        inventory = cluster.gateway().inventory()  # (builds the cluster's copy of the mesh once)
        namespaces = sorted(n.name for n in inventory.namespaces)
        print(f"large mesh: {len(namespaces)} namespaces, {len(inventory.workloads)} workloads, "
              f"{len(inventory.services)} services; scrape {args.scrape_interval}", flush=True)
        up = time.time()  # the first scrapes succeeded: every window must start after this
        step = int(args.step or interval)
        need = up + WINDOW + args.snapshots * step + 3 * interval
        print(f"waiting {need - time.time():.0f}s for {args.snapshots} windows of data ...", flush=True)
        time.sleep(max(0.0, need - time.time()))
        last = int(time.time() - interval)
        exporter.stop()  # quiet: the windows are stored; scraping 230k series eats a core
        time.sleep(2 * interval)

        walls, cpus, stored = [], [], []
        for i, q in enumerate(range(last - (args.snapshots - 1) * step, last + 1, step)):
            before = SnapshotPart.objects.aggregate(s=Sum("stored_size"))["s"] or 0
            w, c = time.perf_counter(), time.process_time()
            result = snapshot_take(cluster, now=q)
            walls.append(time.perf_counter() - w)
            cpus.append(time.process_time() - c)
            assert result.created and result.snapshot.status == "ok", (result.skipped, result.snapshot.reason)
            stored.append((SnapshotPart.objects.aggregate(s=Sum("stored_size"))["s"] or 0) - before)
            if i < 3 or i % 20 == 0:
                print(f"  snapshot {i + 1}: {walls[-1]:.2f}s wall, {cpus[-1]:.2f}s CPU, {stored[-1] / 1e3:.0f} KB",
                      flush=True)
        capture_floor, capture_floor_runs = median_of(
            lambda: capture_queries_alone(prom.url, namespaces, last), args.runs)
        snaps = list(Snapshot.objects.filter(cluster=cluster).order_by("taken_at"))
        latest = snaps[-1]
        print(f"edges {latest.counts['edges']}, rates per window {latest.counts['rates']}")
        if not latest.counts.get("edges"):
            print("Prometheus holds no traffic (scrapes failing? try a longer --scrape-interval)")
            return 1

        client = Client()
        client.force_login(user)
        # the snapshots must count as fresh for the latest-graph path
        settings.MESHDECK_SNAPSHOT_FRESH_SECONDS = int(time.time() - latest.taken_at.timestamp()) + 600
        url = f"/api/clusters/{NAME}/graph"
        q = {"graphType": "workload", "injectServiceNodes": "false", "duration": "60s"}

        def latest_graph():
            r = client.get(url, q)
            assert r.status_code == 200 and r.json()["source"]["snapshot"]["id"] == latest.pk, r.content[:300]

        store.clear_caches()
        t = time.perf_counter()
        latest_graph()
        latest_cold = time.perf_counter() - t
        lat, lat_runs = median_of(latest_graph, args.runs, warm=False)

        kiali, kiali_runs = median_of(lambda: kiali_plan(prom.url, namespaces, float(latest.taken_at.timestamp())),
                                      args.runs)

        past_ts = [s.taken_at.timestamp() + 0.5 for s in snaps[-2 - args.runs:-1]]

        def past_graph(at):
            r = client.get(url, {**q, "at": f"{at:.1f}"})
            assert r.status_code == 200 and r.json()["source"]["kind"] == "snapshot", r.content[:300]

        cold_times, answers, parses = [], [], []
        with Phases() as phases:
            for at in past_ts:  # each needs another snapshot decoded and its graph built
                t = time.perf_counter()
                r = client.get(url, {**q, "at": f"{at:.1f}"})
                answers.append(time.perf_counter() - t)
                assert r.status_code == 200 and r.json()["source"]["kind"] == "snapshot", r.content[:300]
                cold_times.append(time.perf_counter() - t)
                p = time.perf_counter()
                json.loads(r.content)
                parses.append(time.perf_counter() - p)
        past_warm, past_runs = median_of(lambda: past_graph(past_ts[0]), args.runs, warm=False)

        first = snaps[0]
        diff_q = {"from": f"{first.taken_at.timestamp():.0f}", "to": f"{latest.taken_at.timestamp():.0f}"}

        def diff():
            r = client.get(f"/api/clusters/{NAME}/diff", diff_q)
            assert r.status_code == 200, r.content[:300]

        def diff_new_pair():  # the two graphs not built yet (as for a pair not compared before); shapes prepared
            store._traffic.clear()
            store._graphs.clear()
            diff()

        diff_t, diff_runs = median_of(diff_new_pair, args.runs)
        diff_again, diff_again_runs = median_of(diff, args.runs)

        def floor():
            store.clear_caches()
            store.inventory_of(latest)
            store.traffic_of(latest)

        floor_t, floor_runs = median_of(floor, args.runs)

        per_snapshot = sum(stored) / len(stored)
        wall, cpu = statistics.median(walls), statistics.median(cpus)
        print()
        print(f"snapshot                 wall median {wall:.2f}s  CPU median {cpu:.2f}s   (n={len(walls)})")
        print(f"  its Prometheus floor   median {capture_floor:.2f}s [{fmt(capture_floor_runs)}]: the capture "
              f"queries alone, sent straight to Prometheus as the snapshot sends them (wall - floor: Meshdeck)")
        print(f"storage                  {per_snapshot / 1e3:.1f} KB per snapshot over {len(stored)} "
              f"(first {stored[0] / 1e3:.0f} KB, later median {statistics.median(stored[1:]) / 1e3:.1f} KB)")
        print(f"latest from snapshot     cold {latest_cold:.3f}s, median {lat:.3f}s   runs [{fmt(lat_runs)}]")
        print(f"Kiali's plan             median {kiali:.3f}s   runs [{fmt(kiali_runs)}]")
        print(f"graph at past T          cold median {statistics.median(cold_times):.3f}s [{fmt(cold_times)}], "
              f"warm median {past_warm:.3f}s")
        print(f"  of which the answer    median {statistics.median(answers):.3f}s [{fmt(answers)}] (the rest: the "
              f"client parsing it, json.loads alone {statistics.median(parses):.3f}s)")
        print(f"  in the answer          {phases.summary()}; this process holds {len(gc.get_objects()):,} "
              f"objects the collector tracks")
        print(f"diff (first -> last)     median {diff_t:.3f}s   runs [{fmt(diff_runs)}]; "
              f"compared again {diff_again:.3f}s [{fmt(diff_again_runs)}]")
        print(f"floor (read + decode)    median {floor_t:.3f}s   runs [{fmt(floor_runs)}]")
        print(f"load average             {' '.join(f'{x:.2f}' for x in os.getloadavg())} (1, 5, 15 min) at the end; "
              f"{' '.join(f'{x:.2f}' for x in load_start)} at the start")
        print()
        checks = [
            (f"snapshot wall {wall:.2f}s", wall <= 2.5, "<= 2.5 s"),
            (f"snapshot own CPU {cpu:.2f}s", cpu <= 1.0, "<= 1 s"),
            (f"storage {per_snapshot / 1e3:.1f} KB/snapshot", per_snapshot <= 100e3, "<= 100 KB"),
            (f"latest graph {lat * 1000:.0f} ms", lat <= 0.150, "<= 150 ms"),
            (f"latest graph {kiali / lat:.1f}x faster than Kiali's plan", kiali / lat >= 15, ">= 15x"),
            (f"graph at past T (cold) {statistics.median(cold_times) * 1000:.0f} ms",
             statistics.median(cold_times) <= 0.200, "<= 200 ms"),
            (f"diff {diff_t * 1000:.0f} ms", diff_t <= 0.300, "<= 300 ms"),
        ]
        for text, ok, target in checks:
            print(f"  {'OK  ' if ok else 'MISS'} {text} ({target})")
        if args.profile:
            profile_snapshot(cluster, last + step, args.profile_top)
        return 0
    finally:
        Cluster.objects.filter(name=NAME).delete()
        from apps.history.services import snapshots_prune

        snapshots_prune(now=time.time() + 3600)
        prom.stop()
        try:
            exporter.stop()
        except Exception:  # noqa: BLE001 - best effort at exit
            pass


def capture_queries_alone(prom_url: str, namespaces: list[str], query_time: float) -> None:
    """A snapshot's Prometheus queries (the folded PromQL of ``instant_columns``), with the same
    concurrency, over one kept-alive session, bodies read and not decoded."""
    with requests.Session() as session:
        send_all(session, prom_url, [folded_promql(q, WINDOW) for q in capture_queries(namespaces).values()],
                 query_time)


class Phases:
    """Medians of the time spent, per answer, in the steps of a stored graph answer (wrapped while
    the block runs): the snapshot's traffic decoded, the graph's queries over it, the build, the
    rendering. What is left of the answer is the request, the snapshot lookup and the JSON."""

    STEPS = (("traffic", "apps.history.store", "traffic_of"),
             ("queries+build", "apps.graphs.api.views", "graph_for_user"),
             ("build", "apps.graphs.selectors", "build_graph"),
             ("render", "apps.graphs.api.views", "to_cytoscape"))

    def __init__(self):
        self.times: dict[str, list[float]] = {}
        self._saved: list = []

    def __enter__(self):
        import importlib

        for label, module_name, attr in self.STEPS:
            module = importlib.import_module(module_name)
            original = getattr(module, attr)
            self._saved.append((module, attr, original))
            setattr(module, attr, self._timed(label, original))
        return self

    def _timed(self, label, fn):
        def timed(*args, **kwargs):
            t = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.times.setdefault(label, []).append(time.perf_counter() - t)
        return timed

    def __exit__(self, *exc):
        for module, attr, original in reversed(self._saved):
            setattr(module, attr, original)
        return False

    def summary(self) -> str:
        return ", ".join(f"{label} {statistics.median(xs) * 1000:.0f} ms" for label, xs in self.times.items())


def profile_snapshot(cluster: Cluster, at: float, top: int) -> None:
    """One more snapshot under cProfile (a new bucket: query time ``at``), its top functions printed.
    cProfile sees only the thread it runs in, so the Prometheus queries are run one after another in
    this thread (not in the query threads) and their decoding shows up too."""
    from apps.graphs.telemetry.prometheus import PrometheusTelemetry

    profiler = cProfile.Profile()
    w, c = time.perf_counter(), time.process_time()
    in_threads = PrometheusTelemetry._map
    PrometheusTelemetry._map = lambda self, fn, items: [fn(i) for i in items]  # type: ignore[method-assign]
    try:
        profiler.enable()
        result = snapshot_take(cluster, now=at)
        profiler.disable()
    finally:
        PrometheusTelemetry._map = in_threads  # type: ignore[method-assign]
    wall, cpu = time.perf_counter() - w, time.process_time() - c
    assert result.created and result.snapshot.status == "ok", (result.skipped, result.snapshot.reason)
    print()
    print(f"profiled snapshot        {wall:.2f}s wall, {cpu:.2f}s CPU (under cProfile: slower than unprofiled)")
    for order in ("tottime", "cumulative"):
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).strip_dirs().sort_stats(order).print_stats(top)
        text = out.getvalue()
        print(f"--- top {top} by {order} ---")
        print(text[text.find("   ncalls"):].rstrip())


if __name__ == "__main__":
    sys.exit(main())
