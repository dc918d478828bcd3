// Unit tests of the graph page's pure parts: layered layout, view state in the URL, element diffs.
import assert from "node:assert/strict";
import { test } from "node:test";

import { diffElements, drawnEntry, edgeLabel, nodeLabel, placeNewNode, prepare } from "../../static/graphs/elements.js";
import { layeredLayout } from "../../static/graphs/layered-layout.js";
import { dotPlan } from "../../static/graphs/overlay.js";
import { apiQuery, DEFAULTS, needsFetch, parseState, stateToQuery, viewKey } from "../../static/graphs/view-state.js";

function randomMesh(n, m, seed = 7) {
  let s = seed;
  const rnd = () => { s = (s * 16807) % 2147483647; return s / 2147483647; };
  const nodes = Array.from({ length: n }, (_, i) => ({ id: `n${i}` }));
  const edges = [];
  for (let j = 0; j < m; j += 1) {
    const a = Math.floor(rnd() * (n - 1));
    edges.push({ source: `n${a}`, target: `n${a + 1 + Math.floor(rnd() * Math.min(40, n - a - 1))}` });
  }
  return { nodes, edges };
}

test("layered layout: callers left of callees, every node placed once, cycles survive", () => {
  const nodes = ["gw", "a", "b", "c", "d"].map((id) => ({ id }));
  const edges = [{ source: "gw", target: "a" }, { source: "a", target: "b" }, { source: "a", target: "c" },
    { source: "b", target: "d" }, { source: "d", target: "b" }];
  const pos = layeredLayout(nodes, edges);
  assert.equal(pos.size, 5);
  assert.ok(pos.get("gw").x < pos.get("a").x);
  assert.ok(pos.get("a").x < pos.get("b").x && pos.get("a").x < pos.get("c").x);
  const spots = new Set([...pos.values()].map((p) => `${p.x},${p.y}`));
  assert.equal(spots.size, 5, "two nodes share a position");
});

test("layered layout of the large mesh's size is fast and keeps forward edges forward", () => {
  const { nodes, edges } = randomMesh(1000, 5000);
  const t0 = performance.now();
  const pos = layeredLayout(nodes, edges);
  const ms = performance.now() - t0;
  assert.equal(pos.size, 1000);
  assert.ok(edges.every((e) => pos.get(e.source).x < pos.get(e.target).x));
  // informational, not a threshold: printed for whoever runs the tests
  console.log(`layered layout, 1000 nodes / 5000 edges: ${ms.toFixed(0)} ms`);
});

test("layered layout with boxes: each box on its own, boxes do not overlap", () => {
  const nodes = [];
  const edges = [];
  for (const ns of ["ns-a", "ns-b", "ns-c"]) {
    for (let i = 0; i < 6; i += 1) { nodes.push({ id: `${ns}/${i}`, parent: ns }); }
    for (let i = 0; i < 5; i += 1) { edges.push({ source: `${ns}/${i}`, target: `${ns}/${i + 1}` }); }
  }
  edges.push({ source: "ns-a/5", target: "ns-b/0" });
  const pos = layeredLayout(nodes, edges, { outermost: (id) => id.split("/")[0] });
  const box = (ns) => {
    const ps = nodes.filter((n) => n.parent === ns).map((n) => pos.get(n.id));
    return { x1: Math.min(...ps.map((p) => p.x)), x2: Math.max(...ps.map((p) => p.x)),
      y1: Math.min(...ps.map((p) => p.y)), y2: Math.max(...ps.map((p) => p.y)) };
  };
  const [a, b, c] = ["ns-a", "ns-b", "ns-c"].map(box);
  const overlap = (p, q) => p.x1 <= q.x2 && q.x1 <= p.x2 && p.y1 <= q.y2 && q.y1 <= p.y2;
  assert.ok(!overlap(a, b) && !overlap(b, c) && !overlap(a, c));
});

test("view state round-trips through the URL and drops bad values", () => {
  const state = { ...DEFAULTS, namespaces: ["bookinfo", "helloworld"], graphType: "workload", duration: "5m",
    refresh: 0, edgeLabels: ["err", "rt"], badges: true, animation: true, idleNodes: true, boxNamespace: true,
    injectServiceNodes: false, find: "rt > 1000", hide: "!mtls", focus: "abc", select: "def", responseTime: "99" };
  const query = stateToQuery(state);
  assert.match(query, /^namespaces=bookinfo%2Chelloworld&graphType=workload&duration=5m&/);
  assert.deepEqual(parseState(query), state);
  const bad = parseState("graphType=pie&duration=7m&refresh=3&edges=rps,bogus&rt=42&anim=yes");
  assert.equal(bad.graphType, "versionedApp");
  assert.equal(bad.duration, "60s");
  assert.equal(bad.refresh, 15);
  assert.deepEqual(bad.edgeLabels, ["rps"]);
  assert.equal(bad.responseTime, "95");
  assert.equal(bad.animation, false);
  assert.deepEqual(parseState("edges=none").edgeLabels, []);
  assert.equal(stateToQuery(DEFAULTS), "graphType=versionedApp&duration=60s");
});

test("only server-side options need a new answer; they also key the stored layout", () => {
  const a = { ...DEFAULTS, namespaces: ["bookinfo"] };
  assert.equal(needsFetch(a, { ...a, animation: true, find: "healthy", edgeLabels: [] }), false);
  assert.equal(needsFetch(a, { ...a, idleNodes: true }), true);
  assert.equal(needsFetch(a, { ...a, responseTime: "99" }), true);
  assert.match(apiQuery({ ...a, boxNamespace: true }), /boxBy=namespace/);
  assert.equal(viewKey("demo", a), viewKey("demo", { ...a, animation: true, duration: "1h" }));
  assert.notEqual(viewKey("demo", a), viewKey("demo", { ...a, graphType: "workload" }));
});

const BODY = { duration: 60, elements: {
  nodes: [
    { data: { id: "pp", nodeType: "workload", namespace: "bookinfo", workload: "productpage-v1", app: "productpage" } },
    { data: { id: "d", nodeType: "workload", namespace: "bookinfo", workload: "details-v1", app: "details" } },
    { data: { id: "svc", nodeType: "service", namespace: "bookinfo", service: "details" } },
    { data: { id: "u", nodeType: "unknown", namespace: "unknown", isInaccessible: true } },
    { data: { id: "x", nodeType: "workload", isInaccessible: true } },
  ],
  edges: [
    { data: { id: "e1", source: "pp", target: "d", protocol: "http", rates: { http: 10, http5xx: 0.2 },
      percentErr: 2, percentReq: 47.62, responseTime: 9 } },
    { data: { id: "e2", source: "d", target: "svc", protocol: "tcp", rates: { tcp: 12000 } } },
  ] } };

test("labels: node names as Kiali shows them, edge parts as chosen", () => {
  assert.deepEqual(BODY.elements.nodes.map((n) => nodeLabel(n.data)),
    ["productpage-v1", "details-v1", "details", "unknown", "(inaccessible)"]);
  assert.equal(nodeLabel({ nodeType: "app", app: "reviews", version: "v2", workload: "reviews-v2" }), "reviews v2");
  assert.equal(nodeLabel({ nodeType: "app", app: "reviews" }), "reviews");
  const e1 = BODY.elements.edges[0].data;
  assert.equal(edgeLabel(e1, ["rps"]), "10.00 rps");
  assert.equal(edgeLabel(e1, ["rps", "err", "rt", "pct"]), "10.00 rps\n2.0% err\n9 ms\n47.6%");
  assert.equal(edgeLabel({ ...e1, percentErr: 0 }, ["err"]), "");
  assert.equal(edgeLabel(BODY.elements.edges[1].data, ["rps", "rt"]), "12.0 kB/s");
  assert.equal(edgeLabel(e1, []), "");
});

test("diff: what to add, remove, update and re-parent, nothing for an unchanged answer", () => {
  const drawn = prepare(BODY, ["rps"]);
  const current = new Map([...drawn.nodes, ...drawn.edges].map((e) => [e.data.id, drawnEntry(e)]));
  // other edge labels are no change of the answer
  assert.deepEqual(diffElements(current, prepare(BODY, ["err", "rt"])).update, []);
  assert.deepEqual(diffElements(current, prepare(BODY, ["rps"])), { add: [], remove: [], update: [], reparent: [] });
  const next = structuredClone(BODY);
  next.elements.nodes.splice(4, 1); // x gone
  next.elements.nodes.push({ data: { id: "box", nodeType: "box", isBox: "namespace", namespace: "bookinfo" } });
  next.elements.nodes[0].data.parent = "box";
  next.elements.edges[0].data.rates.http = 5;
  next.elements.edges.push({ data: { id: "e3", source: "u", target: "pp", protocol: "http", rates: { http: 0.5 } } });
  const diff = diffElements(current, prepare(next, ["rps"]));
  assert.deepEqual(diff.add.map((e) => e.data.id).sort(), ["box", "e3"]);
  assert.deepEqual(diff.remove, ["x"]);
  assert.deepEqual(diff.update.map((u) => u.data.id).sort(), ["e1", "pp"]);
  assert.equal(diff.update.find((u) => u.data.id === "e1").data.label, "5.00 rps");
  assert.deepEqual(diff.reparent, [{ id: "pp", parent: "box" }]);
});

test("a new node goes next to its neighbours, or right of everything", () => {
  const near = placeNewNode([{ x: 100, y: 100 }, { x: 200, y: 100 }], { x2: 900, y1: 0 }, 0);
  assert.ok(Math.abs(near.x - 150) < 100 && Math.abs(near.y - 100) < 100);
  const alone = placeNewNode([], { x2: 900, y1: 0 }, 2);
  assert.ok(alone.x > 900);
});

test("animation: more requests, more and faster dots, within bounds", () => {
  const slow = dotPlan(0.5, "http");
  const busy = dotPlan(100, "http");
  assert.ok(busy.dots > slow.dots && busy.speed > slow.speed);
  assert.ok(dotPlan(1e9, "http").dots <= 8 && dotPlan(0, "http").dots >= 1);
});
