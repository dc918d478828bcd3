"""The graph builder alone: build and render the large mesh's whole workload graph from rows.

    .venv/bin/python benchmarks/build_bench.py [--runs 7] [--graph-type workload]

No Prometheus: the rows come from the simulator's telemetry (the same numbers a real Prometheus
gives for it), computed once; only build_graph + to_cytoscape + the API's JSON renderer are timed.
This is the Python that graph_bench.py's (a) spends on the main thread beyond its queries, so a
change of the builder can be measured without the floor's noise. Not part of CI; no threshold.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

import django  # noqa: E402

django.setup()

from apps.core.renderers import FastJSONRenderer  # noqa: E402
from apps.graphs.builder import GraphOptions, build_graph  # noqa: E402
from apps.graphs.builder.render import to_cytoscape  # noqa: E402
from apps.graphs.telemetry.plan import fetch_traffic  # noqa: E402
from apps.graphs.telemetry.simulator import SimulatorTelemetry  # noqa: E402
from apps.simulator.mesh import SimulatedMesh  # noqa: E402

QUERY_TIME = 1_700_000_000.0
WINDOW = 60


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--graph-type", default="workload", choices=("app", "versionedApp", "workload", "service"))
    args = ap.parse_args()
    mesh = SimulatedMesh("large", start=QUERY_TIME - 3600)
    inventory = mesh.inventory()
    namespaces = sorted(n.name for n in inventory.namespaces)
    inject = args.graph_type == "service"
    traffic = fetch_traffic(SimulatorTelemetry(mesh), namespaces=None, graph_type=args.graph_type,
                            inject_service_nodes=inject, window=WINDOW, query_time=QUERY_TIME,
                            mesh_namespaces=namespaces)
    options = GraphOptions(namespaces=tuple(namespaces), graph_type=args.graph_type, inject_service_nodes=inject,
                           duration=WINDOW, query_time=int(QUERY_TIME))
    renderer = FastJSONRenderer()

    def once() -> int:
        graph = build_graph(inventory, traffic, options)
        return len(renderer.render(to_cytoscape(graph, secret="bench", cluster_name="large")))

    size = once()  # warm-up
    times = []
    for _ in range(args.runs):
        t = time.perf_counter()
        once()
        times.append(time.perf_counter() - t)
    load = os.getloadavg()
    rows = len(traffic.requests)
    print(f"{args.graph_type} graph of the large mesh from {rows} request rows, JSON {size / 1e6:.1f} MB")
    print(f"build + render  median {statistics.median(times):.3f} s  runs [{', '.join(f'{x:.3f}' for x in times)}]"
          f"  (load average {load[0]:.1f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
