"""The cluster gateway for a real Kubernetes API server (official ``kubernetes`` client): reads.

``KubernetesGateway`` returns the plain shapes of ``apps.clusters.inventory`` so
nothing above it can tell it from the simulator. One gateway per cluster lives
as long as the process (``apps.clusters.gateways.gateway_for``) and is shared by
every request and thread: its urllib3 pool is thread-safe, the API objects keep
no per-call state, and the only thing it learns (the Istio versions served)
sits in a thread-safe ``IstioDiscovery``.

* Credentials never touch the disk (``tls.py``).
* Kubeconfigs that would run code on the portal host (``exec`` plugins) or need
  a cloud SDK (``auth-provider``) are refused (``apps.clusters.kubeconfig``).
* Reads are one list call per kind across all namespaces (paged with
  ``limit``/``continue``), parsed as raw JSON (``mapping.py``): no
  per-namespace fan-out, no model deserialisation.
* Writes are server-side apply (``writes.py``).
* Every call waits at most ``MESHDECK_KUBE_TIMEOUT`` (connecting at most 5 s of
  it), and every failure becomes one of the typed ``GatewayError`` subclasses
  with a message a person can act on (``errors.py``).
"""
from __future__ import annotations

import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from django.conf import settings
from kubernetes import client as k8s

from ..gateway import GatewayError, ObjectInvalid, ObjectNotFound
from ..inventory import ISTIO_KINDS, Inventory, IstioObject, Namespace, Service, Workload
from ..kubeconfig import KubeconfigError, parse_kubeconfig
from .discovery import IstioDiscovery
from .errors import translate_error
from .mapping import (
    istio_object_from_json,
    istio_order,
    namespace_from_json,
    sorted_namespaces,
    sorted_services,
    workloads_from_json,
)
from .tls import pool_manager
from .writes import KubernetesWrites

LIST_PAGE_SIZE = 500
INVENTORY_CONCURRENCY = 4  # list calls in flight at once (tls.KUBE_POOL_SIZE keeps a connection for each)


def kube_timeout() -> tuple[float, float]:
    """(connect, read) seconds from ``MESHDECK_KUBE_TIMEOUT``; connecting never waits more than 5 s."""
    limit = float(settings.MESHDECK_KUBE_TIMEOUT)
    return (min(5.0, limit), limit)


class KubernetesGateway(KubernetesWrites):
    """ClusterGateway over a real API server. Build with ``from_kubeconfig`` or ``from_token``."""

    def __init__(
        self,
        url: str,
        *,
        token: str | None = None,
        ca_pem: str | None = None,
        verify: bool = True,
        client_cert_pem: str | None = None,
        client_key_pem: str | None = None,
        username: str | None = None,
        password: str | None = None,
        tls_server_name: str | None = None,
        timeout: tuple[float, float] | None = None,
    ):
        if not url or not url.startswith(("https://", "http://")):
            raise KubeconfigError(f"The API server URL {url!r} must start with https:// (or http://).")
        self.url = url.rstrip("/")
        self.timeout = timeout or kube_timeout()
        cfg = k8s.Configuration(host=self.url)
        cfg.verify_ssl = verify
        if token:
            cfg.api_key = {"authorization": token}
            cfg.api_key_prefix = {"authorization": "Bearer"}
        elif username:
            cfg.username, cfg.password = username, password or ""
        self._api = k8s.ApiClient(cfg)
        if token is None and username:
            self._api.set_default_header("Authorization", cfg.get_basic_auth_token())
        self._api.rest_client.pool_manager = pool_manager(
            self.url, ca_pem=ca_pem, verify=verify, client_cert_pem=client_cert_pem, client_key_pem=client_key_pem,
            tls_server_name=tls_server_name,
        )
        self.core = k8s.CoreV1Api(self._api)
        self.apps = k8s.AppsV1Api(self._api)
        self.custom = k8s.CustomObjectsApi(self._api)
        # (late-bound, so a test can replace _resources_of on one gateway)
        self._discovery = IstioDiscovery(lambda group, version: self._resources_of(group, version))

    @classmethod
    def from_kubeconfig(cls, text: str, context: str | None = None, **kwargs: Any) -> KubernetesGateway:
        found = parse_kubeconfig(text, context)
        return cls(
            found.server, token=found.token, ca_pem=found.ca_pem, verify=found.verify,
            client_cert_pem=found.client_cert_pem, client_key_pem=found.client_key_pem, username=found.username,
            password=found.password, tls_server_name=found.tls_server_name, **kwargs,
        )

    @classmethod
    def from_token(
        cls, url: str, token: str, ca_pem: str | None = None, verify: bool = True, **kwargs: Any
    ) -> KubernetesGateway:
        return cls(url, token=token, ca_pem=ca_pem, verify=verify, **kwargs)

    def close(self) -> None:
        """Close the pooled connections (a call in flight closes its own when it ends)."""
        self._api.rest_client.pool_manager.clear()

    def __repr__(self) -> str:
        return f"<KubernetesGateway {self.url}>"

    # -- plumbing ------------------------------------------------------------

    def _call(self, fn: Callable[..., Any], what: str, **kwargs: Any) -> Any:
        """Call one API method, return parsed JSON (or None for an empty body)."""
        try:
            resp = fn(_preload_content=False, _request_timeout=self.timeout, **kwargs)
            data = resp.data
        except Exception as exc:  # noqa: BLE001 - every failure becomes a typed GatewayError
            raise translate_error(exc, self.url, what, self.timeout) from exc
        if not data:
            return None
        try:
            return json.loads(data)
        except ValueError as exc:
            raise GatewayError(f"The API server at {self.url} sent something that is not JSON while {what}.") from exc

    def _list(self, fn: Callable[..., Any], what: str, **kwargs: Any) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        cont: str | None = None
        while True:
            extra: dict[str, Any] = {"limit": LIST_PAGE_SIZE}
            if cont:
                extra["_continue"] = cont
            page = self._call(fn, what, **kwargs, **extra) or {}
            items.extend(page.get("items") or [])
            cont = (page.get("metadata") or {}).get("continue")
            if not cont:
                return items

    def _list_kind(self, all_fn: Callable[..., Any], ns_fn: Callable[..., Any], what: str,
                   namespace: str | None) -> list[dict[str, Any]]:
        if namespace:
            return self._list(ns_fn, f"listing {what} in {namespace}", namespace=namespace)
        return self._list(all_fn, f"listing {what}")

    # -- reads ---------------------------------------------------------------

    def server_version(self) -> str:
        info = self._call(k8s.VersionApi(self._api).get_code, "reading the server version") or {}
        return str(info.get("gitVersion") or "")

    def list_namespaces(self) -> list[Namespace]:
        return sorted_namespaces(self._list(self.core.list_namespace, "listing namespaces"))

    def get_namespace(self, name: str) -> Namespace:
        return namespace_from_json(self._call(self.core.read_namespace, f"reading namespace {name}", name=name))

    def list_workloads(self, namespace: str | None = None) -> list[Workload]:
        a, c = self.apps, self.core
        return workloads_from_json(
            self._list_kind(a.list_deployment_for_all_namespaces, a.list_namespaced_deployment, "deployments",
                            namespace),
            self._list_kind(a.list_stateful_set_for_all_namespaces, a.list_namespaced_stateful_set, "statefulsets",
                            namespace),
            self._list_kind(a.list_daemon_set_for_all_namespaces, a.list_namespaced_daemon_set, "daemonsets",
                            namespace),
            self._list_kind(a.list_replica_set_for_all_namespaces, a.list_namespaced_replica_set, "replicasets",
                            namespace),
            self._list_kind(c.list_pod_for_all_namespaces, c.list_namespaced_pod, "pods", namespace),
        )

    def get_workload(self, kind: str, namespace: str, name: str) -> Workload:
        for wl in self.list_workloads(namespace):
            if wl.kind == kind and wl.name == name:
                return wl
        raise ObjectNotFound(f"{kind} {namespace}/{name} does not exist.")

    def list_services(self, namespace: str | None = None) -> list[Service]:
        return sorted_services(self._list_kind(self.core.list_service_for_all_namespaces,
                                                self.core.list_namespaced_service, "services", namespace))

    def _resources_of(self, group: str, version: str) -> set[str] | None:
        try:
            doc = self._call(self.custom.get_api_resources, f"discovering {group}/{version}",
                             group=group, version=version) or {}
        except ObjectNotFound:
            return None  # that group-version is not served
        return {r.get("name") for r in doc.get("resources") or []}

    def served_version(self, kind: str) -> str | None:
        """The Istio API version the server serves for ``kind`` (v1, then v1beta1), or None."""
        if kind not in ISTIO_KINDS:
            raise ObjectInvalid(f"{kind} is not an Istio kind Meshdeck manages ({', '.join(ISTIO_KINDS)}).")
        return self._discovery.served_version(kind)

    def forget_discovery(self) -> None:
        """Ask the server again which Istio versions it serves (the connection test does)."""
        self._discovery.forget()

    def _require_version(self, kind: str) -> str:
        version = self.served_version(kind)
        if version is None:
            group, _, plural = ISTIO_KINDS[kind]
            raise ObjectNotFound(
                f"The cluster does not serve {plural}.{group}: the Istio CRD for {kind} is not installed."
            )
        return version

    def list_istio_objects(self, namespace: str | None = None, kinds: list[str] | None = None) -> list[IstioObject]:
        result: list[IstioObject] = []
        for kind in kinds or list(ISTIO_KINDS):
            version = self.served_version(kind)
            if version is None:
                continue  # CRD not installed: nothing of that kind can exist
            group, _, plural = ISTIO_KINDS[kind]
            if namespace:
                items = self._list(self.custom.list_namespaced_custom_object, f"listing {plural} in {namespace}",
                                   group=group, version=version, namespace=namespace, plural=plural)
            else:
                items = self._list(self.custom.list_cluster_custom_object, f"listing {plural}",
                                   group=group, version=version, plural=plural)
            result.extend(istio_object_from_json(kind, o) for o in items)
        result.sort(key=istio_order)
        return result

    def get_istio_object(self, kind: str, namespace: str, name: str) -> IstioObject:
        version = self._require_version(kind)
        group, _, plural = ISTIO_KINDS[kind]
        try:
            obj = self._call(self.custom.get_namespaced_custom_object, f"reading {kind} {namespace}/{name}",
                             group=group, version=version, namespace=namespace, plural=plural, name=name)
        except ObjectNotFound as exc:
            raise ObjectNotFound(f"{kind} {namespace}/{name} does not exist.") from exc
        return istio_object_from_json(kind, obj)

    def inventory(self, namespaces: list[str] | None = None) -> Inventory:
        """Everything in one pass: one list call per kind across namespaces, then filtered.

        Discovery of the Istio API versions runs first (cached on the gateway),
        then the 13-odd list calls run ``INVENTORY_CONCURRENCY`` at a time over
        the gateway's connection pool: a page costs about the slowest few
        round trips instead of the sum of all of them. The first failure is
        raised (as its typed GatewayError) and calls not yet started are dropped.
        """
        wanted = set(namespaces) if namespaces is not None else None

        def keep(ns: str) -> bool:
            return wanted is None or ns in wanted

        a, c = self.apps, self.core
        calls: dict[str, tuple[Callable[..., Any], str, dict[str, Any]]] = {
            "namespaces": (c.list_namespace, "listing namespaces", {}),
            "pods": (c.list_pod_for_all_namespaces, "listing pods", {}),
            "replicasets": (a.list_replica_set_for_all_namespaces, "listing replicasets", {}),
            "deployments": (a.list_deployment_for_all_namespaces, "listing deployments", {}),
            "statefulsets": (a.list_stateful_set_for_all_namespaces, "listing statefulsets", {}),
            "daemonsets": (a.list_daemon_set_for_all_namespaces, "listing daemonsets", {}),
            "services": (c.list_service_for_all_namespaces, "listing services", {}),
        }
        for kind in ISTIO_KINDS:
            version = self.served_version(kind)
            if version is not None:  # CRD not installed: nothing of that kind can exist
                group, _, plural = ISTIO_KINDS[kind]
                calls[kind] = (self.custom.list_cluster_custom_object, f"listing {plural}",
                               {"group": group, "version": version, "plural": plural})
        pool = ThreadPoolExecutor(max_workers=INVENTORY_CONCURRENCY, thread_name_prefix="kube-list")
        try:
            futures = {key: pool.submit(self._list, fn, what, **kw) for key, (fn, what, kw) in calls.items()}
            raw = {key: future.result() for key, future in futures.items()}
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
        istio = [istio_object_from_json(kind, o) for kind in ISTIO_KINDS for o in raw.get(kind, ())]
        workloads = workloads_from_json(raw["deployments"], raw["statefulsets"], raw["daemonsets"],
                                        raw["replicasets"], raw["pods"])
        return Inventory(
            namespaces=[n for n in sorted_namespaces(raw["namespaces"]) if keep(n.name)],
            workloads=[w for w in workloads if keep(w.namespace)],
            services=[s for s in sorted_services(raw["services"]) if keep(s.namespace)],
            istio_objects=sorted((o for o in istio if keep(o.namespace)), key=istio_order),
        )

