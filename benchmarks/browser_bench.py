"""Browser benchmark: the traffic graph page in headless Chromium (Debian's, through Playwright).

    .venv/bin/python benchmarks/browser_bench.py [--runs 3] [--seconds 5]

Runs the portal as `make run` does (embedded default) with an extra simulated cluster on the
`large` topology (50 namespaces x 20 services + istio-system: 1,001 workloads, ~5,000 edges),
then measures, each as the median of N runs in a fresh browser context:

  (1) first render of the large workload graph (every namespace, no service nodes):
      from the page's request for the graph to Cytoscape's first frame showing it, split into
      the graph API answer (server: in-process simulator telemetry + graph build) and the
      browser's part (answer received -> parsed -> elements added -> laid out -> drawn);
  (2) a live update of the open large graph: one answer in which every edge's rate changed
      (5,000 label and colour updates) plus 10 nodes gone and 10 new, diffed into the drawn
      graph; from the answer received to the frame that shows it (and the same for an
      unchanged answer);
  (3) traffic animation frames per second on Bookinfo, and on the large graph (where the
      overlay caps the animated edges: the cap it settled on is printed).

Prints the figures and the load average; the latest are recorded in docs/benchmarks.md.
Not part of CI; no test has a timing threshold.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.browser import CHROMIUM_ARGS  # noqa: E402
from tests.support.portal_process import PortalProcess  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
TARGETS = {"first render (browser)": 3000, "live update": 500}


def log_in(page, portal):
    page.goto(portal.url + "/accounts/login/")
    page.fill("#id_username", "admin")
    page.fill("#id_password", portal.passwords["admin"])
    with page.expect_navigation():
        page.press("#id_password", "Enter")


def wait_rendered(page, count: int, timeout: float = 120_000):
    page.wait_for_function(
        "(n) => window.meshdeckGraph && window.meshdeckGraph.timings.length >= n && "
        "window.meshdeckGraph.timings[n - 1].rendered !== null", arg=count, timeout=timeout)
    return page.evaluate("(n) => window.meshdeckGraph.timings[n - 1]", count)


def changed(body: dict) -> dict:
    """Every edge 10% busier, 10 nodes (and their edges) gone, 10 new nodes with one edge each."""
    nodes, edges = body["elements"]["nodes"], body["elements"]["edges"]
    for e in edges:
        d = e["data"]
        d["rates"] = {k: v * 1.1 for k, v in d["rates"].items()}
    gone = {n["data"]["id"] for n in nodes[-10:]}
    body["elements"]["nodes"] = nodes[:-10]
    body["elements"]["edges"] = [e for e in edges
                                 if e["data"]["source"] not in gone and e["data"]["target"] not in gone]
    anchor = nodes[0]["data"]["id"]
    for i in range(10):
        body["elements"]["nodes"].append({"data": {"id": f"bench-new-{i}", "nodeType": "workload", "namespace": "ns-00",
                                                   "workload": f"bench-new-{i}", "app": f"bench-new-{i}"}})
        body["elements"]["edges"].append({"data": {"id": f"bench-edge-{i}", "source": anchor,
                                                   "target": f"bench-new-{i}",
                                                   "protocol": "http", "rates": {"http": 1.0}, "percentErr": 0}})
    return body


def fps(page, seconds: float) -> dict:
    return page.evaluate("""(ms) => new Promise((done) => {
        const o = window.meshdeckOverlay;
        const startFrames = o.stats().frames;
        let frames = 0;
        const t0 = performance.now();
        const tick = (now) => {
            frames += 1;
            if (now - t0 < ms) { requestAnimationFrame(tick); return; }
            const s = o.stats();
            done({rafFps: frames / ((now - t0) / 1000), overlayFps: (s.frames - startFrames) / ((now - t0) / 1000),
                  dots: s.dots, edges: s.edges, maxEdges: s.maxEdges, costMs: s.costMs});
        };
        requestAnimationFrame(tick);
    })""", seconds * 1000)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=5.0, help="animation sampling time")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    load_before = os.getloadavg()
    portal = PortalProcess(Path(tempfile.mkdtemp(prefix="meshdeck-browser-bench-"))).start()
    results: dict[str, list[float]] = {}
    notes: dict[str, object] = {}
    try:
        portal._manage("shell", "-c", "from apps.clusters.models import Cluster; Cluster.objects.get_or_create("
                       "name='large', defaults={'kind': 'simulated', 'simulator_topology': 'large'})")
        session = portal.login("admin")
        t = time.perf_counter()
        warm = session.get(portal.url + "/api/clusters/large/graph?graphType=workload&injectServiceNodes=false",
                           timeout=300)
        warm.raise_for_status()
        notes["cold API answer (first request builds the simulated mesh)"] = f"{time.perf_counter() - t:.2f} s"
        namespaces = sorted({n["data"]["namespace"] for n in warm.json()["elements"]["nodes"]
                             if n["data"]["namespace"] not in ("", "unknown")})
        large_url = (f"{portal.url}/clusters/large/graph/?namespaces={','.join(namespaces)}"
                     "&graphType=workload&serviceNodes=0&refresh=0")
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            for run in range(args.runs):
                context = browser.new_context(viewport={"width": 1280, "height": 800})
                page = context.new_page()
                log_in(page, portal)
                page.goto(large_url)
                first = wait_rendered(page, 1)
                results.setdefault("first render, end to end", []).append(first["rendered"] - first["requestedAt"])
                results.setdefault("  graph API answer (server)", []).append(first["receivedAt"] - first["requestedAt"])
                results.setdefault("first render (browser)", []).append(first["rendered"] - first["receivedAt"])
                results.setdefault("  of which diff + add + layout", []).append(first["ms"])
                notes["large graph drawn"] = f"{first['nodes']} nodes, {first['edges']} edges"
                notes["first render parts, ms (last run)"] = {k: round(v) for k, v in first["parts"].items()}

                # a live update with every edge changed, then one with nothing changed
                def answer(route):
                    response = route.fetch()
                    route.fulfill(response=response, body=json.dumps(changed(response.json())),
                                  headers={**response.headers, "content-type": "application/json"})

                page.route("**/api/clusters/large/graph?*", answer)
                page.click("#graph-refresh")
                update = wait_rendered(page, 2)
                results.setdefault("live update (5,000 edges changed, 10 nodes out, 10 in)", []).append(
                    update["rendered"] - update["receivedAt"])
                results.setdefault("  of which diff + apply", []).append(update["ms"])
                notes["changes applied"] = update["changes"]
                notes["live update parts, ms (last run)"] = {k: round(v) for k, v in update["parts"].items()}
                page.unroute("**/api/clusters/large/graph?*")
                page.click("#graph-refresh")
                page.wait_for_function("() => window.meshdeckGraph.timings.length >= 3", timeout=120_000)
                page.click("#graph-refresh")
                page.wait_for_function("() => window.meshdeckGraph.timings.length >= 4", timeout=120_000)
                same = page.evaluate("window.meshdeckGraph.timings[3]")
                diff_only = results.setdefault("live update, unchanged answer (diff only)", [])
                diff_only.append(same["end"] - same["receivedAt"])
                assert page.evaluate("window.cy.nodes().length") >= 1000

                # animation on the large graph: the overlay lowers its edge cap until frames are cheap
                page.locator("#graph-display > summary").click()
                page.locator("input[name=animation]").check()
                page.wait_for_timeout(1500)
                large_anim = fps(page, args.seconds)
                results.setdefault("animation fps, large graph", []).append(large_anim["overlayFps"])
                notes["large animation (last run)"] = large_anim

                # animation on Bookinfo
                page.goto(portal.url + "/clusters/demo/graph/?namespaces=bookinfo&graphType=versionedApp&anim=1")
                wait_rendered(page, 1)
                page.wait_for_timeout(1500)
                small = fps(page, args.seconds)
                results.setdefault("animation fps, Bookinfo", []).append(small["overlayFps"])
                results.setdefault("  requestAnimationFrame rate, Bookinfo", []).append(small["rafFps"])
                notes["Bookinfo animation (last run)"] = small
                context.close()
                print(f"run {run + 1}/{args.runs} done", flush=True)
            browser.close()
    finally:
        portal.stop()
    load_after = os.getloadavg()

    print(f"\nBrowser benchmark: headless Chromium ({CHROMIUM}), 1280x800, median of {args.runs} runs")
    print(f"load average before {load_before[0]:.2f} {load_before[1]:.2f} {load_before[2]:.2f}, "
          f"after {load_after[0]:.2f} {load_after[1]:.2f} {load_after[2]:.2f}; {os.cpu_count()} CPUs")
    for name, values in results.items():
        unit = "fps" if "fps" in name or "rate" in name else "ms"
        med = statistics.median(values)
        runs = " ".join(f"{v:.0f}" for v in values)
        target = TARGETS.get(name) or (TARGETS["live update"] if name.startswith("live update (") else None)
        verdict = ""
        if target:
            verdict = f"  target <= {target} ms: {'met' if med <= target else 'MISSED'}"
        elif name == "animation fps, Bookinfo":
            verdict = f"  target >= 30 fps: {'met' if med >= 30 else 'MISSED'}"
        print(f"  {name:58} {med:8.0f} {unit}   (runs: {runs}){verdict}")
    for name, value in notes.items():
        print(f"  {name}: {value}")


if __name__ == "__main__":
    main()
