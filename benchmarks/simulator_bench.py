"""Simulator benchmark: the 50 x 20 generated mesh.

Run: ``.venv/bin/python benchmarks/simulator_bench.py [large:N:M]``.
Prints edges, series, the time to generate one full exporter scrape (median
of 5 after a warm-up, streamed as the exporter streams it), the time of one
``series_rates()`` over the whole mesh, and memory (RSS).
"""
from __future__ import annotations

import os
import resource
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from apps.simulator.mesh import SimulatedMesh  # noqa: E402


def rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    topology = sys.argv[1] if len(sys.argv) > 1 else "large:50:20"
    clock = [1_000_000.0]
    base = rss_mb()
    t0 = time.perf_counter()
    mesh = SimulatedMesh(topology, seed=1, clock=lambda: clock[0])
    build_s = time.perf_counter() - t0
    clock[0] += 60
    calls = mesh.scenario.calls
    edges = sum(1 for c in calls if not c.source.startswith("istio-system/"))
    counts = mesh.series_count()
    print(f"topology            {topology}")
    print(f"workloads/services  {len(mesh.workloads)}/{len(mesh.services)}")
    print(f"edges               {edges} workload->service calls (+{len(calls) - edges} from the ingress gateway)")
    print(f"label sets          {counts['label_sets']} "
          f"({counts['http_label_sets']} http/grpc, {counts['tcp_label_sets']} tcp)")
    print(f"time series         {counts['time_series']} (each histogram bucket, _sum and _count counted)")
    print(f"build               {build_s:.2f} s, RSS after build {rss_mb() - base:.0f} MB above interpreter")

    def scrape() -> int:
        n = 0
        for chunk in mesh.iter_exposition():
            n += len(chunk)
        return n

    size = scrape()  # warm-up
    times = []
    for _ in range(5):
        clock[0] += 15
        t = time.perf_counter()
        size = scrape()
        times.append(time.perf_counter() - t)
    print(f"scrape              median {statistics.median(times):.2f} s of 5 "
          f"(min {min(times):.2f}, max {max(times):.2f}); "
          f"{size / 1e6:.0f} MB of text")
    t = time.perf_counter()
    samples = mesh.series_rates(60, clock[0])
    print(f"series_rates(60 s)  {time.perf_counter() - t:.2f} s for {len(samples)} samples")
    del samples
    t = time.perf_counter()
    mesh.apply_istio_object({
        "apiVersion": "networking.istio.io/v1", "kind": "VirtualService",
        "metadata": {"name": "shift", "namespace": "ns-00"},
        "spec": {"hosts": ["svc-00-01"], "http": [{"fault": {"abort": {"httpStatus": 503}},
                                                   "route": [{"destination": {"host": "svc-00-01"}}]}]},
    }) if "ns-00" in mesh.namespaces else None
    print(f"apply + recompute   {time.perf_counter() - t:.2f} s")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"memory              RSS now {rss_mb():.0f} MB, peak {peak:.0f} MB")


if __name__ == "__main__":
    main()
