// The WebSocket graph push's delta (docs/live.md, "Graph push") applied to the last whole answer
// (pure): the result is the body GET /api/clusters/<c>/graph would give for the new snapshot,
// so the page diffs it into the drawn graph exactly as it does a polled answer.

function applyChanges(list, changes) {
  const byId = new Map(changes.map((c) => [c.id, c]));
  return list.map((el) => {
    const change = byId.get(el.data.id);
    if (!change) { return el; }
    const data = { ...el.data, ...(change.set || {}) };
    for (const field of change.unset || []) { delete data[field]; }
    return { ...el, data };
  });
}

/** A new body: `body` with `delta` applied (removals, then additions, then changes, then fields). */
export function applyDelta(body, delta) {
  const removed = delta.removed || {};
  const goneNodes = new Set(removed.nodes || []);
  const goneEdges = new Set(removed.edges || []);
  let nodes = body.elements.nodes.filter((n) => !goneNodes.has(n.data.id));
  let edges = body.elements.edges.filter((e) => !goneEdges.has(e.data.id));
  const added = delta.added || {};
  nodes = nodes.concat(added.nodes || []);
  edges = edges.concat(added.edges || []);
  const changed = delta.changed || {};
  nodes = applyChanges(nodes, changed.nodes || []);
  edges = applyChanges(edges, changed.edges || []);
  return { ...body, ...(delta.fields || {}), elements: { nodes, edges } };
}
