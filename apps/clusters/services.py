"""Writes for clusters: create/update (credentials encrypted), connection test."""
from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from apps.audit.actor import Actor
from apps.audit.services import Target, assign_changes, audit_record
from apps.core.errors import FieldInputError

from .crypto import CredentialsUnreadable, rotate
from .gateway import GatewayError
from .kubeconfig import KubeconfigError, parse_kubeconfig
from .models import Cluster
from .prometheus_probe import PrometheusProbeError, probe_prometheus
from .simulated import simulator_topology_error


class ClusterInputError(FieldInputError):
    """Bad input for a cluster; ``field`` names the offending field (the API answers 400)."""


def cluster_target(cluster: Cluster) -> Target:
    return Target(type="cluster", name=cluster.name, cluster=cluster.name, id=cluster.pk)


# What an audit event shows of a cluster: never the credentials themselves.
_PUBLIC_FIELDS = ("name", "kind", "simulator_topology", "api_server_url", "kube_context", "prometheus_url",
                  "grafana_url", "tracing_url", "istio_namespace", "health_tolerances")
# Fields cluster_update may change (credentials go through cluster_update_credentials).
EDITABLE_FIELDS = ("name", "simulator_topology", "prometheus_url", "grafana_url", "tracing_url", "istio_namespace",
                   "health_tolerances")


def cluster_snapshot(cluster: Cluster) -> dict[str, Any]:
    data = {name: getattr(cluster, name) for name in _PUBLIC_FIELDS}
    try:
        data["auth_method"] = cluster.auth_method
    except CredentialsUnreadable:
        data["auth_method"] = "unreadable"
    return data


def _credentials_from_input(
    *, kubeconfig: str | None, kube_context: str | None, api_server_url: str | None, token: str | None,
    ca_pem: str | None,
) -> tuple[dict[str, Any], str]:
    if kubeconfig:
        try:
            found = parse_kubeconfig(kubeconfig, kube_context or None)
        except KubeconfigError as exc:
            raise ClusterInputError("kubeconfig", exc.message) from exc
        return {"kubeconfig": kubeconfig}, found.server
    if api_server_url and token:
        if ca_pem and "BEGIN CERTIFICATE" not in ca_pem:
            raise ClusterInputError("ca_pem", "The CA certificate must be PEM text (-----BEGIN CERTIFICATE-----).")
        return {"token": token.strip(), "ca_pem": ca_pem or ""}, api_server_url
    raise ClusterInputError(
        "kubeconfig", "A Kubernetes cluster needs a kubeconfig, or an API server URL with a bearer token."
    )


@transaction.atomic
def cluster_create(
    *, name: str, kind: str, simulator_topology: str = "demo", kubeconfig: str | None = None,
    kube_context: str | None = None, api_server_url: str | None = None, token: str | None = None,
    ca_pem: str | None = None, prometheus_url: str = "", grafana_url: str = "", tracing_url: str = "",
    istio_namespace: str = "istio-system", actor: Actor | None = None,
) -> Cluster:
    if Cluster.objects.filter(name=name).exists():
        raise ClusterInputError("name", f"A cluster named '{name}' already exists.")
    if kind == Cluster.Kind.SIMULATED and (problem := simulator_topology_error(simulator_topology)):
        raise ClusterInputError("simulator_topology", problem)
    cluster = Cluster(
        name=name, kind=kind, simulator_topology=simulator_topology if kind == Cluster.Kind.SIMULATED else "",
        kube_context=kube_context or "", prometheus_url=prometheus_url or "", grafana_url=grafana_url or "",
        tracing_url=tracing_url or "", istio_namespace=istio_namespace or "istio-system",
    )
    if kind == Cluster.Kind.KUBERNETES:
        creds, server = _credentials_from_input(
            kubeconfig=kubeconfig, kube_context=kube_context, api_server_url=api_server_url, token=token, ca_pem=ca_pem
        )
        cluster.credentials = creds
        cluster.api_server_url = server
    cluster.full_clean()
    cluster.save()
    audit_record("cluster.create", actor=actor, target=cluster_target(cluster), after=cluster_snapshot(cluster))
    return cluster


@transaction.atomic
def cluster_update(*, cluster: Cluster, actor: Actor | None = None, **changes: Any) -> Cluster:
    """Changes a cluster's settings (EDITABLE_FIELDS); one cluster.update event with what changed."""
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise ClusterInputError(sorted(unknown)[0], f"Cannot change {', '.join(sorted(unknown))} here.")
    cluster = Cluster.objects.select_for_update().get(pk=cluster.pk)
    before, after = assign_changes(cluster, changes)
    if not after:
        return cluster
    if "name" in after and Cluster.objects.filter(name=after["name"]).exclude(pk=cluster.pk).exists():
        raise ClusterInputError("name", f"A cluster named '{after['name']}' already exists.")
    cluster.full_clean()
    cluster.save()
    audit_record("cluster.update", actor=actor, target=cluster_target(cluster), before=before, after=after)
    return cluster


@transaction.atomic
def cluster_delete(*, cluster: Cluster, actor: Actor | None = None) -> None:
    target, before = cluster_target(cluster), cluster_snapshot(cluster)
    cluster.delete()
    audit_record("cluster.delete", actor=actor, target=target, before=before)


@transaction.atomic
def cluster_update_credentials(
    *, cluster: Cluster, kubeconfig: str | None = None, kube_context: str | None = None,
    api_server_url: str | None = None, token: str | None = None, ca_pem: str | None = None,
    actor: Actor | None = None,
) -> Cluster:
    """Replaces the credentials; the event says how it authenticates now, never with what."""
    creds, server = _credentials_from_input(
        kubeconfig=kubeconfig, kube_context=kube_context, api_server_url=api_server_url, token=token, ca_pem=ca_pem
    )
    before = {"auth_method": cluster_snapshot(cluster)["auth_method"], "api_server_url": cluster.api_server_url,
              "kube_context": cluster.kube_context}
    cluster.credentials = creds
    cluster.api_server_url = server
    cluster.kube_context = kube_context or ""
    cluster.save(update_fields=["credentials_encrypted", "api_server_url", "kube_context", "updated_at"])
    after = {"auth_method": "kubeconfig" if creds.get("kubeconfig") else "token", "api_server_url": server,
             "kube_context": cluster.kube_context}
    audit_record("cluster.credentials_changed", actor=actor, target=cluster_target(cluster), before=before,
                 after={**after, "replaced": "credentials"})
    return cluster


# The same checks for forms that validate before saving (the admin).
credentials_from_input = _credentials_from_input


def clusters_reencrypt_credentials() -> tuple[list[str], list[str]]:
    """Re-encrypt every cluster's credentials with the first key of MESHDECK_ENCRYPTION_KEYS.

    The rotation procedure: put the new key first (keep the old ones after it), run this,
    then drop the old keys. Returns (re-encrypted cluster names, names whose credentials no
    configured key can read: their credentials must be entered again).
    """
    done, unreadable = [], []
    for cluster in Cluster.objects.exclude(credentials_encrypted="").order_by("name"):
        try:
            token = rotate(cluster.credentials_encrypted)
        except CredentialsUnreadable:
            unreadable.append(cluster.name)
            continue
        with transaction.atomic():
            Cluster.objects.filter(pk=cluster.pk).update(credentials_encrypted=token)
            audit_record("cluster.credentials_changed", target=cluster_target(cluster),
                         after={"reencrypted": True},
                         message="re-encrypted with the first key of MESHDECK_ENCRYPTION_KEYS (same credentials)")
        done.append(cluster.name)
    return done, unreadable


class ConnectionCheckFailed(GatewayError):
    """A check that answered but found a problem; ``code`` names it."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


def _check(name: str, fn) -> dict[str, Any]:
    try:
        return {"name": name, "ok": True, **fn()}
    except (GatewayError, PrometheusProbeError) as exc:
        return {"name": name, "ok": False, "code": exc.code, "error": exc.message}
    except CredentialsUnreadable as exc:
        return {"name": name, "ok": False, "code": "credentials", "error": str(exc)}


def _kubernetes_check(cluster: Cluster) -> dict[str, Any]:
    gateway = cluster.gateway()
    if cluster.kind == Cluster.Kind.SIMULATED:
        return {"version": gateway.server_version(), "istio_crds": "all (simulated)"}
    from .kube import probe

    found = probe(gateway)
    if not found["ok"]:
        raise ConnectionCheckFailed(found["error"], found["message"])
    missing = found["istio_crds"]["missing"]
    if missing:
        raise ConnectionCheckFailed(
            "istio_crds_missing",
            f"Kubernetes {found['server_version']} answers, but these Istio CRDs are missing: {', '.join(missing)}. "
            "Is Istio installed in this cluster?",
        )
    return {"version": found["server_version"], "namespaces": found["namespaces"], "istio_crds": "all present"}


def cluster_test_connection(cluster: Cluster, *, save: bool = True, record: bool = False) -> dict[str, Any]:
    """Checks the API server and Prometheus; stores and returns the report.

    ``record``: a person asked (page, API, command): a cluster.test event. The
    periodic check only refreshes the status shown on the cluster's page.
    """
    checks = [_check("kubernetes", lambda: _kubernetes_check(cluster))]
    if cluster.prometheus_url:
        timeout = settings.MESHDECK_PROMETHEUS_TIMEOUT
        checks.append(_check("prometheus", lambda: probe_prometheus(cluster.prometheus_url, timeout=timeout)))
    elif cluster.kind == Cluster.Kind.SIMULATED:
        checks.append({"name": "prometheus", "ok": True, "detail": "in-process simulator telemetry"})
    else:
        checks.append({"name": "prometheus", "ok": False, "code": "not_configured",
                       "error": "No Prometheus URL: the traffic graph needs one."})
    report = {"ok": all(c["ok"] for c in checks), "checks": checks, "checked_at": timezone.now().isoformat()}
    if save:
        Cluster.objects.filter(pk=cluster.pk).update(
            last_checked_at=timezone.now(), last_check_ok=report["ok"], last_check_report=report
        )
    if record:
        problems = "; ".join(f"{c['name']}: {c.get('error', '')}" for c in checks if not c["ok"])
        audit_record("cluster.test", target=cluster_target(cluster), after={"ok": report["ok"]},
                     outcome="ok" if report["ok"] else "failed", message=problems)
    return report
