// History on the graph (pure): the snapshot timeline behind the time slider, markers for applied
// changes, replay stepping, and the diff overlay's classes from the history API's diff.
//
// The slider has one stop per snapshot, oldest first, and a last stop that is "live" (now).
// The view state keeps `at` (unix seconds of the snapshot shown; absent: live), `diffFrom`
// (unix seconds: overlay what changed from then to the time shown) and `speed` (replay).

import { sha256Hex } from "./sha256.js";

import { SPEEDS } from "./view-state.js";

export { SPEEDS };
export const STEP_MS = 2000; // one snapshot every 2 s at 1x

/** Snapshots that hold a graph (ok or partial), oldest first; markers for changes and config. */
export function timelineModel(timeline) {
  const snapshots = (timeline.snapshots || [])
    .filter((s) => s.status !== "unreachable")
    .map((s) => ({ id: s.id, at: s.taken_at, status: s.status, health: s.health || {} }))
    .sort((a, b) => a.at - b.at);
  const since = timeline.since;
  const until = timeline.until;
  const span = Math.max(1, until - since);
  const markers = (timeline.events || [])
    .filter((e) => e.type === "change" || e.type === "config")
    .map((e) => ({
      type: e.type, at: e.at, what: e.what, who: e.who || "", link: e.explainedBy || e.link || "",
      action: e.action || "", position: Math.min(1, Math.max(0, (e.at - since) / span)),
    }));
  return { since, until, snapshots, markers };
}

/** The slider stop of time `at` (the latest snapshot at or before it); null/undefined: live. */
export function stopFor(snapshots, at) {
  if (at === null || at === undefined || at === "") { return snapshots.length; }
  let best = 0;
  for (let i = 0; i < snapshots.length; i += 1) {
    if (snapshots[i].at <= Number(at) + 0.5) { best = i; }
  }
  return best;
}

/** The time of a slider stop: a snapshot's (unix s, whole seconds up) or null (live). */
export function timeOfStop(snapshots, stop) {
  return stop >= snapshots.length ? null : Math.ceil(snapshots[stop].at);
}

/** Where a marker sits on the slider (0..1), for a slider whose stops are snapshots then live. */
export function markerPosition(snapshots, at) {
  if (!snapshots.length) { return 1; }
  const n = snapshots.length; // stops 0..n
  let i = 0;
  while (i < n && snapshots[i].at < at) { i += 1; }
  if (i === 0) { return 0; }
  if (i === n) { return (n - 1 + 0.5) / n; } // between the last snapshot and live
  const a = snapshots[i - 1].at;
  const b = snapshots[i].at;
  return (i - 1 + (at - a) / Math.max(1e-9, b - a)) / n;
}

/** Replay: the stop after `stop`, or null at the end (live reached: replay stops). */
export function nextStop(stop, count) {
  return stop + 1 > count ? null : stop + 1;
}

export const stepMs = (speed) => STEP_MS / (SPEEDS.includes(speed) ? speed : 1);

const nodeId = (internal) => sha256Hex(internal);
const edgeId = (src, dst, protocol) => sha256Hex(`${nodeId(src)}.${nodeId(dst)}.${protocol}`);

/**
 * The diff API's answer -> {publicId: "added" | "removed" | "changed"} for nodes and edges, in
 * the graph API's ids. Health changes mark nodes changed; edges whose rate, error % or health
 * moved beyond the threshold are changed.
 */
export function diffClasses(diff) {
  const nodes = {};
  const edges = {};
  const n = diff.nodes || {};
  const e = diff.edges || {};
  for (const node of n.added || []) { if (!node.isInaccessible) { nodes[nodeId(node.id)] = "added"; } }
  for (const node of n.removed || []) { if (!node.isInaccessible) { nodes[nodeId(node.id)] = "removed"; } }
  for (const node of diff.health || []) { nodes[nodeId(node.id)] = nodes[nodeId(node.id)] || "changed"; }
  for (const [verb, rows] of [["added", e.added], ["removed", e.removed], ["changed", e.changed]]) {
    for (const row of rows || []) { edges[edgeId(row.sourceId, row.targetId, row.protocol)] = verb; }
  }
  return { nodes, edges };
}

/**
 * What the drawn graph lacks to show removals: the elements of the earlier answer (`fromBody`)
 * the diff marks removed, as Cytoscape element definitions (nodes before edges), with
 * `diffGhost: true`. Removed edges whose ends are not drawn and not ghosts are left out.
 */
export function ghostElements(fromBody, classes, drawnIds) {
  const nodes = [];
  const have = new Set(drawnIds);
  for (const { data } of fromBody.elements.nodes) {
    if (classes.nodes[data.id] === "removed" && !have.has(data.id)) {
      const { parent, ...rest } = data; // eslint-disable-line no-unused-vars
      nodes.push({ group: "nodes", data: { ...rest, diffGhost: true } });
      have.add(data.id);
    }
  }
  const edges = [];
  for (const { data } of fromBody.elements.edges) {
    if (classes.edges[data.id] === "removed" && have.has(data.source) && have.has(data.target) && !drawnIds.has(data.id)) {
      edges.push({ group: "edges", data: { ...data, diffGhost: true } });
    }
  }
  return [...nodes, ...edges];
}

/** "12:04:05" style label of a stop, "live" for the last. */
export function stopLabel(snapshots, stop, toTime = (t) => new Date(t * 1000).toLocaleTimeString()) {
  return stop >= snapshots.length ? "live" : toTime(snapshots[stop].at);
}
