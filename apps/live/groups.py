"""Channel-layer group names.

Channels allows only ASCII letters, digits, ``.``, ``_`` and ``-`` in a group name, and fewer
than 100 characters. Kubernetes namespace names (DNS-1123 labels, at most 63 characters) fit;
anything else a client asks for is refused before it can become a group name. Session keys are
never put in a group name as they are (anyone who can list Redis keys would read them): they
are replaced by a keyed hash.
"""
from __future__ import annotations

import re

from django.utils.crypto import salted_hmac

NAMESPACE_NAME = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")


def is_namespace_name(name: str) -> bool:
    """A valid Kubernetes namespace name (a DNS-1123 label)."""
    return bool(NAMESPACE_NAME.fullmatch(name))


# --- data groups: what a socket receives -------------------------------------

def cluster_group(cluster_id: int) -> str:
    """Cluster-wide events that carry no namespace data (connection state)."""
    return f"cluster.{cluster_id}"


def namespace_group(cluster_id: int, namespace: str) -> str:
    if not is_namespace_name(namespace):
        raise ValueError(f"{namespace!r} is not a Kubernetes namespace name")
    return f"cluster.{cluster_id}.ns.{namespace}"


# --- access groups: who must re-check when access changes --------------------

def user_access_group(user_id: int) -> str:
    return f"access.user.{user_id}"


def token_access_group(token_id: int) -> str:
    return f"access.token.{token_id}"


def session_access_group(session_key: str) -> str:
    digest = salted_hmac("meshdeck.live.session-group", session_key, algorithm="sha256").hexdigest()
    return f"access.session.{digest[:40]}"


def cluster_access_group(cluster_id: int) -> str:
    return f"access.cluster.{cluster_id}"


def graph_group(cluster_id: int) -> str:
    """"A snapshot of this cluster committed": ids and a time, no mesh data (each graph socket
    builds what its own user may see)."""
    return f"graph.cluster.{cluster_id}"
