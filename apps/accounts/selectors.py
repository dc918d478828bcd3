"""Reads about who may see what. Every view and API endpoint goes through these."""
from __future__ import annotations

import contextvars
import fnmatch
import re
from collections.abc import Callable

from django.db.models import Q

from .models import Grant
from .roles import Role


def grants_for_user(user, cluster=None):
    """The user's own grants and their teams' grants (optionally for one cluster)."""
    if not getattr(user, "is_authenticated", False):
        return Grant.objects.none()
    qs = Grant.objects.filter(Q(user=user) | Q(team__members=user)).distinct()
    if cluster is not None:
        qs = qs.filter(cluster=cluster)
    return qs


# Per-request memo of grant patterns (set by GrantCacheMiddleware); outside a
# request (tasks, consumers) every call reads the database afresh.
_request_cache: contextvars.ContextVar[dict | None] = contextvars.ContextVar("meshdeck_grants", default=None)


def _patterns(user, cluster) -> list[tuple[str, int]]:
    cache = _request_cache.get()
    key = (user.pk, cluster.pk)
    if cache is not None and key in cache:
        return cache[key]
    rows = list(grants_for_user(user, cluster).values_list("namespace_pattern", "role"))
    if cache is not None:
        cache[key] = rows
    return rows


class GrantCacheMiddleware:
    """Reads each user's grants at most once per cluster per request."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = _request_cache.set({})
        try:
            return self.get_response(request)
        finally:
            _request_cache.reset(token)


def namespace_role(user, cluster, namespace: str) -> Role | None:
    """The highest role the user holds on this namespace of this cluster."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return None
    if user.is_superuser:
        return Role.ADMIN
    best = None
    for pattern, role in _patterns(user, cluster):
        if fnmatch.fnmatchcase(namespace, pattern) and (best is None or role > best):
            best = role
    return Role(best) if best is not None else None


def namespace_visibility_key(user, cluster) -> tuple[str, ...]:
    """What decides which namespaces of ``cluster`` the user sees, as a hashable value:
    ``("*",)`` for every namespace, ``()`` for none, else the sorted grant patterns.

    Two users with equal keys see exactly the same namespaces, so one graph drawn for one of
    them is the graph of the other (live push builds once per key, ``apps.live.graphpush``).
    """
    if getattr(user, "is_superuser", False) and user.is_active:
        return ("*",)
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return ()
    patterns = {p for p, _ in _patterns(user, cluster)}
    return ("*",) if "*" in patterns else tuple(sorted(patterns))


def visibility_from_key(key: tuple[str, ...]) -> Callable[[str], bool]:
    """The predicate ``namespace_visibility`` returns, from a ``namespace_visibility_key``."""
    if "*" in key:
        return lambda namespace: True
    exact = {p for p in key if not any(ch in p for ch in "*?[")}
    globs = [p for p in key if p not in exact]
    return lambda namespace: namespace in exact or any(fnmatch.fnmatchcase(namespace, g) for g in globs)


def _glob_regex(pattern: str) -> str:
    """A grant's shell-style pattern as an anchored regular expression that PostgreSQL's and
    Python's (SQLite's REGEXP) engines read alike: ``*``, ``?``, ``[...]`` and ``[!...]``."""
    out, i = ["^"], 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "*":
            out.append(".*")
        elif ch == "?":
            out.append(".")
        elif ch == "[" and "]" in pattern[i + 2:]:
            end = pattern.index("]", i + 2)
            body = pattern[i + 1:end]
            negate = body.startswith("!")
            body = body[1:] if negate else body
            out.append("[" + ("^" if negate else "") + "".join("\\" + c if c in "\\^]" else c for c in body) + "]")
            i = end
        else:
            out.append(re.escape(ch))
        i += 1
    return "".join(out) + "$"


def namespace_q(key: tuple[str, ...], field: str = "namespace") -> Q:
    """The rows whose ``field`` is a namespace ``visibility_from_key(key)`` allows, as a filter the
    database applies (so lists page in SQL instead of loading every row to test it in Python)."""
    if "*" in key:
        return Q()
    if not key:
        return Q(pk__in=[])
    exact = [p for p in key if not any(ch in p for ch in "*?[")]
    q = Q(**{f"{field}__in": exact})
    for pattern in key:
        if pattern not in exact:
            q |= Q(**{f"{field}__regex": _glob_regex(pattern)})
    return q


def namespace_visibility(user, cluster) -> Callable[[str], bool]:
    """A fast predicate: may this user see namespace X of this cluster?"""
    return visibility_from_key(namespace_visibility_key(user, cluster))


def cluster_role(user, cluster) -> Role | None:
    """The highest role on any namespace of the cluster (admin needs pattern '*')."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return None
    if user.is_superuser:
        return Role.ADMIN
    roles = [role for _, role in _patterns(user, cluster)]
    return Role(max(roles)) if roles else None


def is_cluster_admin(user, cluster) -> bool:
    """Cluster settings and grants: active superusers, or active admins over every namespace ('*')."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    if user.is_superuser:
        return True
    return any(p == "*" and r >= Role.ADMIN for p, r in _patterns(user, cluster))
