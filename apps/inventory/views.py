"""Inventory pages: namespaces overview, workloads and services (list + detail)."""
from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from apps.core.errors import MeshdeckError
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
        "namespaces": [n.name for n in view.inventory.namespaces],
    })


@inventory_page
def service_detail(request, view, namespace, name):
    detail = selectors.service_detail(view, namespace, name)
    return render(request, "inventory/service_detail.html", {"cluster": view.cluster, "d": detail, "all": ALL})
