// Cytoscape stylesheet of the traffic graph. Health colours follow Kiali's (and the legend's):
// the node border and the edge line say Healthy / Degraded / Failure; grey is no traffic.

export const HEALTH_COLOURS = { Healthy: "#3e8635", Degraded: "#f0ab00", Failure: "#c9190b", NA: "#8a8d90" };
const NO_HEALTH = "#6a6e73";
const FIND = "#0066cc";
export const DIFF = { added: "#3e8635", removed: "#c9190b", changed: "#f0ab00" };

// Colours by selector, not by function: Cytoscape caches selector styles, while a function is
// called again for every element on every style update (seconds on the large mesh).
function healthRules(group, property, arrow) {
  return Object.entries(HEALTH_COLOURS).map(([status, colour]) => ({
    selector: `${group}[healthStatus = "${status}"]`,
    style: arrow ? { [property]: colour, "target-arrow-color": colour } : { [property]: colour },
  }));
}

/**
 * large: a graph of hundreds of nodes (straight edges, no arrows, labels only when readable);
 * edgeLabels: false leaves edge labels out of the style. On a large graph seen whole they would be
 * too small to draw anyway, but Cytoscape still measures every changed label: leaving them out is
 * what keeps a live update of thousands of edges quick (the page turns them on when zoomed in).
 */
export function graphStyle({ large = false, edgeLabels = true } = {}) {
  return [
    { selector: "node", style: {
      label: "data(label)", "font-size": 10, "text-valign": "bottom", "text-margin-y": 3,
      "text-background-color": "#ffffff", "text-background-opacity": 0.8, "text-background-padding": 1,
      "background-color": "#ffffff", "border-width": 3, "border-color": NO_HEALTH, width: 26, height: 26,
      "min-zoomed-font-size": large ? 9 : 5 } },
    ...healthRules("node", "border-color", false),
    { selector: "node[nodeType = 'workload']", style: { shape: "ellipse" } },
    { selector: "node[nodeType = 'app']", style: { shape: "round-rectangle" } },
    { selector: "node[nodeType = 'service']", style: { shape: "round-triangle", width: 24, height: 22 } },
    { selector: "node[?isServiceEntry]", style: { shape: "round-diamond" } },
    { selector: "node[nodeType = 'unknown']", style: { shape: "round-tag", "background-color": "#f0f0f0" } },
    { selector: "node[?isInaccessible]", style: { "border-style": "dashed", "background-color": "#f0f0f0" } },
    { selector: "node[?isRoot]", style: { "border-style": "double", "border-width": 5 } },
    { selector: "node[?isIdle]", style: { "border-style": "dotted", opacity: 0.6 } },
    { selector: "node[isBox]", style: {
      shape: "round-rectangle", "background-color": "#f5f6f8", "background-opacity": 0.7, "border-width": 1,
      "border-color": "#8a8d90", "text-valign": "top", "text-halign": "center", "text-margin-y": -2,
      "font-size": 11, "font-weight": "bold", padding: 12 } },
    { selector: "node[isBox = 'app']", style: { "border-style": "dashed", "background-opacity": 0.3 } },
    { selector: "edge", style: {
      label: edgeLabels ? "data(label)" : "", "font-size": 8, "text-wrap": "wrap", "curve-style": large ? "haystack" : "bezier",
      "target-arrow-shape": large ? "none" : "triangle", "arrow-scale": 0.8, width: 1.5,
      "line-color": NO_HEALTH, "target-arrow-color": NO_HEALTH,
      "text-background-color": "#ffffff", "text-background-opacity": 0.85, "text-background-padding": 1,
      "text-rotation": large ? "none" : "autorotate", "min-zoomed-font-size": large ? 8 : 4 } },
    ...healthRules("edge", "line-color", true),
    { selector: "edge[protocol = 'tcp']", style: { "line-style": "dashed" } },
    { selector: "edge[edgeRate = 0]", style: { "line-color": HEALTH_COLOURS.NA, "target-arrow-color": HEALTH_COLOURS.NA } },
    { selector: ":selected", style: { "overlay-color": FIND, "overlay-opacity": 0.18, "overlay-padding": 6 } },
    { selector: "node:selected", style: { "border-width": 5 } },
    { selector: "edge:selected", style: { width: 4 } },
    { selector: ".find-match", style: { "underlay-color": "#ffd11a", "underlay-opacity": 0.85, "underlay-padding": 7 } },
    { selector: ".find-hidden", style: { display: "none" } },
    { selector: ".unfocused", style: { display: "none" } },
    { selector: ".focus-root", style: { "border-width": 6 } },
    // history diff overlay: added green, removed red (ghosts of the earlier graph), changed amber
    { selector: ".diff-added", style: { "underlay-color": DIFF.added, "underlay-opacity": 0.55, "underlay-padding": 8 } },
    { selector: ".diff-changed", style: { "underlay-color": DIFF.changed, "underlay-opacity": 0.6, "underlay-padding": 8 } },
    { selector: ".diff-removed", style: { "underlay-color": DIFF.removed, "underlay-opacity": 0.5, "underlay-padding": 8,
      opacity: 0.75 } },
    { selector: "node[?diffGhost]", style: { "border-style": "dashed", "border-color": DIFF.removed } },
    { selector: "edge[?diffGhost]", style: { "line-style": "dashed", "line-color": DIFF.removed, "target-arrow-color": DIFF.removed } },
  ];
}
