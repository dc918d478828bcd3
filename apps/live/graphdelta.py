"""What changed between two graph answers (``GET /api/clusters/<c>/graph`` bodies): pure.

A delta names elements by their ``data.id``:

- ``added``: ``{"nodes": [element, ...], "edges": [element, ...]}``, whole Cytoscape elements
  (``{"data": {...}}``) in the new answer's order, so a box comes before the nodes drawn in it;
- ``removed``: ``{"nodes": [id, ...], "edges": [id, ...]}``;
- ``changed``: ``{"nodes": [{"id", "set": {field: new value}, "unset": [field, ...]}], "edges": [...]}``,
  only the top-level ``data`` fields that differ (a nested value such as ``rates`` or ``health``
  is sent whole when any part of it changed: the receiver replaces it, never merges it);
- ``fields``: the answer's other top-level fields (``timestamp``, ``source``, ...) whose value changed.

``apply_delta(old, graph_delta(old, new))`` gives ``new``, element for element (kept elements
stay in the old order, added ones follow in the new order). Edges are removed before nodes and
nodes added before edges, which is the order a Cytoscape client must use too.
"""
from __future__ import annotations

import copy
from typing import Any

KINDS = ("nodes", "edges")


def _by_id(elements: list[dict]) -> dict[str, dict]:
    return {element["data"]["id"]: element for element in elements}


def _changed_fields(old: dict, new: dict) -> dict | None:
    set_ = {key: value for key, value in new.items() if key not in old or old[key] != value}
    unset = sorted(key for key in old if key not in new)
    if not set_ and not unset:
        return None
    return {"id": new["id"], "set": set_, "unset": unset}


def graph_delta(old: dict, new: dict) -> dict[str, Any]:
    """The delta that turns graph answer ``old`` into ``new``."""
    delta: dict[str, Any] = {"added": {}, "removed": {}, "changed": {}, "fields": {}}
    for kind in KINDS:
        before = _by_id(old.get("elements", {}).get(kind, []))
        after = new.get("elements", {}).get(kind, [])
        after_ids = {element["data"]["id"] for element in after}
        delta["added"][kind] = [element for element in after if element["data"]["id"] not in before]
        delta["removed"][kind] = [element_id for element_id in before if element_id not in after_ids]
        changes = []
        for element in after:
            previous = before.get(element["data"]["id"])
            if previous is not None:
                change = _changed_fields(previous["data"], element["data"])
                if change is not None:
                    changes.append(change)
        delta["changed"][kind] = changes
    for key, value in new.items():
        if key != "elements" and old.get(key) != value:
            delta["fields"][key] = value
    return delta


def is_empty(delta: dict[str, Any]) -> bool:
    """Nothing was added, removed or changed (``fields`` aside: a new timestamp is not a change
    of the drawing)."""
    return not any(delta[part][kind] for part in ("added", "removed", "changed") for kind in KINDS)


def delta_counts(delta: dict[str, Any]) -> dict[str, dict[str, int]]:
    """How many elements each part of the delta touches (for logs and benchmarks)."""
    return {part: {kind: len(delta[part][kind]) for kind in KINDS} for part in ("added", "removed", "changed")}


def apply_delta(old: dict, delta: dict[str, Any]) -> dict:
    """``old`` with ``delta`` applied (a new dict; ``old`` is left alone)."""
    new = copy.deepcopy(old)
    new.update(copy.deepcopy(delta.get("fields", {})))
    elements = new.setdefault("elements", {})
    for kind in KINDS:
        removed = set(delta["removed"][kind])
        kept = [element for element in elements.get(kind, []) if element["data"]["id"] not in removed]
        index = _by_id(kept)
        for change in delta["changed"][kind]:
            data = index[change["id"]]["data"]
            for key in change["unset"]:
                data.pop(key, None)
            data.update(copy.deepcopy(change["set"]))
        elements[kind] = kept + copy.deepcopy(delta["added"][kind])
    return new
