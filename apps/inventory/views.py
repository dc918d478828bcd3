"""Inventory pages: namespaces overview, workloads and services (list + detail)."""
from __future__ import annotations

from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.urls import reverse

from apps.core.errors import MeshdeckError
from apps.graphs.builder.model import node_identity
from apps.graphs.builder.render import public_node_id
from apps.graphs.selectors import workload_health_for_user, workload_traffic
from apps.graphs.sources import live_source
from apps.meshconfig.pages import cluster_page, paginate

from . import selectors
from .overview import overview_for_user

ALL = "-"  # namespace placeholder for "every namespace I may see" (never a valid namespace name)
# Inventory pages show health and traffic too: one source (inventory + telemetry) per request.
inventory_page = cluster_page(source_for=live_source)


@login_required
def overview(request):
    return render(request, "inventory/overview.html",
                  {"clusters": overview_for_user(request.user, source_for=live_source)})


def _ns_arg(namespace: str) -> str | None:
    return None if namespace == ALL else namespace


def _q_query(q: str) -> str:
    """The name filter as a query string for the namespace links ("" without one)."""
    return urlencode({"q": q}) if q else ""


@inventory_page
def namespace_list(request, view):
    q = request.GET.get("q", "").strip()
    page = paginate(request, selectors.namespace_summaries(view, q))
    health_error = selectors.attach_health(request.user, view, list(page.object_list))
    return render(request, "inventory/namespace_list.html", {
        "cluster": view.cluster, "page": page, "q": q, "all": ALL, "health_error": health_error,
    })


@inventory_page
def workload_list(request, view, namespace):
    q = request.GET.get("q", "").strip()
    rows = [(w, selectors.sidecar_state(w)) for w in selectors.workload_list(view, _ns_arg(namespace), q)]
    page = paginate(request, rows)
    health, health_error = workload_health_for_user(request.user, view.source,
                                                    [w for w, _ in page.object_list])  # this page only
    page.object_list = [(w, sidecar, health.get((w.namespace, w.name))) for w, sidecar in page.object_list]
    return render(request, "inventory/workload_list.html", {
        "cluster": view.cluster, "namespace": namespace, "all": ALL, "q": q, "page": page,
        "namespaces": [n.name for n in view.inventory.namespaces], "health_error": health_error,
        "filter_query": _q_query(q),
    })


@inventory_page
def workload_detail(request, view, namespace, name):
    detail = selectors.workload_detail(view, namespace, name, request.GET.get("kind") or None)
    traffic, traffic_error = None, ""
    try:
        traffic = workload_traffic(request.user, view.source, namespace, name)
    except MeshdeckError as exc:  # the page still shows the inventory
        traffic_error = exc.message
    return render(request, "inventory/workload_detail.html", {
        "cluster": view.cluster, "d": detail, "all": ALL, "traffic": traffic, "traffic_error": traffic_error,
    })


@inventory_page
def service_list(request, view, namespace):
    q = request.GET.get("q", "").strip()
    rows = selectors.service_list(view, _ns_arg(namespace), q)
    return render(request, "inventory/service_list.html", {
        "cluster": view.cluster, "namespace": namespace, "all": ALL, "q": q, "page": paginate(request, rows),
        "namespaces": [n.name for n in view.inventory.namespaces], "filter_query": _q_query(q),
    })


@inventory_page
def service_detail(request, view, namespace, name):
    detail = selectors.service_detail(view, namespace, name)
    return render(request, "inventory/service_detail.html", {"cluster": view.cluster, "d": detail, "all": ALL})


def _app_filters(request) -> dict[str, str]:
    """The applications list's filters, unknown values dropped (a bad filter is no filter)."""
    health = request.GET.get("health", "")
    sidecar = request.GET.get("sidecar", "")
    return {
        "q": request.GET.get("q", "").strip(),
        "health": health if health in selectors.HEALTH_FILTERS else "",
        "sidecar": sidecar if sidecar in selectors.SIDECAR_FILTERS else "",
    }


def app_rows(user, view, namespace: str | None, filters: dict[str, str]):
    """(rows, health_is_computed_for_all, health_error): with a health filter every row's health is
    needed to filter; without one, the caller computes health for the page it shows only."""
    rows = selectors.app_summaries(view, namespace, filters["q"], filters["sidecar"])
    if not filters["health"]:
        return rows, False, ""
    error = selectors.attach_app_health(user, view, rows)
    return [a for a in rows if a.health == filters["health"]], True, error


def app_graph_url(cluster_name: str, app: selectors.AppSummary) -> str:
    """The graph page on the app's namespace, app graph, focused on the app's node."""
    node_id, _ = node_identity("Kubernetes", app.namespace, "", app.namespace, "", app.name, "", "app")
    return reverse("graph-page", args=[cluster_name]) + "?" + urlencode(
        {"namespaces": app.namespace, "graphType": "app", "focus": public_node_id(node_id)})


@inventory_page
def app_list(request, view, namespace):
    filters = _app_filters(request)
    ns = _ns_arg(namespace)
    rows, computed, health_error = app_rows(request.user, view, ns, filters)
    page = paginate(request, rows)
    if not computed:
        health_error = selectors.attach_app_health(request.user, view, list(page.object_list))  # this page only
    return render(request, "inventory/app_list.html", {
        "cluster": view.cluster, "namespace": namespace, "all": ALL, "page": page, "f": filters,
        "filtered": any(filters.values()), "health_error": health_error,
        "filter_query": urlencode({k: v for k, v in filters.items() if v}),
        "namespaces": [n.name for n in view.inventory.namespaces],
        "health_choices": selectors.HEALTH_FILTERS, "sidecar_choices": selectors.SIDECAR_FILTERS,
        "unlabelled": selectors.unlabelled_workloads(view, ns),
    })


@inventory_page
def app_detail(request, view, namespace, name):
    detail = selectors.app_detail(view, namespace, name)
    health_error = selectors.attach_app_health(request.user, view, [detail.app])
    workloads = [(w, sidecar, detail.app.workload_health.get(w.name)) for w, sidecar in detail.workloads]
    return render(request, "inventory/app_detail.html", {
        "cluster": view.cluster, "d": detail, "a": detail.app, "all": ALL, "workloads": workloads,
        "health_error": health_error, "graph_url": app_graph_url(view.cluster.name, detail.app),
    })
