"""Keeps generated API requests from making the portal connect anywhere, or lock the fuzzer out.

A fuzzer writes cluster settings (``prometheus_url``, ``api_server_url``, a
kubeconfig) that the portal then connects to: a connection test, the graph's
Prometheus queries. Every URL with a host in a generated body is emptied before
the request is sent (a simulated cluster then reads its telemetry in-process,
a Kubernetes cluster without a server is refused), so no generated address is
ever dialled and no cluster points at a dead Prometheus. Malformed URLs stay as
they are, so the API's own checks still see them.
"""
from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

CLOSED = "127.0.0.1:9"  # discard port: nothing listens (the portal's proxy, a second guard)


def _has_host(value: str) -> bool:
    try:
        return bool(urlsplit(value).hostname)
    except ValueError:
        return False  # not a URL: the API refuses it


def offline_body(body: Any) -> Any:
    """``body`` with every URL that names a host, and any kubeconfig naming a server, emptied."""
    if isinstance(body, list):
        return [offline_body(item) for item in body]
    if not isinstance(body, dict):
        return body
    out = {}
    for key, value in body.items():
        if isinstance(value, str) and (
            ((key.endswith("_url") or "://" in value) and _has_host(value))
            or (key == "kubeconfig" and "server" in value)  # a generated kubeconfig could name any host
        ):
            value = ""
        elif isinstance(value, (dict, list)):
            value = offline_body(value)
        out[key] = value
    return out


def spare_the_caller(case, username: str, instead: str = "viewer") -> None:
    """A generated write to the calling user's own account (``/api/users/<username>/``) would
    deactivate or demote it, and every later request would answer 401 or 403: aim it elsewhere."""
    if case.method.upper() != "GET" and (case.path_parameters or {}).get("username") == username:
        case.path_parameters["username"] = instead
