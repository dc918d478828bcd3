"""What changed between two snapshots: pure functions over their graphs, inventories and findings.

Authorization is the caller's: it passes graphs built for the user (hidden
namespaces already anonymous) and a ``visible(namespace)`` predicate that this
module applies to everything else.
"""
from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings

from apps.clusters.inventory import Inventory, IstioObject, Workload
from apps.graphs.builder.model import Edge, Graph, Node
from apps.graphs.builder.render import anonymous_id
from apps.meshconfig.yamlview import object_yaml

DEFAULT_THRESHOLD = 10.0  # percent: relative change of an edge's rate, and points of its error %


@dataclass(frozen=True)
class DiffOptions:
    threshold: float = DEFAULT_THRESHOLD


def node_id(node: Node) -> str:
    """The id a diff names a node by: the graph's own (the page hashes it as the graph API does), but
    for a node in a namespace the reader may not see the graph API's opaque id (its id holds names)."""
    return anonymous_id(node, settings.SECRET_KEY) or node.id


def node_json(node: Node) -> dict[str, Any]:
    if node.is_inaccessible:
        return {"id": node_id(node), "nodeType": node.node_type, "isInaccessible": True, "label": "(inaccessible)"}
    out = {"id": node.id, "nodeType": node.node_type, "namespace": node.namespace, "label": node_label(node)}
    for key in ("workload", "app", "version", "service"):
        if getattr(node, key):
            out[key] = getattr(node, key)
    return out


def node_label(node: Node) -> str:
    if node.node_type == "unknown":
        return "unknown"
    if node.is_inaccessible:
        return "(inaccessible)"
    name = node.workload or node.service or (f"{node.app} {node.version}".strip() if node.app else node.id)
    return f"{node.namespace}/{name}"


def _edge_json(edge: Edge, graph: Graph) -> dict[str, Any]:
    return {"source": node_label(graph.nodes[edge.source]), "target": node_label(graph.nodes[edge.dest]),
            "sourceId": node_id(graph.nodes[edge.source]), "targetId": node_id(graph.nodes[edge.dest]),
            "protocol": edge.protocol,
            "rate": round(edge.total, 6),
            "percentErr": None if edge.percent_err is None else round(edge.percent_err, 4),
            "healthStatus": edge.health_status}


def _health(node: Node) -> str:
    return (node.health or {}).get("status", "NA") if node.health else "NA"


def graph_diff(a: Graph, b: Graph, options: DiffOptions) -> dict[str, Any]:
    added_nodes = [node_json(b.nodes[k]) for k in sorted(b.nodes.keys() - a.nodes.keys()) if not b.nodes[k].is_box]
    removed_nodes = [node_json(a.nodes[k]) for k in sorted(a.nodes.keys() - b.nodes.keys()) if not a.nodes[k].is_box]
    added_edges = [_edge_json(b.edges[k], b) for k in sorted(b.edges.keys() - a.edges.keys())]
    removed_edges = [_edge_json(a.edges[k], a) for k in sorted(a.edges.keys() - b.edges.keys())]
    changed_edges = []
    for key in sorted(a.edges.keys() & b.edges.keys()):
        ea, eb = a.edges[key], b.edges[key]
        ra, rb = ea.total, eb.total
        rel = (rb - ra) / ra * 100.0 if ra > 0 else (100.0 if rb > 0 else 0.0)
        pa, pb = ea.percent_err or 0.0, eb.percent_err or 0.0
        reasons = []
        if abs(rel) > options.threshold:
            reasons.append("rate")
        if abs(pb - pa) > options.threshold:
            reasons.append("percentErr")
        if ea.health_status != eb.health_status:
            reasons.append("health")
        if reasons:
            row = _edge_json(eb, b)
            row.update(changed=reasons, rateBefore=round(ra, 6), rateChangePercent=round(rel, 2),
                       percentErrBefore=None if ea.percent_err is None else round(ea.percent_err, 4),
                       healthBefore=ea.health_status)
            changed_edges.append(row)
    health = []
    for nid in sorted(a.nodes.keys() & b.nodes.keys()):
        na, nb = a.nodes[nid], b.nodes[nid]
        if nb.is_inaccessible or nb.is_box:
            continue
        if _health(na) != _health(nb):
            health.append({**node_json(nb), "before": _health(na), "after": _health(nb)})
    return {"nodes": {"added": added_nodes, "removed": removed_nodes},
            "edges": {"added": added_edges, "removed": removed_edges, "changed": changed_edges},
            "health": health}


def _restart_mark(w: Workload) -> str:
    return w.annotations.get("kubectl.kubernetes.io/restartedAt", "")


def _sidecars(w: Workload) -> tuple[int, int]:
    return sum(1 for p in w.pods if p.has_sidecar), len(w.pods)


def workload_diff(a: Inventory, b: Inventory, visible: Callable[[str], bool]) -> dict[str, Any]:
    wa = {(w.namespace, w.kind, w.name): w for w in a.workloads if visible(w.namespace)}
    wb = {(w.namespace, w.kind, w.name): w for w in b.workloads if visible(w.namespace)}

    def ref(key):
        return {"namespace": key[0], "kind": key[1], "name": key[2]}

    scaled, restarted, sidecars = [], [], []
    for key in sorted(wa.keys() & wb.keys()):
        x, y = wa[key], wb[key]
        if x.replicas != y.replicas or x.ready_replicas != y.ready_replicas:
            scaled.append({**ref(key), "replicasBefore": x.replicas, "replicas": y.replicas,
                           "readyBefore": x.ready_replicas, "ready": y.ready_replicas})
        pods_x, pods_y = {p.name for p in x.pods}, {p.name for p in y.pods}
        if _restart_mark(x) != _restart_mark(y) or (pods_x and pods_y and not pods_x & pods_y):
            restarted.append({**ref(key), "restartedAt": _restart_mark(y) or None})
        (sx, nx), (sy, ny) = _sidecars(x), _sidecars(y)
        had, has = bool(nx) and sx == nx, bool(ny) and sy == ny
        if (sx > 0) != (sy > 0) or had != has:
            sidecars.append({**ref(key), "change": "added" if sy > sx else "removed",
                             "podsWithSidecarBefore": sx, "podsWithSidecar": sy, "pods": ny})
    return {"added": [ref(k) for k in sorted(wb.keys() - wa.keys())],
            "removed": [ref(k) for k in sorted(wa.keys() - wb.keys())],
            "scaled": scaled, "restarted": restarted, "sidecars": sidecars}


def _obj_key(o: IstioObject) -> tuple[str, str, str]:
    return (o.namespace, o.kind, o.name)


def _content(o: IstioObject) -> Any:
    meta = o.metadata or {}
    return (o.spec, meta.get("labels") or {}, meta.get("annotations") or {})


def config_diff(a: Inventory, b: Inventory, visible: Callable[[str], bool]) -> dict[str, Any]:
    oa = {_obj_key(o): o for o in a.istio_objects if visible(o.namespace)}
    ob = {_obj_key(o): o for o in b.istio_objects if visible(o.namespace)}

    def ref(key):
        return {"namespace": key[0], "kind": key[1], "name": key[2]}

    changed = []
    for key in sorted(oa.keys() & ob.keys()):
        if _content(oa[key]) != _content(ob[key]):
            changed.append({**ref(key), "yamlDiff": yaml_diff(oa[key], ob[key])})
    return {"added": [{**ref(k), "yamlDiff": yaml_diff(None, ob[k])} for k in sorted(ob.keys() - oa.keys())],
            "removed": [{**ref(k), "yamlDiff": yaml_diff(oa[k], None)} for k in sorted(oa.keys() - ob.keys())],
            "changed": changed}


def _yaml(o: IstioObject | None) -> list[str]:
    if o is None:
        return []
    # resourceVersion and generation move with every write: not part of what changed
    meta = {k: v for k, v in (o.metadata or {}).items()
            if k not in ("resourceVersion", "generation", "managedFields", "creationTimestamp", "uid")}
    plain = IstioObject(kind=o.kind, namespace=o.namespace, name=o.name, spec=o.spec, metadata=meta,
                        api_version=o.api_version)
    return object_yaml(plain).splitlines(keepends=True)


def yaml_diff(a: IstioObject | None, b: IstioObject | None) -> str:
    obj = b or a
    if obj is None:
        return ""
    name = f"{obj.kind}/{obj.namespace}/{obj.name}"
    return "".join(difflib.unified_diff(_yaml(a), _yaml(b), fromfile=f"a/{name}" if a else "/dev/null",
                                        tofile=f"b/{name}" if b else "/dev/null"))


def _finding_key(c: dict[str, Any]) -> tuple:
    return (c["namespace"], c["kind"], c["name"], c["code"], c.get("path", ""))


def findings_diff(a: list[dict], b: list[dict], visible: Callable[[str], bool]) -> dict[str, Any]:
    fa = {_finding_key(c): c for c in a if visible(c["namespace"])}
    fb = {_finding_key(c): c for c in b if visible(c["namespace"])}

    def clean(c):
        return {**c, "references": [r for r in c.get("references", []) if visible(r.get("namespace", ""))]}

    return {"appeared": [clean(fb[k]) for k in sorted(fb.keys() - fa.keys())],
            "cleared": [clean(fa[k]) for k in sorted(fa.keys() - fb.keys())]}


def namespace_health_diff(a: dict[str, str], b: dict[str, str], visible: Callable[[str], bool]) -> list[dict]:
    return [{"namespace": ns, "before": a.get(ns), "after": b.get(ns)}
            for ns in sorted(set(a) | set(b)) if visible(ns) and a.get(ns) != b.get(ns)]
