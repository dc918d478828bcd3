// The traffic graph page: one Cytoscape instance for the page's life (window.cy), fed by a
// live source whose answers are diffed into it in place, so layout, zoom and selection survive
// updates; the view state lives in the URL, positions and viewport in sessionStorage.

import { fitTo, LayoutMemory, placeNew, runLayout } from "./arrange.js";
import { diffElements, drawnEntry, edgeLabel, edgeRate, nodeLabel, prepare } from "./elements.js";
import { tryCompile } from "./find-expr.js";
import { graphStyle } from "./graph-style.js";
import { HistoryBar } from "./history-bar.js";
import { ghostElements } from "./history.js";
import { liveSource } from "./live-source.js";
import { EdgeOverlay } from "./overlay.js";
import { SidePanel } from "./panel.js";
import { apiQuery, DEFAULTS, needsFetch, parseState, stateToQuery, viewKey } from "./view-state.js";

const LARGE = 300; // nodes: simpler edges and hidden small labels
const LABEL_ZOOM = 0.45; // on a large graph, edge labels are in the style only from this zoom on

const config = JSON.parse(document.getElementById("graph-config").textContent);
const form = document.getElementById("graph-controls");
const statusLine = document.getElementById("graph-status");
const liveLine = document.getElementById("graph-live");
const container = document.getElementById("cy");
const findError = document.getElementById("graph-find-error");
const hideError = document.getElementById("graph-hide-error");
const focusBanner = document.getElementById("graph-focus");

const defaults = { ...DEFAULTS, namespaces: config.defaultNamespaces };
// ?live=poll keeps to polling (a proxy without WebSocket; tests of the polling source).
const forcePolling = new URLSearchParams(window.location.search).get("live") === "poll";
let state = parseState(window.location.search, defaults);
state.namespaces = state.namespaces.filter((ns) => config.namespaces.includes(ns));
if (!state.namespaces.length) { state.namespaces = [...config.defaultNamespaces]; }

if (window.cytoscapeDagre) { window.cytoscape.use(window.cytoscapeDagre); }
const cy = window.cytoscape({
  container, style: graphStyle(), elements: [], minZoom: 0.02, maxZoom: 4, boxSelectionEnabled: false,
  selectionType: "single",
});
window.cy = cy;
window.meshdeckCy = cy; // the name earlier tests and bookmarks use
// The toolbar's messages come and go above the graph: Cytoscape must learn where its box now is,
// or clicks land beside the nodes.
new ResizeObserver(() => cy.resize()).observe(container);

const overlay = new EdgeOverlay(cy, document.getElementById("graph-overlay"));
window.meshdeckOverlay = overlay;
const panel = new SidePanel(document.getElementById("graph-details"), config, {
  select: (id, opts) => select(id, opts),
  state: () => state,
});

let lastBody = null;
const drawn = new Map(); // id -> what diffElements needs of each drawn element
const FIXED_KEYS = new Set(["id", "source", "target", "parent"]); // Cytoscape's, never removed
let drawnKey = null;
let large = false;
let edgeLabelsDrawn = true;
let updates = 0;
// How long each answer took: fetched (requestedAt -> receivedAt), applied (start -> end), drawn
// (rendered: Cytoscape's next frame). The browser benchmark reads these.
const timings = [];
window.meshdeckGraph = { timings, updates: () => updates, state: () => ({ ...state }) };

// -- controls <-> state -------------------------------------------------------------
function writeControls() {
  for (const box of form.querySelectorAll("input[name=namespaces]")) { box.checked = state.namespaces.includes(box.value); }
  form.graphType.value = state.graphType;
  form.duration.value = state.duration;
  form.refresh.value = String(state.refresh);
  form.responseTime.value = state.responseTime;
  for (const box of form.querySelectorAll("input[name=edgeLabels]")) { box.checked = state.edgeLabels.includes(box.value); }
  for (const name of ["badges", "injectServiceNodes", "idleNodes", "boxNamespace", "animation"]) {
    form.elements[name].checked = state[name];
  }
  form.find.value = state.find;
  form.hide.value = state.hide;
  updateNamespaceSummary();
}

function readControls() {
  const namespaces = [...form.querySelectorAll("input[name=namespaces]:checked")].map((b) => b.value);
  return {
    ...state,
    namespaces: namespaces.length ? namespaces : state.namespaces,
    graphType: form.graphType.value,
    duration: form.duration.value,
    refresh: Number(form.refresh.value),
    responseTime: form.responseTime.value,
    edgeLabels: [...form.querySelectorAll("input[name=edgeLabels]:checked")].map((b) => b.value),
    badges: form.badges.checked,
    injectServiceNodes: form.injectServiceNodes.checked,
    idleNodes: form.idleNodes.checked,
    boxNamespace: form.boxNamespace.checked,
    animation: form.animation.checked,
  };
}

function updateNamespaceSummary() {
  const out = document.getElementById("graph-ns-summary");
  out.textContent = state.namespaces.length > 2 ? `${state.namespaces.length} namespaces` : state.namespaces.join(", ");
  const none = !form.querySelector("input[name=namespaces]:checked");
  document.getElementById("graph-ns-error").hidden = !none;
}

function saveUrl() {
  window.history.replaceState(null, "", `?${stateToQuery(state, defaults)}${forcePolling ? "&live=poll" : ""}`);
}

// -- layout memory -----------------------------------------------------------------
function storeKey() {
  return viewKey(config.cluster, state);
}

const memory = new LayoutMemory(cy);
const saveLayout = () => memory.save(drawnKey);
const saveLayoutSoon = () => memory.saveSoon(() => drawnKey);

// -- applying an answer in place ----------------------------------------------------
function applyGraph(body, { reason, requestedAt, receivedAt }) {
  const t0 = performance.now();
  lastBody = body;
  clearDiffOverlay(); // ghosts of removed elements are not in `drawn`: they go before the diff
  const isLarge = body.elements.nodes.length > LARGE;
  if (isLarge !== large) {
    large = isLarge;
    edgeLabelsDrawn = !large; // a large graph is first seen whole: syncEdgeLabels() below decides
    cy.style(graphStyle({ large, edgeLabels: edgeLabelsDrawn }));
  }
  const next = prepare(body, state.edgeLabels);
  const diff = diffElements(drawn, next);
  const tDiff = performance.now();
  const key = storeKey();
  const firstDraw = drawnKey === null;
  const keyChanged = key !== drawnKey;
  let added = cy.collection();
  cy.batch(() => {
    cy.remove(cy.collection(diff.remove.map((id) => cy.getElementById(id)))); // one removal, not one per element
    // parents first (the API sends boxes first), then their members, then edges
    added = cy.add(diff.add.filter((e) => e.group === "nodes"));
    for (const { id, parent } of diff.reparent) { cy.getElementById(id).move({ parent }); }
    for (const { data } of diff.update) {
      const ele = cy.getElementById(data.id);
      const gone = Object.keys(ele.data()).filter((k) => !(k in data) && !FIXED_KEYS.has(k));
      if (gone.length) { ele.removeData(gone.join(" ")); }
      const { id, source, target, parent, ...changed } = data; // eslint-disable-line no-unused-vars
      ele.data(changed); // ids, ends and parents are not data to Cytoscape (parents move, above)
    }
    cy.add(diff.add.filter((e) => e.group === "edges"));
  });
  for (const id of diff.remove) { drawn.delete(id); }
  for (const el of diff.add) { drawn.set(el.data.id, drawnEntry(el)); }
  for (const el of diff.update) { drawn.set(el.data.id, drawnEntry(el)); }
  for (const { id, parent } of diff.reparent) { drawn.get(id).parent = parent; }
  const tApply = performance.now();
  const saved = keyChanged ? memory.load(key) : null;
  drawnKey = key;
  const leaves = cy.nodes().filter((n) => !n.isParent()).length;
  if (saved && saved.positions) {
    if (!memory.restore(saved, { viewport: firstDraw })) { runLayout(cy); }
  } else if (firstDraw || (keyChanged && added.length > leaves * 0.3) || (keyChanged && diff.reparent.length)) {
    runLayout(cy); // a new view: lay it out; a live update of the same view keeps every position
  } else if (added.length) {
    placeNew(cy, added);
  }
  syncEdgeLabels();
  paintDiffOverlay();
  const tLayout = performance.now();
  afterData(reason);
  const end = performance.now();
  const timing = { reason, ms: end - t0, requestedAt, receivedAt, start: t0, end, rendered: null,
    nodes: body.elements.nodes.length, edges: body.elements.edges.length, at: Date.now(),
    changes: { add: diff.add.length, remove: diff.remove.length, update: diff.update.length },
    parts: { diff: tDiff - t0, apply: tApply - tDiff, layout: tLayout - tApply, after: end - tLayout } };
  cy.one("render", () => { timing.rendered = performance.now(); }); // the frame that shows it
  timings.push(timing);
  if (timings.length > 50) { timings.shift(); }
  updates += 1;
  saveLayoutSoon();
}

// -- history: the diff overlay ---------------------------------------------------------
// classes: {nodes: {id: verb}, edges: {id: verb}} (verb: added | removed | changed); removed
// elements are drawn as ghosts from the earlier answer, placed beside their neighbours.
let diffOverlay = null;
const DIFF_CLASSES = "diff-added diff-removed diff-changed";

function clearDiffOverlay() {
  cy.batch(() => {
    cy.remove(cy.elements("[?diffGhost]"));
    cy.elements(".diff-added, .diff-removed, .diff-changed").removeClass(DIFF_CLASSES);
  });
}

function paintDiffOverlay() {
  if (!diffOverlay) { return; }
  const { classes, fromBody } = diffOverlay;
  const drawnIds = new Set(cy.elements().map((e) => e.id()));
  const ghosts = ghostElements(fromBody, classes, drawnIds).map((g) => ({
    ...g, data: { ...g.data, label: g.group === "nodes" ? nodeLabel(g.data) : edgeLabel(g.data, state.edgeLabels),
      ...(g.group === "edges" ? { edgeRate: edgeRate(g.data) } : {}) },
  }));
  let added = cy.collection();
  cy.batch(() => {
    added = cy.add(ghosts);
    for (const [group, verbs] of [["nodes", classes.nodes], ["edges", classes.edges]]) {
      for (const [id, verb] of Object.entries(verbs)) {
        const ele = cy.getElementById(id);
        if (ele.nonempty() && (group === "nodes") === ele.isNode()) { ele.addClass(`diff-${verb}`); }
      }
    }
  });
  const ghostNodes = added.nodes();
  if (ghostNodes.length) {
    const fromPositions = memory.load(drawnKey); // where they were when last drawn, if known
    const known = ghostNodes.filter((n) => fromPositions && fromPositions.positions && fromPositions.positions[n.id()]);
    known.forEach((n) => n.position(fromPositions.positions[n.id()]));
    const unknown = ghostNodes.not(known);
    if (unknown.length) { placeNew(cy, unknown); }
  }
}

function setDiffOverlay(next) {
  diffOverlay = next;
  clearDiffOverlay();
  paintDiffOverlay();
  if (lastBody) { afterData("options"); }
}

const HIDING = ".find-hidden, .unfocused";

function afterData(reason) {
  applyFilters();
  applyFocus(false);
  restoreSelection(reason);
  overlay.refreshEdges();
  // counted from classes, not from e.visible(): that computes every element's style (slow on large graphs)
  const nodes = cy.nodes("[^isBox][^diffGhost]").length;
  const edges = cy.edges("[^diffGhost]").length;
  const hiddenNodes = cy.nodes(HIDING).filter("[^isBox]");
  const hiddenCount = hiddenNodes.length + cy.edges(HIDING).union(hiddenNodes.connectedEdges()).length;
  const empty = document.getElementById("graph-empty");
  empty.hidden = nodes > 0;
  if (!nodes) {
    document.getElementById("graph-empty-namespaces").textContent = state.namespaces.join(", ");
    document.getElementById("graph-empty-window").textContent = `last ${form.duration.selectedOptions[0].textContent.replace("Last ", "")}`;
  }
  statusLine.textContent = `${nodes} nodes, ${edges} edges (window ${lastBody.duration}s)` +
    (hiddenCount ? `, ${hiddenCount} hidden` : "");
}

// -- find, hide, focus, selection ----------------------------------------------------
function applyFilters() {
  const find = tryCompile(state.find);
  const hide = tryCompile(state.hide);
  showExpressionError(findError, form.find, find.error);
  showExpressionError(hideError, form.hide, hide.error);
  cy.batch(() => {
    cy.elements(".find-match, .find-hidden").removeClass("find-match find-hidden"); // only those that have them
    if (hide.matcher) {
      cy.elements().filter((e) => hide.matcher.matches(e.data(), e.isNode() ? "node" : "edge")).addClass("find-hidden");
    }
    if (find.matcher) {
      cy.elements().filter((e) => !e.hasClass("find-hidden") && find.matcher.matches(e.data(), e.isNode() ? "node" : "edge"))
        .addClass("find-match");
    }
  });
  const found = find.matcher ? cy.elements(".find-match") : null;
  const result = document.getElementById("graph-find-result");
  result.textContent = found
    ? `${found.nodes().length} node${found.nodes().length === 1 ? "" : "s"} and ${found.edges().length} edge${found.edges().length === 1 ? "" : "s"} match`
    : "";
}

function showExpressionError(box, input, message) {
  box.textContent = message ? `Cannot use this expression: ${message}` : "";
  box.hidden = !message;
  input.setAttribute("aria-invalid", message ? "true" : "false");
}

function applyFocus(fit) {
  cy.elements(".unfocused, .focus-root").removeClass("unfocused focus-root");
  const root = state.focus ? cy.getElementById(state.focus) : null;
  if (!root || root.empty()) {
    focusBanner.hidden = true;
    return;
  }
  const hood = root.closedNeighborhood();
  const keep = hood.union(hood.ancestors());
  cy.elements().not(keep).addClass("unfocused");
  root.addClass("focus-root");
  document.getElementById("graph-focus-name").textContent = root.data("label");
  focusBanner.hidden = false;
  if (fit) { fitTo(cy, keep, { padding: 60, animate: true }); }
}

function focusOn(id) {
  state = { ...state, focus: id || "" };
  saveUrl();
  applyFocus(true);
  overlay.refreshEdges();
  if (!id) { fitTo(cy, null, { animate: true }); }
}

function select(id, { center = false } = {}) {
  const ele = id ? cy.getElementById(id) : null;
  cy.elements(":selected").unselect();
  if (ele && ele.nonempty()) {
    ele.select();
    if (center) { cy.animate({ center: { eles: ele }, duration: 200 }); }
  } else {
    showSelection();
  }
}

function showSelection(target) {
  const ele = target || cy.elements(":selected")[0];
  state = { ...state, select: ele ? ele.id() : "" };
  saveUrl();
  if (ele) { panel.show(ele); } else if (lastBody) { panel.showSummary(lastBody, cy); }
}

function restoreSelection(reason) {
  const ele = state.select ? cy.getElementById(state.select) : null;
  if (ele && ele.nonempty()) {
    if (!ele.selected()) { ele.select(); } // fires "select", which shows the panel
    else if (reason !== "first") { panel.show(ele, { refresh: true }); }
  } else {
    if (state.select) { state = { ...state, select: "" }; saveUrl(); } // the element is gone
    panel.showSummary(lastBody, cy);
  }
}

cy.on("select", "node, edge", (evt) => {
  cy.elements(":selected").not(evt.target).unselect(); // one selection, also when selected from script
  showSelection(evt.target);
});
cy.on("unselect", "node, edge", () => setTimeout(() => { if (!cy.elements(":selected").length) { showSelection(); } }, 0));
cy.on("dbltap", "node", (evt) => { if (!evt.target.data("isBox")) { focusOn(evt.target.id()); } });
// A large graph gets its edge labels back when zoomed in enough to read them (and loses them again).
function syncEdgeLabels() {
  const want = !large || cy.zoom() >= LABEL_ZOOM;
  if (want !== edgeLabelsDrawn) {
    edgeLabelsDrawn = want;
    cy.style(graphStyle({ large, edgeLabels: want }));
  }
}
let labelCheck = null;
cy.on("zoom", () => {
  if (!large || labelCheck) { return; }
  labelCheck = setTimeout(() => { labelCheck = null; syncEdgeLabels(); }, 200);
});
cy.on("dragfree", "node", saveLayoutSoon);
cy.on("viewport", saveLayoutSoon);
document.getElementById("graph-unfocus").addEventListener("click", () => focusOn(""));

// -- live source and its indicator -----------------------------------------------------
function showLive({ state: s, message, retryIn, login, at, via }) {
  const time = at.toLocaleTimeString();
  const shown = state.at ? `Snapshot of ${new Date(state.at * 1000).toLocaleTimeString()}` : "";
  liveLine.dataset.state = s;
  liveLine.className = `live-indicator live-${s}`;
  const text = {
    loading: "Loading the graph…",
    live: via === "push" ? `Live: updated ${time} (pushed after each snapshot)${message ? `. ${message}` : ""}`
      : `Live: updated ${time}, every ${state.refresh} s`,
    paused: shown ? `History: ${shown}` : `Paused: updated ${time}`,
    lost: `Connection lost at ${time}: ${message}${retryIn ? ` Retrying in ${retryIn} s.` : ""}`,
    "caught-up": `Reconnected at ${time}: caught up`,
  }[s];
  liveLine.textContent = text;
  if (login) {
    const link = document.createElement("a");
    link.href = `${config.loginUrl}?next=${encodeURIComponent(window.location.pathname + window.location.search)}`;
    link.textContent = "Log in";
    liveLine.append(" ", link);
  }
  if (s === "lost" && !lastBody) { statusLine.textContent = message; }
}

// Live: the WebSocket push when the portal has it, polling otherwise (live-source.js). A moment of
// history is a fixed answer: while one is shown nothing is refreshed.
const liveInterval = () => (state.at ? 0 : state.refresh);
const source = liveSource({ api: config.api, socket: forcePolling ? "" : config.graphSocket, interval: liveInterval(),
  onGraph: applyGraph, onState: showLive });
window.meshdeckGraph.source = () => source.fallback || source;
source.setQuery(apiQuery(state));

// -- control changes --------------------------------------------------------------------
function update(nextState, { refetch } = {}) {
  const previousNamespaces = state.namespaces.join();
  const fetchIt = refetch || needsFetch(state, nextState);
  const labelsChanged = nextState.edgeLabels.join() !== state.edgeLabels.join();
  const intervalChanged = nextState.refresh !== state.refresh || Boolean(nextState.at) !== Boolean(state.at);
  state = nextState;
  saveUrl();
  updateNamespaceSummary();
  if (labelsChanged) {
    cy.batch(() => cy.edges().forEach((e) => e.data("label", edgeLabel(e.data(), state.edgeLabels))));
  }
  overlay.set({ animation: state.animation, badges: state.badges });
  if (intervalChanged) { source.setInterval(liveInterval()); }
  if (historyBar && nextState.namespaces.join() !== previousNamespaces) { historyBar.load(); }
  else if (historyBar && state.diffFrom && fetchIt) { historyBar.refreshOverlay(); }
  if (fetchIt) {
    saveLayout();
    source.setQuery(apiQuery(state));
    source.refreshNow("refresh");
  } else if (lastBody) {
    afterData("options");
  }
}

form.addEventListener("change", (event) => {
  if (["find", "hide"].includes(event.target.name)) { return; } // applied on Enter or with the button
  if (event.target.name === "namespaces" && !form.querySelector("input[name=namespaces]:checked")) {
    updateNamespaceSummary();
    document.getElementById("graph-ns-error").hidden = false;
    return;
  }
  update(readControls());
});
// Enter in Find or Hide (or the Apply button) applies the expressions; nothing is fetched for them
form.addEventListener("submit", (event) => {
  event.preventDefault();
  update({ ...readControls(), find: form.find.value.trim(), hide: form.hide.value.trim() });
});

// -- history: time slider, replay, change markers, diff overlay -------------------------
const historyRoot = document.getElementById("graph-history");
const historyBar = historyRoot && config.timelineApi && config.diffApi ? new HistoryBar(historyRoot, {
  api: { graph: config.api, timeline: config.timelineApi, diff: config.diffApi },
  getState: () => state,
  setState: (partial) => update({ ...readControls(), ...partial }),
  onOverlay: setDiffOverlay,
}) : null;
window.meshdeckHistory = historyBar;
document.getElementById("graph-refresh").addEventListener("click", () => update(readControls(), { refetch: true }));
for (const [id, value] of [["graph-ns-all", true], ["graph-ns-none", false]]) {
  document.getElementById(id).addEventListener("click", () => {
    form.querySelectorAll("input[name=namespaces]").forEach((b) => { b.checked = value; });
    if (value) { update(readControls()); } else { updateNamespaceSummary(); }
  });
}

// -- viewport buttons and keys ----------------------------------------------------------
const zoomBy = (factor) => cy.zoom({ level: cy.zoom() * factor,
  renderedPosition: { x: container.clientWidth / 2, y: container.clientHeight / 2 } });
document.getElementById("graph-fit").addEventListener("click", () => fitTo(cy, null, { animate: true }));
document.getElementById("graph-zoom-in").addEventListener("click", () => zoomBy(1.25));
document.getElementById("graph-zoom-out").addEventListener("click", () => zoomBy(0.8));
document.getElementById("graph-relayout").addEventListener("click", () => { runLayout(cy); saveLayout(); });
const legend = document.getElementById("graph-legend");
const legendButton = document.getElementById("graph-legend-toggle");
legendButton.addEventListener("click", () => {
  legend.hidden = !legend.hidden;
  legendButton.setAttribute("aria-expanded", String(!legend.hidden));
});
container.addEventListener("keydown", (event) => {
  const step = 60;
  const keys = {
    ArrowLeft: () => cy.panBy({ x: step, y: 0 }), ArrowRight: () => cy.panBy({ x: -step, y: 0 }),
    ArrowUp: () => cy.panBy({ x: 0, y: step }), ArrowDown: () => cy.panBy({ x: 0, y: -step }),
    "+": () => zoomBy(1.25), "=": () => zoomBy(1.25), "-": () => zoomBy(0.8), 0: () => fitTo(cy),
    Escape: () => (state.focus ? focusOn("") : select("")),
  };
  if (keys[event.key]) {
    event.preventDefault();
    keys[event.key]();
  }
});
// Close an open dropdown with Escape, as menus do.
for (const details of form.querySelectorAll("details.dropdown")) {
  details.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && details.open) {
      details.open = false;
      details.querySelector("summary").focus();
    }
  });
}

writeControls();
saveUrl();
overlay.set({ animation: state.animation, badges: state.badges });
if (config.error) {
  statusLine.textContent = config.error;
} else if (!config.namespaces.length) {
  statusLine.textContent = "You may see no namespace of this cluster: ask a cluster admin for a grant.";
} else {
  source.start();
  if (historyBar) { historyBar.load(); }
}
