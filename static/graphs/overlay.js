// A canvas over the Cytoscape graph for what Cytoscape does not draw: traffic animation (dots
// moving along edges, faster and denser with more requests per second, red for the share of
// requests that fail) and security badges (a padlock on edges with mTLS).
//
// Kept smooth on a large graph by drawing only what is on screen, at most `maxEdges` of the
// busiest edges (fewer when frames take too long), and by stopping while the tab is hidden.

const MAX_EDGES = 400;
const MIN_EDGES = 40;
const DOT_COLOUR = "#1f4e99";
const ERROR_COLOUR = "#c9190b";
const TCP_COLOUR = "#5c6b7a";
const GOLDEN = 0.6180339887;
const HIDING = ["find-hidden", "unfocused"];

/** Drawn, judged by the page's hiding classes (e.visible() computes styles: too slow per frame). */
function shown(edge) {
  return ![edge, edge.source(), edge.target()].some((e) => HIDING.some((c) => e.hasClass(c)));
}

function log10p(v) {
  return Math.log10(1 + Math.max(0, v));
}

/** Dots on an edge and their speed (px per second on screen) for a request rate. Exported for tests. */
export function dotPlan(rate, protocol) {
  const busy = protocol === "tcp" ? log10p(rate / 100) : log10p(rate);
  return {
    dots: Math.max(1, Math.min(8, Math.round(1 + busy * 2.5))),
    speed: 35 + 45 * Math.min(busy, 3),
  };
}

export class EdgeOverlay {
  constructor(cy, canvas) {
    this.cy = cy;
    this.canvas = canvas;
    this.ctx = canvas.getContext("2d");
    this.animation = false;
    this.badges = false;
    this.maxEdges = MAX_EDGES;
    this.animated = [];
    this.badged = [];
    this.frames = 0;
    this.frameTimes = [];
    this.cost = 0; // moving average of a frame's drawing time (ms)
    this.last = { dots: 0, badges: 0, edges: 0 };
    this.raf = null;
    this.pending = false;
    this.start = performance.now();
    this.tick = (now) => this.frame(now);
    cy.on("render", () => this.requestDraw());
    document.addEventListener("visibilitychange", () => this.sync());
    new ResizeObserver(() => this.resize()).observe(canvas.parentElement);
    this.resize();
  }

  resize() {
    const box = this.canvas.parentElement.getBoundingClientRect();
    const ratio = window.devicePixelRatio || 1;
    this.width = box.width;
    this.height = box.height;
    this.canvas.width = Math.max(1, Math.round(box.width * ratio));
    this.canvas.height = Math.max(1, Math.round(box.height * ratio));
    this.ratio = ratio;
    this.requestDraw();
  }

  set({ animation, badges }) {
    this.animation = Boolean(animation);
    this.badges = Boolean(badges);
    this.refreshEdges();
    this.sync();
  }

  /** Recompute which edges are decorated (after data, visibility or option changes). */
  refreshEdges() {
    const visible = this.cy.edges().filter(shown);
    this.badged = this.badges ? visible.filter((e) => (e.data("isMTLS") || 0) > 0).toArray() : [];
    this.animated = this.animation
      ? visible.filter((e) => e.data("edgeRate") > 0).toArray()
        .sort((a, b) => b.data("edgeRate") - a.data("edgeRate"))
      : [];
    this.sync(); // starts the animation loop when there is now something to animate
  }

  running() {
    return this.animation && !document.hidden && this.animated.length > 0;
  }

  sync() {
    if (this.running() && this.raf === null) {
      this.raf = requestAnimationFrame(this.tick);
    }
    this.requestDraw();
  }

  requestDraw() {
    if (this.raf !== null || this.pending) { return; }
    this.pending = true;
    requestAnimationFrame(() => {
      this.pending = false;
      if (this.raf === null) { this.draw(performance.now()); }
    });
  }

  frame(now) {
    this.raf = null;
    if (!this.running()) { this.draw(now); return; }
    this.frames += 1;
    this.frameTimes.push(now);
    while (this.frameTimes.length && now - this.frameTimes[0] > 1000) { this.frameTimes.shift(); }
    const t0 = performance.now();
    this.draw(now);
    this.adapt(performance.now() - t0);
    this.raf = requestAnimationFrame(this.tick);
  }

  /** Degrade gracefully: fewer animated edges while frames cost too much, more when cheap again. */
  adapt(ms) {
    this.cost = this.cost * 0.9 + ms * 0.1;
    if (this.cost > 8 && this.maxEdges > MIN_EDGES) {
      this.maxEdges = Math.max(MIN_EDGES, Math.floor(this.maxEdges * 0.75));
      this.cost = 4;
    } else if (this.cost < 2 && this.maxEdges < MAX_EDGES) {
      this.maxEdges = Math.min(MAX_EDGES, this.maxEdges + 10);
    }
  }

  /** Frames per second over the last second of animation (0 when not animating). */
  fps() {
    return this.running() ? this.frameTimes.length : 0;
  }

  stats() {
    return { fps: this.fps(), frames: this.frames, maxEdges: this.maxEdges, costMs: this.cost, ...this.last,
      animatedCandidates: this.animated.length, badgeCandidates: this.badged.length };
  }

  geometry(edge, zoom, pan) {
    const s = edge.sourceEndpoint();
    const t = edge.targetEndpoint();
    const m = edge.midpoint();
    const toScreen = (p) => ({ x: p.x * zoom + pan.x, y: p.y * zoom + pan.y });
    const S = toScreen(s);
    const T = toScreen(t);
    const M = toScreen(m);
    // quadratic curve through the midpoint: close to Cytoscape's bezier for one bend
    const C = { x: 2 * M.x - (S.x + T.x) / 2, y: 2 * M.y - (S.y + T.y) / 2 };
    return { S, T, M, C };
  }

  onScreen(p, margin = 20) {
    return p.x > -margin && p.y > -margin && p.x < this.width + margin && p.y < this.height + margin;
  }

  draw(now) {
    const ctx = this.ctx;
    ctx.setTransform(this.ratio, 0, 0, this.ratio, 0, 0);
    ctx.clearRect(0, 0, this.width, this.height);
    const zoom = this.cy.zoom();
    const pan = this.cy.pan();
    let dots = 0;
    let edges = 0;
    if (this.running()) {
      const seconds = (now - this.start) / 1000;
      for (const edge of this.animated) {
        if (edges >= this.maxEdges) { break; }
        if (edge.removed()) { continue; }
        const g = this.geometry(edge, zoom, pan);
        if (!this.onScreen(g.S) && !this.onScreen(g.T) && !this.onScreen(g.M)) { continue; }
        edges += 1;
        dots += this.drawDots(edge, g, seconds);
      }
    }
    let badges = 0;
    for (const edge of this.badged) {
      if (edge.removed()) { continue; }
      const g = this.geometry(edge, zoom, pan);
      if (!this.onScreen(g.S) && !this.onScreen(g.M)) { continue; }
      this.drawLock(g, (edge.data("isMTLS") || 0) >= 100, zoom);
      badges += 1;
    }
    this.last = { dots, badges, edges };
  }

  drawDots(edge, g, seconds) {
    const ctx = this.ctx;
    const d = edge.data();
    const { dots, speed } = dotPlan(d.edgeRate, d.protocol);
    const length = Math.hypot(g.T.x - g.S.x, g.T.y - g.S.y) || 1;
    const errShare = (d.percentErr || 0) / 100;
    const travel = (seconds * speed) / length; // edge lengths travelled so far
    const radius = d.protocol === "tcp" ? 2.2 : 2.6;
    for (let i = 0; i < dots; i += 1) {
      const progress = travel + i / dots;
      const t = progress - Math.floor(progress);
      // dot k of the stream is an error with probability errShare, spread evenly over time
      const k = Math.floor(progress) * dots + i;
      const failed = errShare > 0 && ((k * GOLDEN) % 1) < errShare;
      const u = 1 - t;
      const x = u * u * g.S.x + 2 * u * t * g.C.x + t * t * g.T.x;
      const y = u * u * g.S.y + 2 * u * t * g.C.y + t * t * g.T.y;
      ctx.fillStyle = failed ? ERROR_COLOUR : (d.protocol === "tcp" ? TCP_COLOUR : DOT_COLOUR);
      ctx.beginPath();
      if (d.protocol === "tcp") {
        ctx.rect(x - radius, y - radius, radius * 2, radius * 2);
      } else {
        ctx.arc(x, y, radius, 0, Math.PI * 2);
      }
      ctx.fill();
    }
    return dots;
  }

  drawLock(g, full, zoom) {
    const ctx = this.ctx;
    const size = Math.max(6, Math.min(11, 9 * zoom));
    // a third of the way along the edge, clear of the label Cytoscape draws at the middle
    const t = 0.3;
    const u = 1 - t;
    const px = u * u * g.S.x + 2 * u * t * g.C.x + t * t * g.T.x;
    const py = u * u * g.S.y + 2 * u * t * g.C.y + t * t * g.T.y;
    const x = px - size / 2;
    const y = py - size * 0.8;
    ctx.lineWidth = Math.max(1, size / 6);
    ctx.strokeStyle = "#1d2330";
    ctx.fillStyle = full ? "#1d2330" : "#ffffff";
    ctx.beginPath();
    ctx.arc(x + size / 2, y + size * 0.45, size * 0.3, Math.PI, 0);
    ctx.stroke();
    ctx.beginPath();
    ctx.rect(x, y + size * 0.45, size, size * 0.65);
    ctx.fill();
    ctx.stroke();
  }
}
