// Graph API elements -> what the page draws: labels, and the difference between two answers
// (pure: no DOM, no Cytoscape), so a live update changes elements in place.

export function nodeLabel(d) {
  if (d.isBox) { return d.isBox === "app" ? d.app : (d.namespace || d.cluster); }
  if (d.nodeType === "unknown") { return "unknown"; }
  if (d.isInaccessible) { return "(inaccessible)"; }
  if (d.nodeType === "service") { return d.service; }
  if (d.nodeType === "app") { return d.version ? `${d.app} ${d.version}` : d.app; } // versioned app graph: "reviews v2"
  return d.workload || d.app;
}

function fixed(v, digits) {
  return Number(v).toFixed(digits);
}

/** Edge rate per second of its protocol (bytes/s for TCP). */
export function edgeRate(d) {
  return (d.rates && d.rates[d.protocol]) || 0;
}

function rateText(d) {
  const rate = edgeRate(d);
  if (d.protocol === "tcp") {
    return rate >= 10000 ? `${fixed(rate / 1000, 1)} kB/s` : `${fixed(rate, 0)} B/s`;
  }
  return `${fixed(rate, 2)} rps`;
}

function present(v) {
  return v !== null && v !== undefined;
}

/** The label of an edge for the chosen parts: rps (rate), err (error %), rt (response time), pct (share %). */
export function edgeLabel(d, parts) {
  const lines = [];
  for (const part of parts) {
    if (part === "rps") { lines.push(rateText(d)); }
    if (part === "err" && d.percentErr > 0) { lines.push(`${fixed(d.percentErr, 1)}% err`); }
    if (part === "rt" && present(d.responseTime) && d.protocol !== "tcp") { lines.push(`${fixed(d.responseTime, 0)} ms`); }
    if (part === "pct" && present(d.percentReq)) { lines.push(`${fixed(d.percentReq, 1)}%`); }
  }
  return lines.join("\n");
}

/**
 * Elements ready for Cytoscape: data plus `label` (and `edgeRate` on edges, for styles), and
 * `sig`, the answer's own data as a string: two answers differ for an element iff their sigs do
 * (labels are left out: they follow the display options, which change them directly).
 */
export function prepare(body, labelParts) {
  const nodes = body.elements.nodes.map((n) => ({
    group: "nodes", sig: JSON.stringify(n.data), data: { ...n.data, label: nodeLabel(n.data) },
  }));
  const edges = body.elements.edges.map((e) => ({
    group: "edges", sig: JSON.stringify(e.data),
    data: { ...e.data, label: edgeLabel(e.data, labelParts), edgeRate: edgeRate(e.data) },
  }));
  return { nodes, edges };
}

/** What diffElements needs to remember of a drawn element. */
export function drawnEntry(el) {
  return { group: el.group, sig: el.sig, parent: el.data.parent || null };
}

/**
 * What to change to go from the drawn elements to the next answer.
 * drawn: Map id -> drawnEntry() of what is drawn; next: prepare() output.
 * Returns {add: [elements], remove: [ids], update: [elements], reparent: [{id, parent}]}.
 * Edges whose ends change identity are new edges (their id includes both ends).
 */
export function diffElements(drawn, next) {
  const add = [];
  const update = [];
  const reparent = [];
  const seen = new Set();
  for (const el of [...next.nodes, ...next.edges]) {
    const id = el.data.id;
    seen.add(id);
    const old = drawn.get(id);
    if (!old || old.group !== el.group) {
      add.push(el);
      continue;
    }
    const parent = el.data.parent || null;
    if (old.parent !== parent) { reparent.push({ id, parent }); }
    if (old.sig !== el.sig) { update.push(el); }
  }
  const remove = [...drawn.keys()].filter((id) => !seen.has(id));
  return { add, remove, update, reparent };
}

/**
 * A position for a node that appears in a live update: next to a drawn neighbour when it has
 * one (so the layout around it does not move), else in a column right of everything.
 * neighbours: positions of drawn nodes it has an edge with; bounds: {x2, y1} of the drawn graph.
 */
export function placeNewNode(neighbours, bounds, index) {
  if (neighbours.length) {
    const x = neighbours.reduce((s, p) => s + p.x, 0) / neighbours.length;
    const y = neighbours.reduce((s, p) => s + p.y, 0) / neighbours.length;
    return { x: x + 60 + 15 * (index % 3), y: y + 50 + 20 * (index % 4) };
  }
  return { x: bounds.x2 + 120, y: bounds.y1 + 70 * index };
}

/** Totals for the summary panel: http/grpc rates, error %, per node count kinds. */
export function summarize(body) {
  let rps = 0;
  let errors = 0;
  let tcp = 0;
  for (const e of body.elements.edges) {
    const d = e.data;
    if (d.protocol === "tcp") { tcp += d.rates.tcp || 0; continue; }
    const rate = edgeRate(d);
    rps += rate;
    errors += (rate * (d.percentErr || 0)) / 100;
  }
  const nodes = body.elements.nodes.filter((n) => !n.data.isBox);
  return {
    nodes: nodes.length,
    edges: body.elements.edges.length,
    rps, tcp,
    percentErr: rps > 0 ? (errors / rps) * 100 : 0,
    unhealthy: nodes.filter((n) => ["Failure", "Degraded"].includes(n.data.healthStatus)),
  };
}
