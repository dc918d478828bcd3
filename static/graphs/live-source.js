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

export class PollingSource {
  constructor({ api, onGraph, onState, interval = 15 }) {
    this.api = api;
    this.onGraph = onGraph;
    this.onState = onState;
    this.interval = interval;
    this.query = "";
    this.timer = null;
    this.running = false;
    this.lost = false;
    this.delivered = false;
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

  emitState(state, extra = {}) {
    this.onState({ state, at: new Date(), ...extra });
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
