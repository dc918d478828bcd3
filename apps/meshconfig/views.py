"""Istio config pages: list (filter by kind, namespace, validity) and detail with YAML."""
from __future__ import annotations

from django.shortcuts import render

from apps.clusters.inventory import ISTIO_KINDS

from . import selectors
from .pages import cluster_page, paginate


@cluster_page
def config_list(request, view):
    filters = {
        "kind": request.GET.get("kind") or None,
        "namespace": request.GET.get("namespace") or None,
        "validity": request.GET.get("validity") or None,
        "q": request.GET.get("q", "").strip(),
    }
    rows = selectors.config_list(view, **filters)
    return render(request, "meshconfig/config_list.html", {
        "cluster": view.cluster, "page": paginate(request, rows), "filters": filters,
        "kinds": list(ISTIO_KINDS), "namespaces": [n.name for n in view.inventory.namespaces],
        "validities": selectors.VALIDITY_CHOICES,
    })


@cluster_page
def config_detail(request, view, namespace, kind, name):
    detail = selectors.config_detail(view, namespace, kind, name)
    lines = detail.yaml.splitlines()
    flagged = {}
    for ac in detail.checks:
        if ac.line:
            flagged.setdefault(ac.line, ac.check.severity)
    numbered = [(i + 1, line, flagged.get(i + 1)) for i, line in enumerate(lines)]
    return render(request, "meshconfig/config_detail.html",
                  {"cluster": view.cluster, "d": detail, "lines": numbered})
