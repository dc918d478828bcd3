// Unit tests of the graph page's history controls (timeline, slider stops, markers, replay, diff
// overlay) and of the WebSocket push's delta, all pure.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { test } from "node:test";

import { applyDelta } from "../../static/graphs/graph-delta.js";
import {
  diffClasses, ghostElements, markerPosition, nextStop, stepMs, stopFor, stopLabel, timelineModel, timeOfStop,
} from "../../static/graphs/history.js";
import { sha256Hex } from "../../static/graphs/sha256.js";
import { apiQuery, DEFAULTS, parseState, stateToQuery, viewKey } from "../../static/graphs/view-state.js";

const sha = (s) => createHash("sha256").update(s).digest("hex");

test("sha256Hex agrees with node's crypto, on the graph's ids and on long and non-ASCII text", () => {
  for (const text of ["", "abc", "wl_Kubernetes_bookinfo_reviews-v2", "x".repeat(55), "y".repeat(56),
    "z".repeat(64), "é→✓".repeat(40), "a".repeat(1000)]) {
    assert.equal(sha256Hex(text), sha(text), JSON.stringify(text.slice(0, 20)));
  }
});

const TIMELINE = {
  since: 1000, until: 2000,
  snapshots: [
    { id: 3, taken_at: 1600, status: "ok", health: { bookinfo: "Degraded" } },
    { id: 1, taken_at: 1200, status: "ok", health: { bookinfo: "Healthy" } },
    { id: 2, taken_at: 1400, status: "unreachable", health: {} },
    { id: 4, taken_at: 1800.4, status: "partial", health: {} },
  ],
  events: [
    { type: "change", at: 1500, who: "operator", what: "traffic shift reviews", link: "/changes/7/", action: "change.applied" },
    { type: "health", at: 1600, what: "bookinfo: Healthy -> Degraded" },
    { type: "config", at: 1600, what: "VirtualService bookinfo/reviews changed", who: "operator",
      explainedBy: "/changes/7/", link: "/history/diff" },
  ],
};

test("the timeline keeps snapshots that hold a graph, oldest first, and marks changes and config edits", () => {
  const model = timelineModel(TIMELINE);
  assert.deepEqual(model.snapshots.map((s) => s.id), [1, 3, 4]);
  assert.deepEqual(model.markers.map((m) => [m.type, m.at, m.link]),
    [["change", 1500, "/changes/7/"], ["config", 1600, "/changes/7/"]]);
  assert.equal(model.markers[0].who, "operator");
});

test("slider stops: one per snapshot then live; a time maps to the latest snapshot at or before it", () => {
  const { snapshots } = timelineModel(TIMELINE);
  assert.equal(stopFor(snapshots, null), 3); // live
  assert.equal(stopFor(snapshots, 1200), 0);
  assert.equal(stopFor(snapshots, 1599), 0);
  assert.equal(stopFor(snapshots, 1601), 1);
  assert.equal(stopFor(snapshots, 1801), 2); // whole seconds up still find 1800.4
  assert.equal(stopFor(snapshots, 100), 0);
  assert.equal(timeOfStop(snapshots, 2), 1801);
  assert.equal(timeOfStop(snapshots, 3), null);
  assert.equal(stopFor(snapshots, timeOfStop(snapshots, 2)), 2); // round trip through the URL
  assert.equal(stopLabel(snapshots, 3), "live");
  assert.equal(stopLabel(snapshots, 0, (t) => `t${t}`), "t1200");
});

test("a marker sits between the stops of the snapshots around it", () => {
  const { snapshots } = timelineModel(TIMELINE);
  assert.equal(markerPosition(snapshots, 1500), (0 + 0.75) / 3); // 3/4 of the way from 1200 to 1600
  assert.equal(markerPosition(snapshots, 1000), 0);
  assert.ok(markerPosition(snapshots, 1900) > 2 / 3 && markerPosition(snapshots, 1900) < 1);
});

test("replay steps to the next stop and stops at live; speed shortens the step", () => {
  assert.equal(nextStop(0, 3), 1);
  assert.equal(nextStop(2, 3), 3);
  assert.equal(nextStop(3, 3), null);
  assert.equal(stepMs(1), 2000);
  assert.equal(stepMs(4), 500);
  assert.equal(stepMs(3), 2000); // not a speed the page offers
});

test("history is in the URL: at, diffFrom and speed survive a round trip; the API gets at", () => {
  const s = { ...DEFAULTS, namespaces: ["bookinfo"], at: 1801, diffFrom: 1200, speed: 4 };
  const q = stateToQuery(s);
  assert.match(q, /at=1801/);
  assert.match(q, /diffFrom=1200/);
  assert.match(q, /speed=4/);
  const back = parseState(`?${q}`);
  assert.equal(back.at, 1801);
  assert.equal(back.diffFrom, 1200);
  assert.equal(back.speed, 4);
  assert.match(apiQuery(back), /(^|&)at=1801/);
  assert.doesNotMatch(apiQuery({ ...back, at: null }), /at=/);
  assert.doesNotMatch(stateToQuery({ ...s, at: null, diffFrom: null, speed: 1 }), /at=|diffFrom|speed/);
  assert.equal(parseState("?at=soon&speed=3").at, null);
  assert.equal(parseState("?at=soon&speed=3").speed, 1);
  // the layout memory is per view, not per moment: time travel keeps positions
  assert.equal(viewKey("demo", back), viewKey("demo", { ...back, at: null }));
});

const DIFF = {
  nodes: {
    added: [{ id: "wl_Kubernetes_bookinfo_reviews-v4", nodeType: "workload" }],
    removed: [{ id: "wl_Kubernetes_bookinfo_mongodb-v1", nodeType: "workload" },
      { id: "wl_Kubernetes_secret_x", nodeType: "workload", isInaccessible: true }],
  },
  edges: {
    added: [{ sourceId: "svc_Kubernetes_bookinfo_reviews", targetId: "wl_Kubernetes_bookinfo_reviews-v4", protocol: "http" }],
    removed: [{ sourceId: "wl_Kubernetes_bookinfo_ratings-v1", targetId: "wl_Kubernetes_bookinfo_mongodb-v1", protocol: "tcp" }],
    changed: [{ sourceId: "svc_Kubernetes_bookinfo_reviews", targetId: "wl_Kubernetes_bookinfo_reviews-v2", protocol: "http",
      changed: ["rate"] }],
  },
  health: [{ id: "wl_Kubernetes_bookinfo_details-v1", before: "Healthy", after: "Degraded" }],
};

test("the diff overlay names the drawn elements by the graph API's ids", () => {
  const { nodes, edges } = diffClasses(DIFF);
  assert.equal(nodes[sha("wl_Kubernetes_bookinfo_reviews-v4")], "added");
  assert.equal(nodes[sha("wl_Kubernetes_bookinfo_mongodb-v1")], "removed");
  assert.equal(nodes[sha("wl_Kubernetes_bookinfo_details-v1")], "changed");
  assert.equal(Object.keys(nodes).length, 3); // nothing of an inaccessible node
  const edge = (a, b, p) => sha(`${sha(a)}.${sha(b)}.${p}`);
  assert.equal(edges[edge("svc_Kubernetes_bookinfo_reviews", "wl_Kubernetes_bookinfo_reviews-v4", "http")], "added");
  assert.equal(edges[edge("wl_Kubernetes_bookinfo_ratings-v1", "wl_Kubernetes_bookinfo_mongodb-v1", "tcp")], "removed");
  assert.equal(edges[edge("svc_Kubernetes_bookinfo_reviews", "wl_Kubernetes_bookinfo_reviews-v2", "http")], "changed");
});

test("removed elements come back from the earlier answer as ghosts, edges only between drawn ends", () => {
  const classes = diffClasses(DIFF);
  const ratings = sha("wl_Kubernetes_bookinfo_ratings-v1");
  const mongo = sha("wl_Kubernetes_bookinfo_mongodb-v1");
  const gone = sha(`${ratings}.${mongo}.tcp`);
  const fromBody = { elements: {
    nodes: [{ data: { id: ratings, label: "ratings-v1" } }, { data: { id: mongo, label: "mongodb-v1", parent: "box1" } }],
    edges: [{ data: { id: gone, source: ratings, target: mongo, protocol: "tcp" } },
      { data: { id: "other", source: ratings, target: "elsewhere", protocol: "http" } }],
  } };
  const ghosts = ghostElements(fromBody, classes, new Set([ratings]));
  assert.deepEqual(ghosts.map((g) => [g.group, g.data.id, g.data.diffGhost]), [["nodes", mongo, true], ["edges", gone, true]]);
  assert.equal(ghosts[0].data.parent, undefined); // its box may be gone: a ghost stands alone
});

test("a push delta applied to the last answer gives the new answer", () => {
  const body = { timestamp: 1, duration: 60, source: { kind: "snapshot" }, elements: {
    nodes: [{ data: { id: "a", healthStatus: "Healthy" } }, { data: { id: "b" } }, { data: { id: "c", isIdle: true } }],
    edges: [{ data: { id: "ab", source: "a", target: "b", rates: { http: 1 } } }, { data: { id: "bc", source: "b", target: "c" } }],
  } };
  const next = applyDelta(body, {
    removed: { nodes: ["c"], edges: ["bc"] },
    added: { nodes: [{ data: { id: "d" } }], edges: [{ data: { id: "ad", source: "a", target: "d" } }] },
    changed: { nodes: [{ id: "a", set: { healthStatus: "Degraded" }, unset: [] }],
      edges: [{ id: "ab", set: { rates: { http: 20 } }, unset: ["percentErr"] }] },
    fields: { timestamp: 2 },
  });
  assert.deepEqual(next.elements.nodes.map((n) => n.data.id), ["a", "b", "d"]);
  assert.deepEqual(next.elements.edges.map((e) => e.data.id), ["ab", "ad"]);
  assert.equal(next.elements.nodes[0].data.healthStatus, "Degraded");
  assert.deepEqual(next.elements.edges[0].data.rates, { http: 20 });
  assert.equal(next.timestamp, 2);
  assert.equal(next.duration, 60);
  assert.equal(body.elements.nodes[0].data.healthStatus, "Healthy"); // the old answer is left as it was
});
