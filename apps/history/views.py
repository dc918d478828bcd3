"""History pages: the timeline of a cluster and the diff between two moments (server-rendered)."""
from __future__ import annotations

import datetime as dt
import time

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import render

from apps.clusters.selectors import get_cluster_for_user
from apps.core.errors import MeshdeckError

from . import selectors

PAGE_SIZE = 50


def _form_value(raw: str | None, default: str) -> str:
    """What a time field of the diff form shows again: the time asked for, else ``default``."""
    text = _form_time(raw)
    return default if text is None or text == "bad" else _local(float(text))


def _form_time(raw: str | None) -> str | None:
    """A form's time (``2026-12-01T11:14``, UTC, or unix seconds) as unix seconds text; None when empty."""
    raw = (raw or "").strip()
    if not raw:
        return None
    try:
        float(raw)
        return raw
    except ValueError:
        pass
    try:
        moment = dt.datetime.fromisoformat(raw)
    except ValueError:
        return "bad"  # the selectors answer with the field's message
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return f"{moment.timestamp():.0f}"


def _local(at: float | None) -> str:
    return "" if at is None else dt.datetime.fromtimestamp(at, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S")


def _utc(at: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(at, dt.UTC)


@login_required
def timeline_page(request, cluster: str):
    c = get_cluster_for_user(request.user, cluster)
    query = {"since": _form_time(request.GET.get("since")), "until": _form_time(request.GET.get("until")),
             "namespaces": request.GET.get("namespaces", "")}
    error, body = "", None
    try:
        body = selectors.timeline_for_user(request.user, c, query)
    except MeshdeckError as exc:
        error = exc.message
    snapshots = list(reversed(body["snapshots"])) if body else []
    for row in snapshots:
        row["time"] = _utc(row["taken_at"])
    events = list(reversed(body["events"])) if body else []
    for ev in events:
        ev["time"] = _utc(ev["at"])
    page = Paginator(snapshots, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "history/timeline.html", {
        "cluster": c, "page": page, "events": events[:500], "error": error,
        "since": _local(body["since"]) if body else request.GET.get("since", ""),
        "until": _local(body["until"]) if body else request.GET.get("until", ""),
        "namespaces": query["namespaces"], "truncated": body and body["truncated"],
    })


@login_required
def diff_page(request, cluster: str):
    c = get_cluster_for_user(request.user, cluster)
    params = {k: request.GET.get(k, "") for k in ("namespaces", "threshold", "graphType")}
    raw_from, raw_to = request.GET.get("from"), request.GET.get("to")
    error, body = "", None
    if raw_from:
        query = {**params, "from": _form_time(raw_from), "to": _form_time(raw_to)}
        try:
            body = selectors.diff_for_user(request.user, c, selectors.parse_diff_request(request.user, c, query))
        except MeshdeckError as exc:
            error = exc.message
    if body:
        for side in ("from", "to"):
            body[side]["time"] = _utc(body[side]["taken_at"])
    default_to = time.time()
    return render(request, "history/diff.html", {
        "cluster": c, "diff": body, "error": error,
        "from_value": _form_value(raw_from, _local(default_to - 3600)),
        "to_value": _form_value(raw_to, ""),
        **params,
    })
