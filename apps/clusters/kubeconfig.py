"""Reading an uploaded kubeconfig: clear errors, and no exec plugins.

Exec and auth-provider plugins would run programs on the portal's host with
the portal's privileges, so they are refused; use a token or client cert.
"""
from __future__ import annotations

from dataclasses import dataclass

import yaml


class KubeconfigError(ValueError):
    """The kubeconfig cannot be used; the message says why and what to do."""


class KubeconfigPluginRefused(KubeconfigError):
    """Exec and auth-provider plugins: refused on purpose, not malformed."""


@dataclass
class KubeconfigSummary:
    context: str
    cluster: str
    server: str
    user: str
    auth: str  # "token", "client-certificate", "basic"


def _named(items, kind: str) -> dict[str, dict]:
    if items is None:
        return {}
    if not isinstance(items, list):
        raise KubeconfigError(f"'{kind}s' must be a list.")
    out = {}
    for item in items:
        if not isinstance(item, dict) or "name" not in item:
            raise KubeconfigError(f"Every entry of '{kind}s' needs a 'name'.")
        out[item["name"]] = item.get(kind) or {}
    return out


def parse_kubeconfig(text: str, context: str | None = None) -> tuple[dict, KubeconfigSummary]:
    """Returns the parsed document and a summary of the selected context.

    The one place that decides whether a kubeconfig is usable; the Kubernetes
    gateway (apps.clusters.kube) builds its client from what this accepts.
    """
    if not text or not text.strip():
        raise KubeconfigError("The kubeconfig is empty.")
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        raise KubeconfigError(f"The kubeconfig is not valid YAML{where}.") from exc
    if not isinstance(doc, dict) or doc.get("kind", "Config") != "Config":
        raise KubeconfigError("This is not a kubeconfig: expected a YAML mapping of kind 'Config'.")
    contexts = _named(doc.get("contexts"), "context")
    clusters = _named(doc.get("clusters"), "cluster")
    users = _named(doc.get("users"), "user")
    if not contexts:
        raise KubeconfigError("The kubeconfig has no contexts.")
    name = context or doc.get("current-context") or (next(iter(contexts)) if len(contexts) == 1 else "")
    if not name:
        raise KubeconfigError(
            "The kubeconfig has several contexts and no current-context; choose one: " + ", ".join(sorted(contexts))
        )
    if name not in contexts:
        raise KubeconfigError(f"Context '{name}' is not in the kubeconfig; it has: " + ", ".join(sorted(contexts)))
    ctx = contexts[name]
    cluster_name, user_name = ctx.get("cluster"), ctx.get("user")
    if cluster_name not in clusters:
        raise KubeconfigError(f"Context '{name}' names cluster '{cluster_name}', which the kubeconfig does not define.")
    server = clusters[cluster_name].get("server")
    if not server or not str(server).startswith(("https://", "http://")):
        raise KubeconfigError(f"Cluster '{cluster_name}' has no usable 'server' URL (https://host:port).")
    user = users.get(user_name)
    if user is None:
        raise KubeconfigError(f"Context '{name}' names user '{user_name}', which the kubeconfig does not define.")
    if "exec" in user:
        command = (user.get("exec") or {}).get("command", "?")
        raise KubeconfigPluginRefused(
            f"User '{user_name}' authenticates with an exec plugin ('{command}'). Meshdeck does not run programs "
            "from kubeconfigs: use a service-account token or a client certificate instead."
        )
    if "auth-provider" in user:
        provider = (user.get("auth-provider") or {}).get("name", "?")
        raise KubeconfigPluginRefused(
            f"User '{user_name}' uses the '{provider}' auth-provider plugin, which Meshdeck does not run. "
            "Use a service-account token or a client certificate."
        )
    if user.get("token") or user.get("tokenFile"):
        if user.get("tokenFile"):
            raise KubeconfigError("tokenFile points at a file on another machine: paste the token itself instead.")
        auth = "token"
    elif user.get("client-certificate-data") or user.get("client-key-data"):
        if not (user.get("client-certificate-data") and user.get("client-key-data")):
            raise KubeconfigError("A client certificate needs both client-certificate-data and client-key-data.")
        auth = "client-certificate"
    elif user.get("client-certificate") or user.get("client-key"):
        raise KubeconfigError("Client certificate paths point at files on another machine: embed them as *-data.")
    elif user.get("username") and user.get("password"):
        auth = "basic"
    else:
        raise KubeconfigError(f"User '{user_name}' has no credentials (token or client certificate).")
    if clusters[cluster_name].get("certificate-authority") and not clusters[cluster_name].get(
        "certificate-authority-data"
    ):
        raise KubeconfigError("certificate-authority points at a file: embed it as certificate-authority-data.")
    return doc, KubeconfigSummary(context=name, cluster=cluster_name, server=str(server), user=user_name, auth=auth)
