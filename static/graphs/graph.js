// Meshdeck traffic graph page: loads /api/clusters/<name>/graph into Cytoscape.js.
(function () {
  "use strict";
  const form = document.getElementById("graph-controls");
  const status = document.getElementById("graph-status");
  const details = document.getElementById("graph-details");
  if (window.cytoscapeDagre && window.cytoscape) { window.cytoscape.use(window.cytoscapeDagre); }

  const HEALTH = { Healthy: "#3e8635", Degraded: "#f0ab00", Failure: "#c9190b", NA: "#8a8d90" };

  function nodeLabel(d) {
    if (d.isBox) { return d.isBox === "app" ? d.app : (d.namespace || d.cluster); }
    if (d.isInaccessible && d.nodeType !== "unknown") { return "(inaccessible)"; }
    if (d.nodeType === "unknown") { return "unknown"; }
    if (d.nodeType === "service") { return d.service; }
    if (d.workload) { return d.workload; }
    return d.version ? d.app + " " + d.version : d.app;
  }

  function num(v, digits) { return v === null || v === undefined ? "" : Number(v).toFixed(digits); }

  function edgeLabel(d, mode) {
    if (mode === "none") { return ""; }
    if (mode === "err") { return d.percentErr ? num(d.percentErr, 1) + "%" : ""; }
    if (mode === "p95") { return d.responseTime !== undefined && d.responseTime !== null ? num(d.responseTime, 0) + "ms" : ""; }
    if (mode === "mtls") { return d.isMTLS !== null && d.isMTLS !== undefined ? num(d.isMTLS, 0) + "% mTLS" : ""; }
    const rate = d.rates[d.protocol] || 0;
    return d.protocol === "tcp" ? num(rate, 0) + " B/s" : num(rate, 2) + " rps";
  }

  function query() {
    const data = new FormData(form);
    const params = new URLSearchParams();
    const ns = data.getAll("namespaces");
    if (ns.length) { params.set("namespaces", ns.join(",")); }
    params.set("graphType", data.get("graphType"));
    params.set("duration", data.get("duration"));
    params.set("injectServiceNodes", data.get("injectServiceNodes") ? "true" : "false");
    params.set("idleNodes", data.get("idleNodes") ? "true" : "false");
    if (data.get("boxNamespace")) { params.set("boxBy", "namespace"); }
    return params;
  }

  function show(element) {
    const d = element.data();
    const named = element.isEdge() ? { from: element.source().data("label"), to: element.target().data("label") } : {};
    const hidden = new Set(["id", "parent", "source", "target", "label"]);
    const rows = Object.entries(named).concat(
      Object.entries(d).filter(([k, v]) => v !== null && typeof v !== "object" && !hidden.has(k)));
    const rates = d.rates || d.traffic || {};
    details.replaceChildren();
    const dl = document.createElement("dl");
    for (const [k, v] of rows.concat(Object.entries(rates))) {
      const dt = document.createElement("dt"); dt.textContent = k;
      const dd = document.createElement("dd"); dd.textContent = String(v);
      dl.append(dt, dd);
    }
    details.append(dl);
  }

  async function load(event) {
    if (event) { event.preventDefault(); }
    status.textContent = "Loading…";
    const mode = new FormData(form).get("edgeLabel");
    let resp;
    try {
      resp = await fetch(form.dataset.api + "?" + query().toString(), { credentials: "same-origin" });
    } catch (err) {
      status.textContent = "Could not reach the server."; return;
    }
    const body = await resp.json().catch(() => ({}));
    if (!resp.ok) { status.textContent = body.error || body.detail || ("Error " + resp.status); return; }
    body.elements.nodes.forEach((n) => { n.data.label = nodeLabel(n.data); });
    body.elements.edges.forEach((e) => { e.data.label = edgeLabel(e.data, mode); });
    const cy = window.cytoscape({
      container: document.getElementById("cy"),
      elements: body.elements,
      layout: window.cytoscapeDagre ? { name: "dagre", rankDir: "LR" } : { name: "breadthfirst" },
      style: [
        { selector: "node", style: { label: "data(label)", "font-size": 10, "background-color": (n) => HEALTH[n.data("healthStatus")] || "#6a6e73" } },
        { selector: "node[nodeType = 'service']", style: { shape: "triangle" } },
        { selector: "node[nodeType = 'app']", style: { shape: "ellipse" } },
        { selector: "node[nodeType = 'workload']", style: { shape: "round-rectangle" } },
        { selector: "node[?isIdle]", style: { opacity: 0.5 } },
        { selector: "node[isBox]", style: { "background-opacity": 0.05, "text-valign": "top", shape: "round-rectangle" } },
        { selector: "edge", style: { label: "data(label)", "font-size": 9, "curve-style": "bezier", "target-arrow-shape": "triangle",
          width: 1.5, "line-color": (e) => HEALTH[e.data("healthStatus")] || "#8a8d90", "target-arrow-color": (e) => HEALTH[e.data("healthStatus")] || "#8a8d90" } },
        { selector: "edge[protocol = 'tcp']", style: { "line-style": "dashed" } },
      ],
    });
    cy.on("tap", "node, edge", (evt) => show(evt.target));
    window.meshdeckCy = cy;  // for tests and the browser console
    const shown = query();
    shown.delete("injectServiceNodes"); shown.delete("idleNodes");
    history.replaceState(null, "", "?" + shown.toString());  // shareable URL of what is shown
    status.textContent = body.elements.nodes.length + " nodes, " + body.elements.edges.length + " edges (window " + body.duration + "s)";
  }

  form.addEventListener("submit", load);
  load();
}());
