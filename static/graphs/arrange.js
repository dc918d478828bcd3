// Where the graph's nodes go and what the view shows: layouts, fitting, new nodes of a live
// update, and the layout memory that lets positions, zoom and pan survive a page refresh.

import { placeNewNode } from "./elements.js";
import { layeredLayout } from "./layered-layout.js";

const DAGRE_MAX_NODES = 80; // beyond this dagre gets slow: the layered layout instead
const DAGRE_MAX_EDGES = 240;
const MAX_FIT_ZOOM = 1.6; // a small graph (or a focused neighbourhood) is not blown up to fill the view

/** Fit `eles` (default: everything) in the view, no closer than MAX_FIT_ZOOM; animated or not. */
export function fitTo(cy, eles, { padding = 30, animate = false } = {}) {
  const target = eles || cy.elements();
  const cap = () => {
    if (cy.zoom() > MAX_FIT_ZOOM && target.nonempty()) {
      cy.zoom(MAX_FIT_ZOOM);
      cy.center(target);
    }
  };
  if (animate) {
    cy.animate({ fit: { eles: target, padding }, duration: 250, complete: cap });
  } else {
    cy.fit(target, padding);
    cap();
  }
}

function outermostBox(node) {
  let top = null;
  let p = node.parent();
  while (p.nonempty()) { top = p.id(); p = p.parent(); }
  return top;
}

/** Lay everything out again: dagre for small graphs, the layered layout for large ones. */
export function runLayout(cy) {
  const leaves = cy.nodes().filter((n) => !n.isParent());
  const useDagre = window.cytoscapeDagre && leaves.length <= DAGRE_MAX_NODES && cy.edges().length <= DAGRE_MAX_EDGES;
  if (useDagre) {
    cy.layout({ name: "dagre", rankDir: "LR", nodeSep: 22, rankSep: 60, edgeSep: 8, fit: false, animate: false }).run();
  } else {
    const boxOf = new Map(leaves.map((n) => [n.id(), outermostBox(n)]));
    const positions = layeredLayout(
      leaves.map((n) => ({ id: n.id() })),
      cy.edges().map((e) => ({ source: e.source().id(), target: e.target().id() })),
      { outermost: (id) => boxOf.get(id) },
    );
    leaves.positions((n) => positions.get(n.id()));
  }
  fitTo(cy);
}

/** Put nodes that arrived in a live update next to their neighbours; nothing else moves. */
export function placeNew(cy, added) {
  let bounds = null; // the drawn graph's box, only for a new node without drawn neighbours (costly on large graphs)
  const boundsOf = () => {
    if (!bounds) {
      const bb = cy.nodes().not(added).boundingBox({ includeLabels: false, includeOverlays: false });
      bounds = { x2: Number.isFinite(bb.x2) ? bb.x2 : 0, y1: Number.isFinite(bb.y1) ? bb.y1 : 0 };
    }
    return bounds;
  };
  added.filter((n) => !n.isParent()).forEach((n, i) => {
    const neighbours = n.neighborhood("node").not(added).filter((m) => !m.isParent()).map((m) => m.position());
    n.position(placeNewNode(neighbours, neighbours.length ? null : boundsOf(), i));
  });
}

/** Positions, zoom and pan per view key, in sessionStorage (one tab's memory). */
export class LayoutMemory {
  constructor(cy) {
    this.cy = cy;
    this.timer = null;
  }

  save(key) {
    if (!key) { return; }
    const cy = this.cy;
    const positions = {};
    cy.nodes().forEach((n) => {
      if (!n.isParent()) {
        const p = n.position();
        positions[n.id()] = [Math.round(p.x), Math.round(p.y)];
      }
    });
    try {
      sessionStorage.setItem(key, JSON.stringify({ positions, zoom: cy.zoom(), pan: cy.pan(),
        size: [cy.width(), cy.height()] }));
    } catch (err) {
      // storage full or disabled: the layout is simply not remembered
    }
  }

  saveSoon(keyOf) {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.save(keyOf()), 300);
  }

  load(key) {
    try {
      return JSON.parse(sessionStorage.getItem(key) || "null");
    } catch (err) {
      return null;
    }
  }

  /**
   * Put the drawn nodes where `saved` had them. False when too few were known (lay out again);
   * the viewport comes back too when asked and the view has about the same size.
   */
  restore(saved, { viewport }) {
    const cy = this.cy;
    const leaves = cy.nodes().filter((n) => !n.isParent());
    const known = leaves.filter((n) => saved.positions[n.id()]);
    known.positions((n) => ({ x: saved.positions[n.id()][0], y: saved.positions[n.id()][1] }));
    if (known.length < leaves.length * 0.8) { return false; }
    placeNew(cy, leaves.not(known));
    const sameSize = saved.size && Math.abs(saved.size[0] - cy.width()) < 0.1 * cy.width()
      && Math.abs(saved.size[1] - cy.height()) < 0.1 * cy.height();
    if (viewport && saved.zoom && sameSize) { cy.viewport({ zoom: saved.zoom, pan: saved.pan }); } else { fitTo(cy); }
    return true;
  }
}
