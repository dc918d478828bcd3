"""What every cluster page shares: login, the cluster, the user's MeshView, pagination.

The MeshView is read from the source ``source_for(cluster)`` gives: the live
cluster by default (``live_mesh_source``); pages that also show traffic pass
the graphs app's ``live_source``, so their health and traffic read the same
source as their inventory.

A cluster that cannot be read (API server down, credentials that cannot be
decrypted, ...) renders an error page that says why and what to do, never a 500.
"""
from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import render

from apps.clusters.gateway import ObjectNotFound
from apps.clusters.selectors import get_cluster_for_user
from apps.clusters.sources import MeshSource, live_mesh_source
from apps.core.errors import MeshdeckError

from .meshview import mesh_view

log = logging.getLogger(__name__)
PAGE_SIZE = 50


def cluster_error_page(request, cluster, exc: MeshdeckError):
    """The page shown instead of a cluster's content when it cannot be read."""
    log.warning("cluster %s unreadable: %s", cluster.name, exc.message)
    status = 404 if isinstance(exc, ObjectNotFound) else 503
    return render(request, "inventory/cluster_error.html",
                  {"cluster": cluster, "error": exc.message, "code": exc.code}, status=status)


def cluster_page(view_func=None, *, source_for: Callable[[Any], MeshSource] = live_mesh_source):
    """Login, the cluster (404 without a grant), its MeshView read from ``source_for(cluster)``;
    an unreadable cluster is an error page. Use as ``@cluster_page`` or ``@cluster_page(source_for=...)``."""

    def decorate(func):
        @login_required
        @functools.wraps(func)
        def wrapper(request, cluster, *args, **kwargs):
            cluster_obj = get_cluster_for_user(request.user, cluster)
            try:
                view = mesh_view(request.user, source_for(cluster_obj))
            except MeshdeckError as exc:
                return cluster_error_page(request, cluster_obj, exc)
            return func(request, view, *args, **kwargs)

        return wrapper

    return decorate if view_func is None else decorate(view_func)


def paginate(request, rows):
    return Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
