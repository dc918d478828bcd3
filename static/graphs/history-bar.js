// The graph page's history controls: a time slider over the snapshot timeline (one stop per
// snapshot, the last stop live), replay with play/pause and speed, markers for applied changes
// and config edits, and the diff overlay between a chosen earlier time and the time shown.
// The pure parts are in history.js; this module owns the DOM and the history API's requests.
//
// The page gives: getState(), setState(partial) (changes the view state: `at` refetches the
// graph at that snapshot), onOverlay({classes, fromBody} | null) (what to paint on the graph).

import {
  diffClasses, markerPosition, nextStop, SPEEDS, stepMs, stopFor, stopLabel, timelineModel, timeOfStop,
} from "./history.js";
import { apiQuery } from "./view-state.js";

const clock = (t) => new Date(t * 1000).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });

async function getJson(url) {
  let resp;
  try {
    resp = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
  } catch (err) {
    return { ok: false, status: 0, message: "the portal cannot be reached" };
  }
  const body = await resp.json().catch(() => null);
  if (!resp.ok || !body) {
    return { ok: false, status: resp.status, message: (body && body.detail) || `the history API answered ${resp.status}` };
  }
  return { ok: true, body };
}

export class HistoryBar {
  constructor(root, { api, getState, setState, onOverlay }) {
    this.root = root;
    this.api = api; // {timeline, diff, graph}
    this.getState = getState;
    this.setState = setState;
    this.onOverlay = onOverlay;
    this.model = { snapshots: [], markers: [] };
    this.timer = null;
    this.overlayKey = "";
    this.slider = root.querySelector("#graph-time");
    this.label = root.querySelector("#graph-time-label");
    this.play = root.querySelector("#graph-play");
    this.speed = root.querySelector("#graph-speed");
    this.liveButton = root.querySelector("#graph-back-live");
    this.diffFrom = root.querySelector("#graph-diff-from");
    this.diffSummary = root.querySelector("#graph-diff-summary");
    this.markers = root.querySelector("#graph-markers");
    this.message = root.querySelector("#graph-history-message");
    this.slider.addEventListener("input", () => this.showStopLabel(Number(this.slider.value)));
    this.slider.addEventListener("change", () => { this.pause(); this.goTo(Number(this.slider.value)); });
    this.play.addEventListener("click", () => (this.timer ? this.pause() : this.start()));
    this.speed.addEventListener("change", () => {
      this.setState({ speed: Number(this.speed.value) });
      if (this.timer) { this.pause(); this.start(); }
    });
    this.liveButton.addEventListener("click", () => { this.pause(); this.goTo(this.model.snapshots.length); });
    this.diffFrom.addEventListener("change", () => {
      this.setState({ diffFrom: this.diffFrom.value ? Number(this.diffFrom.value) : null });
      this.refreshOverlay();
    });
  }

  /** Read the timeline of the state's namespaces; the bar shows only when there is a history. */
  async load() {
    const s = this.getState();
    const q = new URLSearchParams();
    if (s.namespaces.length) { q.set("namespaces", s.namespaces.join(",")); }
    const result = await getJson(`${this.api.timeline}?${q}`);
    if (!result.ok) {
      // 404: this portal keeps no history (the history app is not installed): no bar at all
      this.root.hidden = result.status === 404;
      this.message.textContent = result.status === 404 ? "" : `History is not available: ${result.message}.`;
      return;
    }
    this.model = timelineModel(result.body);
    this.root.hidden = false;
    this.render();
    this.refreshOverlay();
  }

  render() {
    const { snapshots, markers } = this.model;
    const s = this.getState();
    this.slider.max = String(snapshots.length);
    this.slider.disabled = snapshots.length === 0;
    this.play.disabled = snapshots.length === 0;
    this.message.textContent = snapshots.length ? "" : "No snapshot of these namespaces yet: the graph is live only.";
    this.slider.value = String(stopFor(snapshots, s.at));
    this.showStopLabel(Number(this.slider.value));
    this.speed.value = String(s.speed || 1);
    // diff "from" choices: every snapshot (and the one in the URL, if it is not among them)
    const keep = s.diffFrom;
    this.diffFrom.replaceChildren(new Option("off", ""));
    for (const snap of snapshots) {
      this.diffFrom.append(new Option(clock(snap.at), String(Math.ceil(snap.at))));
    }
    if (keep && ![...this.diffFrom.options].some((o) => o.value === String(keep))) {
      this.diffFrom.append(new Option(clock(keep), String(keep)));
    }
    this.diffFrom.value = keep ? String(keep) : "";
    this.markers.replaceChildren();
    for (const m of markers) {
      const el = document.createElement(m.link ? "a" : "span");
      el.className = `history-marker marker-${m.type}`;
      const text = `${m.type === "change" ? "Change" : "Config"} at ${clock(m.at)}${m.who ? ` by ${m.who}` : ""}: ${m.what}`;
      el.title = text;
      el.setAttribute("aria-label", text);
      if (m.link) { el.href = m.link; } else { el.setAttribute("role", "img"); }
      el.style.left = `${(markerPosition(snapshots, m.at) * 100).toFixed(2)}%`; // CSSOM: allowed by the CSP
      this.markers.append(el);
    }
  }

  showStopLabel(stop) {
    const text = stopLabel(this.model.snapshots, stop, clock);
    this.label.textContent = stop >= this.model.snapshots.length ? "Live" : `Snapshot of ${text}`;
    this.slider.setAttribute("aria-valuetext", this.label.textContent);
    this.liveButton.hidden = stop >= this.model.snapshots.length;
    this.root.classList.toggle("history-past", stop < this.model.snapshots.length);
  }

  goTo(stop) {
    this.slider.value = String(stop);
    this.showStopLabel(stop);
    this.setState({ at: timeOfStop(this.model.snapshots, stop) }); // the page refreshes the overlay too
  }

  start() {
    const count = this.model.snapshots.length;
    if (!count) { return; }
    if (Number(this.slider.value) >= count) { this.goTo(0); } // replay from the oldest snapshot
    this.play.textContent = "Pause";
    this.play.setAttribute("aria-pressed", "true");
    const tick = () => {
      const next = nextStop(Number(this.slider.value), count);
      if (next === null) { this.pause(); return; }
      this.goTo(next);
      if (next >= count) { this.pause(); return; } // live reached
      this.timer = setTimeout(tick, stepMs(this.getState().speed));
    };
    this.timer = setTimeout(tick, stepMs(this.getState().speed));
  }

  pause() {
    clearTimeout(this.timer);
    this.timer = null;
    this.play.textContent = "Play";
    this.play.setAttribute("aria-pressed", "false");
  }

  get playing() { return this.timer !== null; }

  /** The diff overlay: from state.diffFrom to the time shown (state.at, or now). */
  async refreshOverlay() {
    const s = this.getState();
    if (!s.diffFrom) {
      this.overlayKey = "";
      this.diffSummary.textContent = "";
      this.onOverlay(null);
      return;
    }
    const key = [s.diffFrom, s.at, apiQuery({ ...s, at: null })].join("|");
    this.overlayKey = key;
    const q = new URLSearchParams({ from: String(s.diffFrom), graphType: s.graphType });
    if (s.at) { q.set("to", String(s.at)); }
    if (s.namespaces.length) { q.set("namespaces", s.namespaces.join(",")); }
    const [diff, from] = await Promise.all([
      getJson(`${this.api.diff}?${q}`),
      getJson(`${this.api.graph}?${apiQuery({ ...s, at: s.diffFrom })}`),
    ]);
    if (key !== this.overlayKey) { return; } // a newer overlay was asked for
    if (!diff.ok || !from.ok) {
      this.diffSummary.textContent = `No diff: ${(diff.ok ? from : diff).message}.`;
      this.onOverlay(null);
      return;
    }
    const classes = diffClasses(diff.body);
    const count = (group, verb) => Object.values(classes[group]).filter((v) => v === verb).length;
    this.diffSummary.textContent = `Since ${clock(s.diffFrom)}: ` +
      `${count("nodes", "added")} nodes and ${count("edges", "added")} edges added, ` +
      `${count("nodes", "removed")} nodes and ${count("edges", "removed")} edges removed, ` +
      `${count("nodes", "changed") + count("edges", "changed")} changed`;
    this.onOverlay({ classes, fromBody: from.body });
  }
}

export { SPEEDS };
