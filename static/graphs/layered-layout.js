// A fast left-to-right layered layout for large graphs (pure: plain data in, positions out).
//
// Dagre takes minutes on the large mesh (1,000 nodes, 5,000 edges): its crossing minimisation
// and long-edge dummies grow fast. This does what matters for a traffic graph in linear time:
// callers left of callees (longest-path ranks, cycles broken), a few barycenter sweeps so
// connected nodes sit near each other, and, with boxes, each box laid out on its own and the
// boxes packed in rows so they never overlap.

function layered(ids, edges, { rankSep, nodeSep }) {
  const index = new Map(ids.map((id, i) => [id, i]));
  const out = ids.map(() => []);
  const inn = ids.map(() => []);
  for (const { source, target } of edges) {
    const s = index.get(source);
    const t = index.get(target);
    if (s === undefined || t === undefined || s === t) { continue; }
    out[s].push(t);
    inn[t].push(s);
  }
  // Break cycles: an iterative DFS marks back edges, which ranking ignores.
  const colour = new Uint8Array(ids.length); // 0 new, 1 on the stack, 2 done
  const back = new Set();
  const order = [];
  for (let start = 0; start < ids.length; start += 1) {
    if (colour[start]) { continue; }
    const stack = [[start, 0]];
    colour[start] = 1;
    while (stack.length) {
      const top = stack[stack.length - 1];
      const [v, i] = top;
      if (i < out[v].length) {
        top[1] += 1;
        const w = out[v][i];
        if (colour[w] === 1) { back.add(`${v}>${w}`); } else if (colour[w] === 0) {
          colour[w] = 1;
          stack.push([w, 0]);
        }
      } else {
        colour[v] = 2;
        order.push(v);
        stack.pop();
      }
    }
  }
  // Longest-path ranks in topological order (reverse DFS post-order).
  const rank = new Int32Array(ids.length);
  for (let k = order.length - 1; k >= 0; k -= 1) {
    const v = order[k];
    for (const w of out[v]) {
      if (!back.has(`${v}>${w}`) && rank[w] < rank[v] + 1) { rank[w] = rank[v] + 1; }
    }
  }
  // A pure source sits just left of its first callee rather than at rank 0 far away.
  for (let v = 0; v < ids.length; v += 1) {
    if (!inn[v].length && out[v].length) {
      const nearest = Math.min(...out[v].map((w) => rank[w]));
      if (nearest - 1 > rank[v]) { rank[v] = nearest - 1; }
    }
  }
  const layers = [];
  for (let k = order.length - 1; k >= 0; k -= 1) {
    const v = order[k];
    (layers[rank[v]] = layers[rank[v]] || []).push(v);
  }
  const pos = new Float64Array(ids.length);
  const place = () => layers.forEach((layer) => layer && layer.forEach((v, i) => { pos[v] = i - (layer.length - 1) / 2; }));
  place();
  const sweep = (neighbours) => {
    for (const layer of layers) {
      if (!layer) { continue; }
      const key = new Map();
      for (const v of layer) {
        const ns = neighbours[v];
        key.set(v, ns.length ? ns.reduce((s, w) => s + pos[w], 0) / ns.length : pos[v]);
      }
      layer.sort((a, b) => key.get(a) - key.get(b));
      layer.forEach((v, i) => { pos[v] = i - (layer.length - 1) / 2; });
    }
  };
  for (let i = 0; i < 3; i += 1) {
    sweep(inn);
    layers.reverse();
    sweep(out);
    layers.reverse();
  }
  const positions = new Map();
  ids.forEach((id, v) => positions.set(id, { x: rank[v] * rankSep, y: pos[v] * nodeSep }));
  return positions;
}

function bounds(positions) {
  let x1 = Infinity; let y1 = Infinity; let x2 = -Infinity; let y2 = -Infinity;
  for (const p of positions.values()) {
    x1 = Math.min(x1, p.x); y1 = Math.min(y1, p.y); x2 = Math.max(x2, p.x); y2 = Math.max(y2, p.y);
  }
  return { x1, y1, x2, y2, w: x2 - x1, h: y2 - y1 };
}

/**
 * Positions for `nodes` ([{id, parent}], compound boxes excluded) and `edges` ([{source, target}]).
 * `outermost(id)` names a node's outermost box (or null): boxes are laid out separately and packed.
 * Returns Map id -> {x, y}.
 */
export function layeredLayout(nodes, edges, { outermost = () => null, rankSep = 170, nodeSep = 56, gap = 120 } = {}) {
  const groups = new Map();
  for (const n of nodes) {
    const g = outermost(n.id) || "";
    if (!groups.has(g)) { groups.set(g, []); }
    groups.get(g).push(n.id);
  }
  if (groups.size <= 1) { return layered(nodes.map((n) => n.id), edges, { rankSep, nodeSep }); }
  const groupOf = new Map();
  for (const [g, ids] of groups) { ids.forEach((id) => groupOf.set(id, g)); }
  const inner = new Map([...groups.keys()].map((g) => [g, []]));
  for (const e of edges) {
    const g = groupOf.get(e.source);
    if (g !== undefined && g === groupOf.get(e.target)) { inner.get(g).push(e); }
  }
  const laid = [...groups.entries()].map(([g, ids]) => {
    const positions = layered(ids, inner.get(g), { rankSep, nodeSep });
    return { positions, box: bounds(positions) };
  });
  // Shelf packing, widest row about the square root of the total area.
  const area = laid.reduce((s, l) => s + (l.box.w + gap) * (l.box.h + gap), 0);
  const rowWidth = Math.max(Math.sqrt(area) * 1.4, ...laid.map((l) => l.box.w + gap));
  laid.sort((a, b) => b.box.h - a.box.h);
  const result = new Map();
  let x = 0; let y = 0; let rowHeight = 0;
  for (const { positions, box } of laid) {
    if (x > 0 && x + box.w > rowWidth) { x = 0; y += rowHeight + gap; rowHeight = 0; }
    for (const [id, p] of positions) { result.set(id, { x: x + p.x - box.x1, y: y + p.y - box.y1 }); }
    x += box.w + gap;
    rowHeight = Math.max(rowHeight, box.h);
  }
  return result;
}
