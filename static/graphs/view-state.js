// The graph page's whole view state, read from and written to the URL (pure: no DOM).
//
// What the server computes (namespaces, graph type, duration, service nodes, idle nodes,
// boxes, response-time quantile) is sent to the graph API; the rest (refresh interval,
// edge labels, badges, animation, find, hide, focus, selection) is drawn in the browser.
// Layout, zoom and pan are not in the URL (too long to share): they live in sessionStorage
// keyed by viewKey(), so a refresh keeps them.

export const GRAPH_TYPES = ["app", "versionedApp", "workload", "service"];
export const DURATIONS = ["60s", "5m", "10m", "30m", "1h", "3h", "6h"];
export const REFRESH_SECONDS = [0, 10, 15, 30, 60, 300];
export const EDGE_LABELS = ["rps", "err", "rt", "pct"];
export const RESPONSE_TIMES = ["50", "95", "99", "avg"];

export const DEFAULTS = Object.freeze({
  namespaces: [],
  graphType: "versionedApp",
  duration: "60s",
  refresh: 15,
  edgeLabels: ["rps"],
  responseTime: "95",
  badges: false,
  injectServiceNodes: true,
  idleNodes: false,
  boxNamespace: false,
  animation: false,
  find: "",
  hide: "",
  focus: "",
  select: "",
  at: null, // history: unix seconds of the snapshot shown; null = live
  diffFrom: null, // history: overlay what changed from this time (unix s) to the time shown
  speed: 1, // history replay speed
});

export const SPEEDS = [1, 2, 4, 8];

function unixSeconds(raw) {
  const n = Number(raw);
  return raw !== null && raw !== "" && Number.isFinite(n) && n > 0 ? Math.round(n) : null;
}

// URL parameter name -> state field, for booleans (1/0).
const FLAGS = { badges: "badges", serviceNodes: "injectServiceNodes", idle: "idleNodes", boxes: "boxNamespace",
  anim: "animation" };

function list(value) {
  return value.split(",").map((v) => v.trim()).filter(Boolean);
}

function oneOf(value, allowed, fallback) {
  return allowed.includes(value) ? value : fallback;
}

/** State from a query string; unknown or bad values fall back to `defaults` (never throws). */
export function parseState(search, defaults = DEFAULTS) {
  const q = new URLSearchParams(search);
  const s = { ...DEFAULTS, ...defaults };
  if (q.has("namespaces")) { s.namespaces = list(q.get("namespaces")); }
  s.graphType = oneOf(q.get("graphType"), GRAPH_TYPES, s.graphType);
  s.duration = oneOf(q.get("duration"), DURATIONS, s.duration);
  if (q.has("refresh")) {
    const n = Number(q.get("refresh"));
    s.refresh = REFRESH_SECONDS.includes(n) ? n : s.refresh;
  }
  if (q.has("edges")) {
    s.edgeLabels = q.get("edges") === "none" ? [] : list(q.get("edges")).filter((v) => EDGE_LABELS.includes(v));
  }
  s.responseTime = oneOf(q.get("rt"), RESPONSE_TIMES, s.responseTime);
  for (const [param, field] of Object.entries(FLAGS)) {
    if (q.has(param)) { s[field] = q.get(param) === "1" || q.get(param) === "true"; }
  }
  for (const field of ["find", "hide", "focus", "select"]) {
    if (q.has(field)) { s[field] = q.get(field); }
  }
  s.at = unixSeconds(q.get("at"));
  s.diffFrom = unixSeconds(q.get("diffFrom"));
  if (q.has("speed")) {
    const n = Number(q.get("speed"));
    s.speed = SPEEDS.includes(n) ? n : s.speed;
  }
  return s;
}

/** The shareable query string: namespaces, graph type and duration always, the rest when not default. */
export function stateToQuery(state, defaults = DEFAULTS) {
  const d = { ...DEFAULTS, ...defaults };
  const q = new URLSearchParams();
  if (state.namespaces.length) { q.set("namespaces", state.namespaces.join(",")); }
  q.set("graphType", state.graphType);
  q.set("duration", state.duration);
  if (state.refresh !== d.refresh) { q.set("refresh", String(state.refresh)); }
  if (state.edgeLabels.join(",") !== d.edgeLabels.join(",")) {
    q.set("edges", state.edgeLabels.length ? state.edgeLabels.join(",") : "none");
  }
  if (state.responseTime !== d.responseTime) { q.set("rt", state.responseTime); }
  for (const [param, field] of Object.entries(FLAGS)) {
    if (state[field] !== d[field]) { q.set(param, state[field] ? "1" : "0"); }
  }
  for (const field of ["find", "hide", "focus", "select"]) {
    if (state[field]) { q.set(field, state[field]); }
  }
  if (state.at) { q.set("at", String(state.at)); }
  if (state.diffFrom) { q.set("diffFrom", String(state.diffFrom)); }
  if (state.speed && state.speed !== d.speed) { q.set("speed", String(state.speed)); }
  return q.toString();
}

/** Parameters of GET /api/clusters/<c>/graph for this state. */
export function apiQuery(state) {
  const q = new URLSearchParams();
  if (state.namespaces.length) { q.set("namespaces", state.namespaces.join(",")); }
  q.set("graphType", state.graphType);
  q.set("duration", state.duration);
  q.set("injectServiceNodes", state.injectServiceNodes ? "true" : "false");
  q.set("idleNodes", state.idleNodes ? "true" : "false");
  if (state.boxNamespace) { q.set("boxBy", "namespace"); }
  q.set("responseTime", state.responseTime);
  if (state.at) { q.set("at", String(state.at)); } // a stored snapshot (the history API's time travel)
  return q.toString();
}

/** What decides the node set and so the layout: positions are stored per view key. */
export function viewKey(cluster, state) {
  return ["graph", cluster, [...state.namespaces].sort().join(","), state.graphType,
    state.injectServiceNodes ? "svc" : "nosvc", state.idleNodes ? "idle" : "noidle",
    state.boxNamespace ? "box" : "nobox"].join("|");
}

/** True when going from state a to b needs new data from the server. */
export function needsFetch(a, b) {
  return apiQuery(a) !== apiQuery(b);
}
