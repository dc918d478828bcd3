"""Inventory pages: namespaces overview, workloads and services (list + detail)."""
from __future__ import annotations

import functools
import logging

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import render

from apps.clusters.gateway import GatewayError, ObjectNotFound
from apps.graphs.selectors import workload_health_for_user, workload_traffic
from apps.graphs.telemetry.base import TelemetryError
from apps.clusters.selectors import get_cluster_for_user

from . import selectors

log = logging.getLogger(__name__)
PAGE_SIZE = 50
ALL = "-"  # namespace placeholder for "every namespace I may see" (never a valid namespace name)


def cluster_page(view_func):
    """Login, the cluster (404 without a grant), its MeshView; a gateway failure is a 503 page."""

    @login_required
    @functools.wraps(view_func)
    def wrapper(request, cluster, *args, **kwargs):
        cluster_obj = get_cluster_for_user(request.user, cluster)
        try:
            view = selectors.mesh_view(request.user, cluster_obj)
        except ObjectNotFound as exc:
            return render(request, "inventory/cluster_error.html",
                          {"cluster": cluster_obj, "error": exc.message, "code": exc.code}, status=404)
        except GatewayError as exc:
            log.warning("cluster %s unreadable: %s", cluster_obj.name, exc.message)
            return render(request, "inventory/cluster_error.html",
                          {"cluster": cluster_obj, "error": exc.message, "code": exc.code}, status=503)
        return view_func(request, view, *args, **kwargs)

    return wrapper


def paginate(request, rows):
    return Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))


def _ns_arg(namespace: str) -> str | None:
    return None if namespace == ALL else namespace


@cluster_page
def namespace_list(request, view):
    q = request.GET.get("q", "").strip()
    page = paginate(request, selectors.namespace_summaries(view, q))
    health_error = selectors.attach_health(request.user, view, list(page.object_list))
    return render(request, "inventory/namespace_list.html", {
        "cluster": view.cluster, "page": page, "q": q, "all": ALL, "health_error": health_error,
    })


@cluster_page
def workload_list(request, view, namespace):
    q = request.GET.get("q", "").strip()
    rows = [(w, selectors.sidecar_state(w)) for w in selectors.workload_list(view, _ns_arg(namespace), q)]
    page = paginate(request, rows)
    health, health_error = workload_health_for_user(request.user, view.cluster, view.full,
                                                    [w for w, _ in page.object_list])  # this page only
    page.object_list = [(w, sidecar, health.get((w.namespace, w.name))) for w, sidecar in page.object_list]
    return render(request, "inventory/workload_list.html", {
        "cluster": view.cluster, "namespace": namespace, "all": ALL, "q": q, "page": page,
        "namespaces": [n.name for n in view.inventory.namespaces], "health_error": health_error,
    })


@cluster_page
def workload_detail(request, view, namespace, name):
    detail = selectors.workload_detail(view, namespace, name, request.GET.get("kind") or None)
    traffic, traffic_error = None, ""
    try:
        traffic = workload_traffic(request.user, view.cluster, namespace, name, inventory=view.full)
    except (TelemetryError, GatewayError) as exc:  # the page still shows the inventory
        traffic_error = exc.message
    return render(request, "inventory/workload_detail.html", {
        "cluster": view.cluster, "d": detail, "all": ALL, "traffic": traffic, "traffic_error": traffic_error,
    })


@cluster_page
def service_list(request, view, namespace):
    q = request.GET.get("q", "").strip()
    rows = selectors.service_list(view, _ns_arg(namespace), q)
    return render(request, "inventory/service_list.html", {
        "cluster": view.cluster, "namespace": namespace, "all": ALL, "q": q, "page": paginate(request, rows),
        "namespaces": [n.name for n in view.inventory.namespaces],
    })


@cluster_page
def service_detail(request, view, namespace, name):
    detail = selectors.service_detail(view, namespace, name)
    return render(request, "inventory/service_detail.html", {"cluster": view.cluster, "d": detail, "all": ALL})
