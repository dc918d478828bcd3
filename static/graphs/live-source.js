// Where the open graph's updates come from.
//
// A source delivers whole graph answers (the body of GET /api/clusters/<c>/graph) and its
// connection state; the page diffs each answer into the drawn graph in place. Every source has
// the same shape, so a WebSocket source (docs/live.md) can replace polling without the page
// changing:
//
//   source.start()             begin delivering
//   source.stop()
//   source.setQuery(query)      what to fetch/subscribe to (the graph API's query string)
//   source.setInterval(sec)     refresh interval; 0 pauses
//   source.refreshNow(reason)   one delivery now (a control changed, the user asked)
//   callbacks given to the constructor:
//     onGraph(body, {reason, requestedAt, receivedAt})
//                               reason: "first" | "poll" | "refresh" | "catch-up"; times: performance.now()
//     onState({state, message, retryIn, at})
//       state: "loading" | "live" | "paused" | "lost" | "caught-up"

import { applyDelta } from "./graph-delta.js";

async function fetchGraph(url) {
  let resp;
  try {
    resp = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
  } catch (err) {
    return { ok: false, message: "The portal cannot be reached (network error)." };
  }
  const body = await resp.json().catch(() => null);
  if (!resp.ok || !body) {
    const detail = body && (body.detail || body.error);
    if (resp.status === 401 || resp.status === 403) {
      return { ok: false, fatal: true, login: true, message: "Your session has ended: log in again." };
    }
    return { ok: false, fatal: resp.status >= 400 && resp.status < 500,
      message: detail || `The graph API answered ${resp.status}.` };
  }
  return { ok: true, body };
}

const RETRY_SECONDS = 5;

// What every source keeps: where it fetches the graph, its callbacks, query and interval, and
// whether it is running, has lost its connection and has delivered an answer yet.
class Source {
  constructor({ api, onGraph, onState, interval = 15 }) {
    this.api = api;
    this.onGraph = onGraph;
    this.onState = onState;
    this.interval = interval;
    this.query = "";
    this.running = false;
    this.lost = false;
    this.delivered = false;
  }

  emitState(state, extra = {}) {
    this.onState({ state, at: new Date(), ...extra });
  }
}

export class PollingSource extends Source {
  constructor(options) {
    super(options);
    this.timer = null;
    this.generation = 0; // answers to an older query are dropped
    this.onVisibility = () => {
      if (!document.hidden && this.running && this.due) { this.refreshNow("poll"); }
    };
  }

  start() {
    this.running = true;
    document.addEventListener("visibilitychange", this.onVisibility);
    this.refreshNow("first");
  }

  stop() {
    this.running = false;
    clearTimeout(this.timer);
    document.removeEventListener("visibilitychange", this.onVisibility);
  }

  setQuery(query) {
    if (query !== this.query) {
      this.query = query;
      this.generation += 1;
    }
  }

  setInterval(seconds) {
    this.interval = seconds;
    if (!this.running) { return; }
    clearTimeout(this.timer);
    if (seconds > 0) { this.schedule(seconds); } else if (!this.lost) { this.emitState("paused"); }
  }

  schedule(seconds) {
    clearTimeout(this.timer);
    this.due = false;
    this.timer = setTimeout(() => {
      // A hidden tab does not poll; it catches up when shown again.
      if (document.hidden) { this.due = true; return; }
      this.refreshNow("poll");
    }, seconds * 1000);
  }

  async refreshNow(reason = "refresh") {
    if (!this.running) { return; }
    clearTimeout(this.timer);
    const generation = this.generation;
    if (!this.delivered) { this.emitState("loading"); }
    const requestedAt = performance.now();
    const result = await fetchGraph(`${this.api}?${this.query}`);
    const receivedAt = performance.now(); // answer read and parsed
    if (!this.running || generation !== this.generation) { return; } // a newer query is on its way
    if (!result.ok) {
      this.lost = true;
      const retryIn = result.fatal ? 0 : (this.interval > 0 ? Math.min(this.interval, RETRY_SECONDS) : RETRY_SECONDS);
      this.emitState("lost", { message: result.message, retryIn, login: Boolean(result.login) });
      if (retryIn) { this.schedule(retryIn); }
      return;
    }
    const caughtUp = this.lost;
    this.lost = false;
    this.delivered = true;
    this.onGraph(result.body, { reason: caughtUp ? "catch-up" : reason, requestedAt, receivedAt });
    this.emitState(caughtUp ? "caught-up" : (this.interval > 0 ? "live" : "paused"));
    if (this.interval > 0) { this.schedule(this.interval); }
  }
}

// -- the WebSocket graph push (docs/live.md, "Graph push") ---------------------------------
//
// ws/clusters/<c>/graph/?<graph API query>[&since=<snapshot id>]: `subscribed`, then `graph.full`
// (a whole answer) and a `graph.delta` after each snapshot, applied to the last answer
// (graph-delta.js) so onGraph always gets a whole body. A dropped socket (1006, 1011, ...) is
// `lost` and reconnects with since=<last snapshot>, whose first answer is `caught-up`. 4401 is
// lost with login; 4400/4403/4404 stop with the server's reason. A socket that never opened falls
// back to polling. Interval 0 (paused, or a moment of history shown) closes the socket; each
// refreshNow() then is one fetch of the graph API, as when polling.

const FATAL_CLOSES = new Set([4400, 4403, 4404]);

export class WebSocketSource extends Source {
  constructor({ socket, WebSocketImpl = globalThis.WebSocket, ...options }) {
    super(options);
    this.socketPath = socket;
    this.WebSocketImpl = WebSocketImpl;
    this.ws = null;
    this.opened = false; // some socket of this source got `subscribed`: push works here
    this.body = null;
    this.snapshot = null; // id of the last snapshot received
    this.retry = null;
    this.fallback = null; // a PollingSource once the socket proved unusable
    this.closing = null; // the server's `closing` message, if one came
  }

  emitState(state, extra = {}) {
    super.emitState(state, { via: "push", ...extra });
  }

  start() {
    this.running = true;
    if (this.fallback) { this.fallback.start(); return; }
    this.emitState("loading");
    if (this.interval > 0) { this.connect(); } else { this.refreshNow("first"); }
  }

  stop() {
    this.running = false;
    clearTimeout(this.retry);
    this.disconnect();
    if (this.fallback) { this.fallback.stop(); }
  }

  setQuery(query) {
    if (this.fallback) { this.fallback.setQuery(query); }
    if (query === this.query) { return; }
    this.query = query;
    this.snapshot = null; // another subscription: no catch-up from the old one
    this.body = null;
    if (this.ws) { this.disconnect(); this.connect(); }
  }

  setInterval(seconds) {
    this.interval = seconds;
    if (this.fallback) { this.fallback.setInterval(seconds); return; }
    if (!this.running) { return; }
    if (seconds > 0 && !this.ws) {
      this.snapshot = null;
      this.connect();
    } else if (seconds <= 0 && this.ws) {
      this.disconnect();
      this.emitState("paused");
    }
  }

  async refreshNow(reason = "refresh") {
    if (this.fallback) { return this.fallback.refreshNow(reason); }
    if (!this.running) { return undefined; }
    if (this.interval > 0 && !this.ws) { this.connect(); return undefined; }
    // Paused (or a moment of history), or the person asked for a refresh: one answer from the
    // graph API. Deltas keep applying to what the socket sent last (this.body), not to this one.
    const requestedAt = performance.now();
    const query = this.query;
    const result = await fetchGraph(`${this.api}?${query}`);
    if (!this.running || query !== this.query) { return undefined; }
    if (!result.ok) {
      if (result.fatal) { this.disconnect(); }
      this.emitState("lost", { message: result.message, retryIn: 0, login: Boolean(result.login) });
      return undefined;
    }
    this.onGraph(result.body, { reason, requestedAt, receivedAt: performance.now() });
    this.emitState(this.ws ? "live" : "paused");
    return undefined;
  }

  url() {
    const proto = window.location.protocol === "https:" ? "wss:" : "ws:";
    const q = new URLSearchParams(this.query);
    if (this.snapshot !== null) { q.set("since", String(this.snapshot)); }
    return `${proto}//${window.location.host}${this.socketPath}?${q}`;
  }

  connect() {
    clearTimeout(this.retry);
    this.closing = null;
    this.pendingAt = performance.now();
    const ws = new this.WebSocketImpl(this.url());
    this.ws = ws;
    ws.onmessage = (event) => { if (ws === this.ws) { this.receive(JSON.parse(event.data)); } };
    ws.onclose = (event) => { if (ws === this.ws) { this.closed(event); } };
  }

  disconnect() {
    if (!this.ws) { return; }
    const ws = this.ws;
    this.ws = null;
    ws.onmessage = null;
    ws.onclose = null;
    // closing a socket still connecting makes the browser warn on the console: close it once open
    if (ws.readyState === 0) { ws.onopen = () => ws.close(1000); } else { ws.close(1000); }
  }

  receive(msg) {
    if (msg.type === "subscribed") { this.opened = true; return; }
    if (msg.type === "closing") { this.closing = msg; return; }
    const receivedAt = performance.now();
    const meta = (reason) => ({ reason, requestedAt: this.pendingAt, receivedAt });
    if (msg.type === "graph.full" || (msg.type === "graph.delta" && this.body)) {
      this.body = msg.type === "graph.full" ? msg.graph : applyDelta(this.body, msg);
      if (msg.snapshot) { this.snapshot = msg.snapshot.id; }
      const caughtUp = this.lost;
      const first = !this.delivered;
      this.lost = false;
      this.delivered = true;
      this.onGraph(this.body, meta(caughtUp ? "catch-up" : (first ? "first" : "push")));
      this.emitState(caughtUp ? "caught-up" : "live");
      this.pendingAt = performance.now();
    } else if (msg.type === "graph.stale") {
      this.emitState("live", { message: `The cluster could not be read at the last snapshot (${msg.detail}): the graph shows the one before.` });
    } else if (msg.type === "graph.error") {
      this.emitState("live", { message: `The last snapshot's graph could not be built: ${msg.detail}` });
    }
  }

  closed(event) {
    this.ws = null;
    if (!this.running) { return; }
    const code = (this.closing && this.closing.code) || event.code;
    const reason = (this.closing && this.closing.reason) || event.reason;
    if (code === 4401) {
      this.lost = true;
      this.emitState("lost", { message: "Your session has ended: log in again.", retryIn: 0, login: true });
      return;
    }
    if (FATAL_CLOSES.has(code)) {
      this.emitState("lost", { message: reason || `The server closed the live graph (${code}).`, retryIn: 0 });
      return;
    }
    if (!this.opened) { // the socket never worked here (no route, a proxy without WebSocket): poll
      this.fallback = new PollingSource({ api: this.api, onGraph: this.onGraph, onState: this.onState,
        interval: this.interval });
      this.fallback.setQuery(this.query);
      this.fallback.start();
      return;
    }
    this.probe();
  }

  // A drop the server did not explain (1006: also what a socket refused at reconnect reports):
  // the graph API says whether the login or the grant is gone; if not, reconnect in a moment.
  async probe() {
    this.lost = true;
    const result = await fetchGraph(`${this.api}?${this.query}`);
    if (!this.running || this.ws) { return; }
    if (!result.ok && result.fatal) {
      this.emitState("lost", { message: result.message, retryIn: 0, login: Boolean(result.login) });
      return;
    }
    const why = result.ok ? "The live connection dropped." : `The live connection dropped: ${result.message}`;
    this.emitState("lost", { message: why, retryIn: RETRY_SECONDS });
    this.retry = setTimeout(() => { if (this.running && this.interval > 0) { this.connect(); } }, RETRY_SECONDS * 1000);
  }
}

/** The page's source: the push socket when the portal serves one, else polling. */
export function liveSource({ api, socket, onGraph, onState, interval }) {
  if (socket && globalThis.WebSocket) {
    return new WebSocketSource({ api, socket, onGraph, onState, interval });
  }
  return new PollingSource({ api, onGraph, onState, interval });
}
