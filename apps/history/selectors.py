"""Every read of the history app, authorized: snapshots, diff, timeline.

The cluster comes from ``get_cluster_for_user`` (404 without a grant); what a
snapshot holds is narrowed to the namespaces the user may see (counts and health
per namespace; graphs built for the user, with hidden nodes anonymous; config,
workloads and findings filtered by namespace).
"""
from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass
from typing import Any

import orjson
from django.urls import NoReverseMatch, reverse

from apps.accounts.selectors import namespace_visibility
from apps.audit.models import AuditEvent
from apps.core.errors import FieldInputError, MeshdeckError
from apps.core.timeparse import parse_unix_time
from apps.graphs.selectors import TOPOLOGY_QUERIES, GraphParams, graph_for_user

from . import diff as diffs
from . import store
from .models import Snapshot
from .sources import graph_source_for, nearest

DEFAULT_SPAN = 24 * 3600
MAX_TIMELINE_SNAPSHOTS = 2000
CHANGE_ACTIONS = ("change.applied",)  # a rollback is a change of its own (kind rollback), applied too


def parse_namespaces(raw: Any, visible) -> list[str] | None:
    names = [n.strip() for n in (raw or "").split(",") if n.strip()]
    for ns in names:
        if not visible(ns):  # the same answer for "absent" and "not yours"
            raise MeshdeckError(f"unknown namespace: {ns}", code="not_found", http_status=404)
    return names or None


def _utc(at: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(at, dt.UTC)


def visible_counts(snapshot: Snapshot, visible, wanted: list[str] | None = None) -> dict[str, int]:
    out = {"namespaces": 0, "workloads": 0, "services": 0, "istio_objects": 0, "errors": 0, "warnings": 0}
    for ns, row in (snapshot.counts.get("by_namespace") or {}).items():
        if visible(ns) and (wanted is None or ns in wanted):
            out["namespaces"] += 1
            for key in ("workloads", "services", "istio_objects", "errors", "warnings"):
                out[key] += int(row.get(key, 0))
    return out


def visible_health(snapshot: Snapshot, visible, wanted: list[str] | None = None) -> dict[str, str]:
    return {ns: status for ns, status in sorted((snapshot.health or {}).items())
            if visible(ns) and (wanted is None or ns in wanted)}


def snapshot_list(user, cluster, *, since: float | None, until: float | None):
    """The cluster's snapshots in [since, until], newest first (a queryset; rows go through snapshot_row)."""
    qs = Snapshot.objects.filter(cluster=cluster).order_by("-taken_at")
    if since is not None:
        qs = qs.filter(taken_at__gte=_utc(since))
    if until is not None:
        qs = qs.filter(taken_at__lte=_utc(until))
    return qs.defer("health")


def snapshot_row(user, cluster, snapshot: Snapshot) -> dict[str, Any]:
    visible = namespace_visibility(user, cluster)
    return {"id": snapshot.pk, "taken_at": snapshot.taken_at.timestamp(), "status": snapshot.status,
            "reason": snapshot.reason, "window": snapshot.window, "counts": visible_counts(snapshot, visible)}


# --- diff ------------------------------------------------------------------------------------------

@dataclass
class DiffRequest:
    from_at: float
    to_at: float
    namespaces: list[str] | None
    threshold: float
    graph_type: str = "workload"


def parse_diff_request(user, cluster, query) -> DiffRequest:
    visible = namespace_visibility(user, cluster)
    to_at = parse_unix_time(query.get("to"), "to", time.time())
    from_at = parse_unix_time(query.get("from"), "from")
    if from_at is None:
        raise FieldInputError("from", "from is required: a unix time in seconds")
    if from_at > to_at:
        raise FieldInputError("from", "from must not be after to")
    raw = query.get("threshold")
    try:
        threshold = diffs.DEFAULT_THRESHOLD if raw in (None, "") else float(raw)
    except ValueError:
        raise FieldInputError("threshold", "threshold must be a number (percent)") from None
    if not 0 <= threshold <= 10000:
        raise FieldInputError("threshold", "threshold must be between 0 and 10000 (percent)")
    graph_type = query.get("graphType") or "workload"
    if graph_type not in ("app", "versionedApp", "workload", "service"):
        raise FieldInputError("graphType", "graphType must be app, versionedApp, workload or service")
    return DiffRequest(from_at, to_at, parse_namespaces(query.get("namespaces"), visible), threshold, graph_type)


def _graph(user, snapshot: Snapshot, namespaces: list[str] | None, graph_type: str, reference: float):
    source = graph_source_for([snapshot], reference, snapshot.window)
    names = [n.name for n in source.inventory().namespaces]
    visible = namespace_visibility(user, snapshot.cluster)
    wanted = tuple(n for n in (namespaces or names) if n in names and visible(n))
    if not wanted:
        return None
    params = GraphParams(namespaces=wanted, graph_type=graph_type, duration=snapshot.window,
                         query_time=int(round(snapshot.taken_at.timestamp())), inject_service_nodes=False,
                         box_by=(), idle_nodes=False)
    # A snapshot never changes: a graph compared once (the next threshold, the other side of another
    # diff) is not built again. The key holds what it depends on besides the snapshot: the parameters,
    # the namespaces the user may see (the others are drawn anonymous) and the health tolerances.
    # Only the queries behind what graph_diff compares (nodes, edges, rates, error %, health).
    seen = tuple(n for n in names if visible(n))
    tolerances = orjson.dumps(snapshot.cluster.health_tolerances, option=orjson.OPT_SORT_KEYS)
    return store._graphs.get_or_make((snapshot.pk, snapshot.traffic_values_id, params, seen, tolerances),
                                     lambda: graph_for_user(user, source, params, queries=TOPOLOGY_QUERIES))


def snapshot_ref(snapshot: Snapshot, requested: float) -> dict[str, Any]:
    taken = snapshot.taken_at.timestamp()
    return {"id": snapshot.pk, "taken_at": taken, "age_seconds": round(max(0.0, requested - taken), 3),
            "status": snapshot.status}


def diff_for_user(user, cluster, req: DiffRequest) -> dict[str, Any]:
    visible = namespace_visibility(user, cluster)
    wanted = set(req.namespaces) if req.namespaces else None

    def shown(ns: str) -> bool:
        return visible(ns) and (wanted is None or ns in wanted)

    a = nearest(cluster, req.from_at)
    b = nearest(cluster, req.to_at)
    inv_a, inv_b = store.inventory_of(a), store.inventory_of(b)
    body: dict[str, Any] = {
        "cluster": cluster.name, "from": snapshot_ref(a, req.from_at), "to": snapshot_ref(b, req.to_at),
        "namespaces": sorted(n for n in ({x.name for x in inv_a.namespaces} | {x.name for x in inv_b.namespaces})
                             if shown(n)),
        "threshold": req.threshold, "graphType": req.graph_type,
    }
    if a.has_traffic and b.has_traffic:
        ga = _graph(user, a, req.namespaces, req.graph_type, req.from_at)
        gb = _graph(user, b, req.namespaces, req.graph_type, req.to_at)
        empty = {"nodes": {"added": [], "removed": []}, "edges": {"added": [], "removed": [], "changed": []},
                 "health": []}
        if ga is not None and gb is not None:
            body.update(diffs.graph_diff(ga, gb, diffs.DiffOptions(req.threshold)))
        else:
            body.update(empty)
        body["traffic"] = "compared"
    else:
        body.update({"nodes": None, "edges": None, "health": None,
                     "traffic": "not compared: a snapshot holds no traffic (" +
                                ", ".join(f"#{s.pk} {s.status}: {s.reason}"
                                          for s in (a, b) if not s.has_traffic) + ")"})
    body["namespaceHealth"] = diffs.namespace_health_diff(a.health or {}, b.health or {}, shown)
    body["workloads"] = diffs.workload_diff(inv_a, inv_b, shown)
    body["istioConfig"] = diffs.config_diff(inv_a, inv_b, shown)
    body["findings"] = diffs.findings_diff(store.findings_of(a), store.findings_of(b), shown)
    return body


# --- timeline --------------------------------------------------------------------------------------

def _link(name: str, *args) -> str:
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return ""


def _change_events(cluster, since: float, until: float, shown) -> list[dict[str, Any]]:
    rows = AuditEvent.objects.filter(target_cluster=cluster.name, action__in=CHANGE_ACTIONS,
                                     created_at__gte=_utc(since), created_at__lte=_utc(until)).order_by("seq")
    out = []
    for ev in rows[:500]:
        if not shown(ev.target_namespace):
            continue
        what = ev.message or f"{ev.action} {ev.target_type} {ev.target_namespace}/{ev.target_name}".strip()
        out.append({"type": "change", "at": ev.created_at.timestamp(), "who": ev.actor_username or ev.actor_auth,
                    "what": what, "action": ev.action, "namespace": ev.target_namespace,
                    "object": ev.target_name, "id": ev.target_id or None,
                    "link": (_link("changes:detail", ev.target_id) if ev.target_id else "")
                    or (_link("auditreview:events") + f"?cluster={cluster.name}&seq={ev.seq}")})
    return out


def timeline_for_user(user, cluster, query) -> dict[str, Any]:
    visible = namespace_visibility(user, cluster)
    until = parse_unix_time(query.get("until"), "until", time.time())
    since = parse_unix_time(query.get("since"), "since", until - DEFAULT_SPAN)
    if since > until:
        raise FieldInputError("since", "since must not be after until")
    wanted = parse_namespaces(query.get("namespaces"), visible)

    def shown(ns: str) -> bool:
        return visible(ns) and (wanted is None or ns in wanted)

    snaps = list(Snapshot.objects.filter(cluster=cluster, taken_at__gte=_utc(since), taken_at__lte=_utc(until))
                 .order_by("taken_at")[:MAX_TIMELINE_SNAPSHOTS])
    # the snapshot before the span, so a change at its very start is seen
    before = Snapshot.objects.filter(cluster=cluster, taken_at__lt=_utc(since), inventory__isnull=False) \
        .order_by("-taken_at").first()
    rows = []
    events: list[dict[str, Any]] = []
    previous = before
    prev_health = visible_health(before, shown) if before else None
    diff_link = _link("history:diff", cluster.name)
    for snap in snaps:
        health = visible_health(snap, shown)
        rows.append({"id": snap.pk, "taken_at": snap.taken_at.timestamp(), "status": snap.status,
                     "reason": snap.reason, "health": health})
        if snap.status != Snapshot.Status.OK and (previous is None or previous.status == Snapshot.Status.OK):
            events.append({"type": "snapshot", "at": snap.taken_at.timestamp(), "who": "",
                           "what": f"snapshot {snap.status}: {snap.reason}", "snapshot": snap.pk, "link": ""})
        if not snap.has_inventory:
            continue
        if prev_health is not None:
            for ns in sorted(set(health) | set(prev_health)):
                if health.get(ns) != prev_health.get(ns) and ns in health:
                    events.append({"type": "health", "at": snap.taken_at.timestamp(), "namespace": ns,
                                   "before": prev_health.get(ns), "after": health.get(ns), "who": "",
                                   "what": f"{ns}: {prev_health.get(ns) or 'absent'} -> {health.get(ns)}",
                                   "snapshot": snap.pk, "link": ""})
        if previous is not None and previous.has_inventory and previous.config_id != snap.config_id:
            change = diffs.config_diff(store.inventory_of(previous), store.inventory_of(snap), shown)
            frm, to = previous.taken_at.timestamp(), snap.taken_at.timestamp()
            link = f"{diff_link}?from={frm:.0f}&to={to:.0f}" if diff_link else ""
            for verb in ("added", "removed", "changed"):
                for obj in change[verb]:
                    events.append({"type": "config", "at": to, "seenBetween": [frm, to], "who": "",
                                   "what": f"{obj['kind']} {obj['namespace']}/{obj['name']} {verb}",
                                   "namespace": obj["namespace"], "object": obj["name"], "kind": obj["kind"],
                                   "change": verb, "snapshot": snap.pk, "link": link})
        previous, prev_health = snap, health
    changes = _change_events(cluster, since - DEFAULT_SPAN if before else since, until, shown)
    # who: a config change seen between two snapshots is explained by an applied change of that object
    # in that interval, when there is one
    for ev in events:
        if ev["type"] != "config":
            continue
        for ch in changes:
            if (ch["namespace"] == ev["namespace"] and ch.get("object") in (ev["object"], "")
                    and ev["seenBetween"][0] - 1 <= ch["at"] <= ev["seenBetween"][1] + 1):
                ev["who"], ev["explainedBy"] = ch["who"], ch["link"]
    events.extend(ch for ch in changes if since <= ch["at"] <= until)
    events.sort(key=lambda e: (e["at"], {"change": 0, "config": 1, "snapshot": 2, "health": 3}[e["type"]]))
    return {"cluster": cluster.name, "since": since, "until": until, "namespaces": wanted,
            "snapshots": rows, "events": events, "truncated": len(snaps) >= MAX_TIMELINE_SNAPSHOTS}
