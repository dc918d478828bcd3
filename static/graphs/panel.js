// The side panel: a summary of the graph when nothing is selected; for a node or an edge its
// traffic (inbound/outbound req/s, error %), p50/p95/p99 and request charts over the window
// (GET /api/clusters/<c>/graph/series, drawn with Chart.js), and links to its pages, Grafana
// and tracing. Built with DOM calls (no HTML strings, no inline styles: CSP).

import { edgeRate, summarize } from "./elements.js";

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) { continue; }
    if (k === "class") { node.className = v; } else if (k === "text") { node.textContent = v; } else { node.setAttribute(k, v); }
  }
  node.append(...children.filter((c) => c !== null && c !== undefined));
  return node;
}

function fmt(v, digits, unit = "") {
  return v === null || v === undefined || Number.isNaN(v) ? "—" : `${Number(v).toFixed(digits)}${unit}`;
}

function healthBadge(status) {
  if (!["Healthy", "Degraded", "Failure"].includes(status)) {
    return el("span", { class: "health health-na" }, el("span", { class: "dot", "aria-hidden": "true" }), "n/a");
  }
  return el("span", { class: `health health-${status.toLowerCase()}` },
    el("span", { class: "dot", "aria-hidden": "true" }), status);
}

function facts(rows) {
  const dl = el("dl", { class: "facts compact" });
  for (const [k, v] of rows) {
    if (v === null || v === undefined || v === "") { continue; }
    dl.append(el("dt", { text: k }), el("dd", {}, typeof v === "string" || typeof v === "number" ? String(v) : v));
  }
  return dl;
}

/** The series API's query for a node (as destination or source) — null when it has none. */
export function peerQuery(d, prefix, graphType) {
  const key = (name) => (prefix ? prefix + name[0].toUpperCase() + name.slice(1) : name);
  if (d.nodeType === "unknown") { return prefix ? { [key("namespace")]: "unknown" } : null; }
  if (d.isInaccessible || d.isBox || !d.namespace) { return null; }
  const q = { [key("namespace")]: d.namespace };
  if (d.nodeType === "workload" && d.workload) { q[key("workload")] = d.workload; } else if (d.nodeType === "service" && d.service) {
    q[key("service")] = d.service;
  } else if (d.nodeType === "app" && d.app) {
    q[key("app")] = d.app;
    if (d.version && graphType === "versionedApp") { q[key("version")] = d.version; }
  } else { return null; }
  return q;
}

/** Run `change` (which replaces part of `root`) and put the focus back on the same control. */
function keepFocus(root, change) {
  const active = document.activeElement;
  const key = active && root.contains(active) && active !== root
    ? [active.tagName, active.textContent, active.getAttribute("id")] : null;
  change();
  if (!key) { return; }
  const again = [...root.querySelectorAll(key[0])].find((n) => n.textContent === key[1] && n.getAttribute("id") === key[2]);
  if (again) { again.focus(); }
}

function fillTemplate(template, values) {
  return Object.entries(values).reduce((url, [k, v]) => url.replace(`__${k}__`, encodeURIComponent(v)), template);
}

export class SidePanel {
  constructor(root, config, hooks) {
    this.root = root;
    this.config = config;
    this.hooks = hooks; // {select(id), state()}
    this.charts = [];
    this.selected = null;
    this.direction = "inbound";
    this.seriesRequest = 0;
  }

  destroyCharts() {
    for (const c of this.charts) { c.destroy(); }
    this.charts = [];
  }

  /** Nothing selected: what is drawn, the unhealthy nodes (as buttons: a keyboard way in), go-to. */
  showSummary(body, cy) {
    this.selected = null;
    this.infoBox = null;
    this.destroyCharts();
    const s = summarize(body);
    const state = this.hooks.state();
    const content = [
      el("h2", { text: "Graph" }),
      facts([["Namespaces", state.namespaces.join(", ") || "all you may see"], ["Nodes", s.nodes], ["Edges", s.edges],
        ["HTTP + gRPC", `${fmt(s.rps, 2)} req/s (sum over edges)`], ["Errors", fmt(s.percentErr, 1, "%")],
        ["TCP", s.tcp ? `${fmt(s.tcp, 0)} B/s` : null], ["Window", `${body.duration} s`]]),
    ];
    const goto = el("form", { class: "goto", id: "graph-goto" },
      el("label", { for: "graph-goto-input", text: "Go to node" }),
      el("input", { id: "graph-goto-input", list: "graph-node-names", autocomplete: "off",
        placeholder: "name, e.g. reviews-v2" }),
      el("button", { type: "submit", text: "Select" }));
    const labels = [...new Set(cy.nodes("[^isBox]").map((n) => n.data("label")))].sort();
    const key = labels.join("\n");
    if (key !== this.namesKey) { // rebuilt only when the drawn names change (1,000 options on a large mesh)
      this.namesKey = key;
      this.names = el("datalist", { id: "graph-node-names" });
      for (const label of labels) { this.names.append(el("option", { value: label })); }
    }
    const names = this.names;
    const gotoError = el("p", { class: "error", id: "graph-goto-error", role: "alert", hidden: true });
    goto.addEventListener("submit", (event) => {
      event.preventDefault();
      const wanted = goto.querySelector("input").value.trim();
      const node = cy.nodes().filter((n) => n.data("label") === wanted && !n.data("isBox"))[0];
      if (node) { this.hooks.select(node.id(), { center: true }); } else {
        gotoError.textContent = `No node named “${wanted}” is drawn.`;
        gotoError.hidden = false;
      }
    });
    content.push(goto, names, gotoError);
    if (s.unhealthy.length) {
      const list = el("ul", { class: "plain-list" });
      for (const n of s.unhealthy.slice(0, 12)) {
        const b = el("button", { type: "button", class: "link" }, healthBadge(n.data.healthStatus), " ",
          cy.getElementById(n.data.id).data("label") || n.data.id);
        b.addEventListener("click", () => this.hooks.select(n.data.id, { center: true }));
        list.append(el("li", {}, b));
      }
      content.push(el("h3", { text: "Needs attention" }), list);
    } else {
      content.push(el("p", { class: "muted", text: "Every node with traffic is healthy." }));
    }
    content.push(el("p", { class: "muted small",
      text: "Click a node or an edge for its traffic and charts; double-click a node to focus on its neighbours." }));
    this.root.replaceChildren(...content);
  }

  show(ele, { refresh = false } = {}) {
    const again = refresh && this.selected && this.selected.id() === ele.id() && this.infoBox;
    this.selected = ele;
    const info = el("div", { class: "panel-info" }, ...(ele.isEdge() ? this.edgeParts(ele) : this.nodeParts(ele)));
    if (again) { // a live update: new figures, same charts (updated in place), focus kept
      keepFocus(this.root, () => this.infoBox.replaceWith(info));
      this.infoBox = info;
      this.loadSeries(ele, this.chartsBox);
      return;
    }
    this.destroyCharts();
    this.infoBox = info;
    this.chartsBox = this.chartBlock(ele);
    keepFocus(this.root, () => this.root.replaceChildren(info, this.chartsBox));
    this.loadSeries(ele, this.chartsBox);
  }

  links(d) {
    const cfg = this.config;
    const out = [];
    if (d.nodeType === "workload" && d.workload && d.namespace && !d.isInaccessible) {
      out.push(el("a", { href: fillTemplate(cfg.workloadUrl, { NS: d.namespace, NAME: d.workload }), text: "Workload details" }));
    }
    const service = d.service || (d.nodeType === "service" ? d.service : null);
    if (service && d.namespace && !d.isServiceEntry && !d.isInaccessible) {
      out.push(el("a", { href: fillTemplate(cfg.serviceUrl, { NS: d.namespace, NAME: service }), text: "Service details" }));
    }
    if (cfg.grafanaUrl && d.namespace && !d.isInaccessible && d.nodeType !== "unknown") {
      const base = cfg.grafanaUrl.replace(/\/$/, "");
      const url = d.nodeType === "service" && d.service
        ? `${base}/d/LJ_uJAvmk/istio-service-dashboard?var-service=${encodeURIComponent(`${d.service}.${d.namespace}.svc.cluster.local`)}`
        : `${base}/d/UbsSZTDik/istio-workload-dashboard?var-namespace=${encodeURIComponent(d.namespace)}&var-workload=${encodeURIComponent(d.workload || d.app || "")}`;
      out.push(el("a", { href: url, rel: "noopener", target: "_blank", text: "Grafana" }));
    }
    if (cfg.tracingUrl && d.namespace && !d.isInaccessible && d.nodeType !== "unknown") {
      const app = d.app || d.service || d.workload;
      const url = `${cfg.tracingUrl.replace(/\/$/, "")}/search?service=${encodeURIComponent(`${app}.${d.namespace}`)}`;
      out.push(el("a", { href: url, rel: "noopener", target: "_blank", text: "Traces" }));
    }
    if (!out.length) { return null; }
    const nav = el("nav", { class: "panel-links", "aria-label": "Links" });
    out.forEach((a, i) => { if (i) { nav.append(" · "); } nav.append(a); });
    return nav;
  }

  nodeParts(node) {
    const d = node.data();
    const traffic = (edges) => {
      let rps = 0; let err = 0; let tcp = 0;
      edges.forEach((e) => {
        const r = edgeRate(e.data());
        if (e.data("protocol") === "tcp") { tcp += r; } else { rps += r; err += r * (e.data("percentErr") || 0) / 100; }
      });
      return [fmt(rps, 2, " req/s"), rps > 0 ? fmt((err / rps) * 100, 1, "%") : "—", tcp ? fmt(tcp, 0, " B/s") : "—"];
    };
    const table = el("table", { class: "panel-traffic" },
      el("caption", { class: "sr-only", text: "Traffic of this node over the window" }),
      el("thead", {}, el("tr", {}, el("th", { scope: "col", text: "" }), el("th", { scope: "col", text: "HTTP/gRPC" }),
        el("th", { scope: "col", text: "Errors" }), el("th", { scope: "col", text: "TCP" }))),
      el("tbody", {},
        el("tr", {}, el("th", { scope: "row", text: "Inbound" }), ...traffic(node.incomers("edge")).map((t) => el("td", { class: "num", text: t }))),
        el("tr", {}, el("th", { scope: "row", text: "Outbound" }), ...traffic(node.outgoers("edge")).map((t) => el("td", { class: "num", text: t })))));
    const flags = ["isRoot", "isOutside", "isIdle", "isInaccessible"].filter((f) => d[f])
      .map((f) => ({ isRoot: "traffic source", isOutside: "outside the namespaces shown", isIdle: "idle (no traffic)",
        isInaccessible: "inaccessible" })[f]).join(", ");
    return [
      el("h2", { class: "panel-title" }, d.label || d.id, " ", el("span", { class: "tag", text: d.isBox ? `${d.isBox} box` : d.nodeType })),
      el("p", {}, healthBadge(d.healthStatus)),
      facts([["Namespace", d.namespace], ["App", d.app], ["Version", d.version], ["Workload", d.workload],
        ["Service", d.service], ["Hosts", d.isServiceEntry ? (d.isServiceEntry.hosts || []).join(", ") : null],
        ["Flags", flags]]),
      this.links(d),
      d.isBox ? null : table,
    ];
  }

  edgeParts(edge) {
    const d = edge.data();
    const state = this.hooks.state();
    const codes = Object.entries(d.responses || {});
    return [
      el("h2", { class: "panel-title" }, `${edge.source().data("label")} → ${edge.target().data("label")}`, " ",
        el("span", { class: "tag", text: d.protocol })),
      el("p", {}, healthBadge(d.healthStatus)),
      facts([
        ["Rate", d.protocol === "tcp" ? fmt(edgeRate(d), 0, " B/s sent") : fmt(edgeRate(d), 2, " req/s")],
        ["Received", d.protocol === "tcp" ? fmt(d.rates.tcpReceived, 0, " B/s") : null],
        ["Errors", d.protocol === "tcp" ? null : fmt(d.percentErr, 1, "%")],
        ["5xx / 4xx / none", d.protocol === "http"
          ? `${fmt(d.percent5xx, 1, "%")} / ${fmt(d.percent4xx, 1, "%")} / ${fmt(d.percentNoResponse, 1, "%")}` : null],
        [`Response time (${state.responseTime === "avg" ? "avg" : `p${state.responseTime}`})`,
          d.protocol === "tcp" ? null : fmt(d.responseTime, 0, " ms")],
        ["Average", d.protocol === "tcp" ? null : fmt(d.responseTimeAvg, 1, " ms")],
        ["Share of source", fmt(d.percentReq, 1, "%")],
        ["mTLS", d.isMTLS === null || d.isMTLS === undefined ? "not reported" : fmt(d.isMTLS, 0, "%")],
        ["Responses", codes.length ? codes.map(([c, r]) => `${c}: ${fmt(r, 2)}/s`).join(", ") : null],
      ]),
    ];
  }

  seriesQuery(ele) {
    const state = this.hooks.state();
    if (ele.isEdge()) {
      if (ele.data("protocol") === "tcp") { return null; }
      const dest = peerQuery(ele.target().data(), "", state.graphType);
      const source = peerQuery(ele.source().data(), "source", state.graphType);
      return dest && source ? { ...dest, ...source } : null;
    }
    const q = peerQuery(ele.data(), "", state.graphType);
    return q ? { ...q, direction: this.direction } : null;
  }

  chartBlock(ele) {
    const block = el("section", { class: "panel-charts", "aria-label": "Charts" });
    if (ele.isNode()) {
      const group = el("div", { class: "segmented", role: "group", "aria-label": "Direction" });
      for (const dir of ["inbound", "outbound"]) {
        const b = el("button", { type: "button", "aria-pressed": String(this.direction === dir), text: dir[0].toUpperCase() + dir.slice(1) });
        b.addEventListener("click", () => { this.direction = dir; this.show(ele); });
        group.append(b);
      }
      block.append(group);
    }
    return block;
  }

  async loadSeries(ele, block) {
    const query = this.seriesQuery(ele);
    let status = block.querySelector(".series-status");
    if (!status) {
      status = el("p", { class: "series-status muted small", role: "status" });
      block.append(status);
    }
    if (!query) {
      status.textContent = ele.isEdge() && ele.data("protocol") === "tcp"
        ? "No request charts for TCP." : "No charts for this node (outside the mesh, inaccessible or a box).";
      return;
    }
    const state = this.hooks.state();
    const params = new URLSearchParams({ ...query, duration: state.duration });
    if (!this.charts.length) { status.textContent = "Loading charts…"; }
    const request = ++this.seriesRequest;
    let body = null;
    let message = "";
    try {
      const resp = await fetch(`${this.config.seriesApi}?${params}`, { credentials: "same-origin" });
      body = await resp.json().catch(() => null);
      if (!resp.ok) { message = (body && (body.detail || body.error)) || `The series API answered ${resp.status}.`; body = null; }
    } catch (err) {
      message = "The portal cannot be reached (network error).";
    }
    if (request !== this.seriesRequest || this.selected !== ele) { return; } // selection moved on
    if (!body) { status.textContent = `No charts: ${message}`; status.className = "series-status error small"; return; }
    status.className = "series-status muted small";
    status.textContent = `Over the last ${state.duration} (step ${body.step} s)`;
    this.drawCharts(block, body);
  }

  drawCharts(block, s) {
    // 24-hour clock; seconds only matter for windows of a few minutes
    const clock = { hour: "2-digit", minute: "2-digit", hourCycle: "h23", ...(s.duration <= 600 ? { second: "2-digit" } : {}) };
    const labels = s.timestamps.map((t) => new Date(t * 1000).toLocaleTimeString([], clock));
    const base = (yTitle) => ({
      animation: false, responsive: true, maintainAspectRatio: false, normalized: true,
      interaction: { mode: "index", intersect: false },
      plugins: { legend: { labels: { boxWidth: 10, font: { size: 11 } } } },
      scales: { x: { ticks: { maxTicksLimit: 4, maxRotation: 0, font: { size: 10 } } },
        y: { beginAtZero: true, title: { display: true, text: yTitle, font: { size: 10 } }, ticks: { font: { size: 10 } } } },
      elements: { point: { radius: 0 }, line: { borderWidth: 1.5 } },
    });
    const max = (xs) => Math.max(0, ...xs.filter((v) => v !== null));
    if (this.charts.length === 2) { // live update: new points into the same charts
      const [requests, latency] = this.charts;
      requests.data.labels = labels;
      requests.data.datasets[0].data = s.requestRate;
      requests.data.datasets[1].data = s.errorRate;
      latency.data.labels = labels;
      [s.p50, s.p95, s.p99].forEach((data, i) => { latency.data.datasets[i].data = data; });
      requests.update("none");
      latency.update("none");
      return;
    }
    const Chart = window.Chart;
    const canvas = (name, summary) => {
      const c = el("canvas", { role: "img", "aria-label": summary, "data-chart": name });
      block.append(el("div", { class: "chart-box" }, c));
      return c;
    };
    const requests = new Chart(canvas("requests", `Requests per second, peak ${fmt(max(s.requestRate), 2)}; errors peak ${fmt(max(s.errorRate), 1)}%`), {
      type: "line",
      data: { labels, datasets: [
        { label: "req/s", data: s.requestRate, borderColor: "#0066cc", backgroundColor: "#0066cc", yAxisID: "y" },
        { label: "errors %", data: s.errorRate, borderColor: "#c9190b", backgroundColor: "#c9190b", yAxisID: "y2" },
      ] },
      options: { ...base("req/s"), scales: { ...base("req/s").scales,
        y2: { position: "right", beginAtZero: true, suggestedMax: 5, grid: { drawOnChartArea: false },
          title: { display: true, text: "errors %", font: { size: 10 } }, ticks: { font: { size: 10 } } } } },
    });
    const latency = new Chart(canvas("latency", `Response time, p99 peak ${fmt(max(s.p99), 0)} ms`), {
      type: "line",
      data: { labels, datasets: [
        { label: "p50", data: s.p50, borderColor: "#3e8635", backgroundColor: "#3e8635" },
        { label: "p95", data: s.p95, borderColor: "#f0ab00", backgroundColor: "#f0ab00" },
        { label: "p99", data: s.p99, borderColor: "#c9190b", backgroundColor: "#c9190b" },
      ] },
      options: base("ms"),
    });
    this.charts = [requests, latency];
  }
}
