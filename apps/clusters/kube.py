"""The cluster gateway for a real Kubernetes API server (official ``kubernetes`` client).

``KubernetesGateway`` returns the plain shapes of ``apps.clusters.inventory`` so
nothing above it can tell it from the simulator. Design points:

* Credentials never touch the disk: the CA goes to urllib3 as ``ca_cert_data``
  and a client certificate (kubeconfig ``client-certificate-data``) is loaded
  into an ``SSLContext`` through a temporary file that is removed before the
  constructor returns.
* Kubeconfigs that would run code on the portal host (``exec`` plugins) or need
  a cloud SDK (``auth-provider``) are refused with ``KubeconfigUnsupported``.
* Reads are one list call per kind across all namespaces (paged with
  ``limit``/``continue``), parsed as raw JSON: no per-namespace fan-out, no
  model deserialisation.
* Writes are server-side apply with the field manager ``meshdeck``; a caller's
  ``resourceVersion`` rides along so a concurrent change answers 409, which
  becomes ``ObjectConflict``.
* Every failure becomes one of the typed ``GatewayError`` subclasses with a
  message a person can act on; no raw urllib3/ApiException escapes.
"""
from __future__ import annotations

import base64
import binascii
import json
import os
import ssl
import tempfile
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Iterable

import urllib3
from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException

from .kubeconfig import KubeconfigError as KubeconfigInputError
from .kubeconfig import KubeconfigPluginRefused
from .kubeconfig import parse_kubeconfig as validate_kubeconfig
from .gateway import (
    ClusterForbidden,
    ClusterTimeout,
    ClusterTLSError,
    ClusterUnauthorized,
    ClusterUnreachable,
    GatewayError,
    ObjectConflict,
    ObjectInvalid,
    ObjectNotFound,
)
from .inventory import (
    ISTIO_KINDS,
    Inventory,
    IstioObject,
    Namespace,
    Pod,
    Service,
    ServicePort,
    Workload,
)

FIELD_MANAGER = "meshdeck"
DEFAULT_TIMEOUT = (5.0, 30.0)  # (connect, read) seconds
LIST_PAGE_SIZE = 500
INVENTORY_CONCURRENCY = 4  # list calls in flight at once; the connection pool holds 4
# Istio serves v1 since 1.22; older control planes only v1beta1 (v1alpha3 for networking).
ISTIO_VERSION_FALLBACKS = ("v1", "v1beta1", "v1alpha3")
WORKLOAD_TEMPLATE_KINDS = {
    "Deployment": "deployments",
    "StatefulSet": "statefulsets",
    "DaemonSet": "daemonsets",
}
# metadata keys worth keeping on an IstioObject (managedFields is noise, and big).
_KEPT_METADATA = (
    "name",
    "namespace",
    "labels",
    "annotations",
    "resourceVersion",
    "uid",
    "generation",
    "creationTimestamp",
)


class KubeconfigError(GatewayError):
    """The kubeconfig text cannot be used (not YAML, missing parts, bad base64)."""

    code = "kubeconfig"
    http_status = 400


class KubeconfigUnsupported(KubeconfigError):
    """The kubeconfig asks for an exec plugin or auth provider, which the portal refuses to run."""

    code = "kubeconfig_unsupported"


# ---------------------------------------------------------------------------
# Kubeconfig parsing (pure: text in, connection settings out)
# ---------------------------------------------------------------------------


def _named(entries: Any, name: str, what: str) -> dict[str, Any]:
    for entry in entries or []:
        if isinstance(entry, dict) and entry.get("name") == name:
            body = entry.get(what)
            return body if isinstance(body, dict) else {}
    raise KubeconfigError(f"The kubeconfig has no {what} named {name!r}.")


def _b64(value: str, field: str) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise KubeconfigError(f"The kubeconfig field {field} is not valid base64: {exc}.") from exc


def parse_kubeconfig(text: str, context: str | None = None) -> dict[str, Any]:
    """Connection settings from kubeconfig text, without touching the disk.

    Structure, context selection and the refusal of plugins and file
    references are decided by ``apps.clusters.kubeconfig.parse_kubeconfig``.

    Returns ``{"url", "token", "ca_pem", "verify", "client_cert_pem",
    "client_key_pem", "username", "password", "tls_server_name", "context"}``.
    File references (``certificate-authority:``, ``tokenFile``) are refused:
    the portal stores the kubeconfig text, not the files beside it.
    """
    try:
        doc, summary = validate_kubeconfig(text, context)
    except KubeconfigPluginRefused as exc:
        raise KubeconfigUnsupported(str(exc)) from exc
    except KubeconfigInputError as exc:
        raise KubeconfigError(str(exc)) from exc
    ctx_name, cluster_name = summary.context, summary.cluster
    cluster = _named(doc.get("clusters"), cluster_name, "cluster")
    user = _named(doc.get("users"), summary.user, "user")

    server = cluster.get("server")
    if not server or not isinstance(server, str):
        raise KubeconfigError(f"Cluster {cluster_name!r} has no server URL.")
    ca_pem = None
    if cluster.get("certificate-authority-data"):
        ca_pem = _b64(cluster["certificate-authority-data"], "certificate-authority-data").decode()
    cert = key = None
    if user.get("client-certificate-data") or user.get("client-key-data"):
        if not (user.get("client-certificate-data") and user.get("client-key-data")):
            raise KubeconfigError("A client certificate needs both client-certificate-data and client-key-data.")
        cert = _b64(user["client-certificate-data"], "client-certificate-data").decode()
        key = _b64(user["client-key-data"], "client-key-data").decode()
    return {
        "url": server.rstrip("/"),
        "token": user.get("token") or None,
        "ca_pem": ca_pem,
        "verify": not cluster.get("insecure-skip-tls-verify", False),
        "client_cert_pem": cert,
        "client_key_pem": key,
        "username": user.get("username"),
        "password": user.get("password"),
        "tls_server_name": cluster.get("tls-server-name"),
        "context": ctx_name,
    }


def _ssl_context(ca_pem: str | None, verify: bool, cert_pem: str | None, key_pem: str | None) -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    if not verify:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    elif ca_pem:
        try:
            ctx.load_verify_locations(cadata=ca_pem)
        except (ssl.SSLError, ValueError) as exc:
            raise KubeconfigError(f"The CA certificate is not valid PEM: {exc}") from exc
    if cert_pem and key_pem:
        # load_cert_chain only reads files: write one, load it, remove it at once.
        fd, path = tempfile.mkstemp(prefix="meshdeck-clientcert-", suffix=".pem")
        try:
            with os.fdopen(fd, "w") as fh:
                fh.write(cert_pem.rstrip() + "\n" + key_pem.rstrip() + "\n")
            ctx.load_cert_chain(path)
        except ssl.SSLError as exc:
            raise KubeconfigError(f"The client certificate or key is not valid: {exc}") from exc
        finally:
            os.unlink(path)
    return ctx


# ---------------------------------------------------------------------------
# Error translation
# ---------------------------------------------------------------------------


def _api_message(exc: ApiException) -> str:
    try:
        body = json.loads(exc.body or "")
        if isinstance(body, dict) and body.get("message"):
            return str(body["message"])
    except (TypeError, ValueError):
        pass
    return (exc.reason or "").strip() or f"HTTP {exc.status}"


def translate_error(exc: BaseException, url: str, what: str = "") -> GatewayError:
    """A typed, human-readable GatewayError for anything the client raised."""
    if isinstance(exc, GatewayError):
        return exc
    doing = f" while {what}" if what else ""
    if isinstance(exc, ApiException):
        status = exc.status or 0
        detail = _api_message(exc)
        if status == 401:
            return ClusterUnauthorized(
                f"The API server at {url} rejected the credentials (401 Unauthorized){doing}. "
                "The token or certificate is wrong or expired: update the cluster's credentials."
            )
        if status == 403:
            return ClusterForbidden(
                f"The cluster's credentials are not allowed to do this (403 Forbidden){doing}: {detail}. "
                "Grant the service account the needed RBAC role."
            )
        if status == 404:
            return ObjectNotFound(f"Not found{doing}: {detail}")
        if status == 409:
            return ObjectConflict(
                f"Conflict{doing}: {detail}. Somebody changed the object first; reload and try again."
            )
        if status in (400, 422):
            return ObjectInvalid(f"The API server refused the object{doing}: {detail}")
        if status == 0:
            return ClusterUnreachable(f"No answer from the API server at {url}{doing}: {exc.reason}")
        return GatewayError(f"The API server at {url} answered {status}{doing}: {detail}")
    reason = exc
    if isinstance(exc, urllib3.exceptions.MaxRetryError) and exc.reason is not None:
        reason = exc.reason
    if isinstance(reason, urllib3.exceptions.SSLError) or isinstance(reason, ssl.SSLError):
        return ClusterTLSError(
            f"TLS failed talking to {url}{doing}: {reason}. Check the CA certificate "
            "(the server's certificate must be signed by it) and the server address."
        )
    if isinstance(reason, urllib3.exceptions.NewConnectionError):
        # (checked first: urllib3 2 makes it a subclass of ConnectTimeoutError)
        text = str(reason)
        if "refused" in text.lower():
            return ClusterUnreachable(
                f"Connection to {url} was refused{doing}: nothing listens there. "
                "Check the API server address and port."
            )
        if not isinstance(reason, urllib3.exceptions.NameResolutionError) and "timed out" in text.lower():
            return ClusterTimeout(f"The API server at {url} did not answer in time{doing}.")
        return ClusterUnreachable(f"Cannot reach the API server at {url}{doing}: {text}")
    if isinstance(reason, (urllib3.exceptions.ConnectTimeoutError, urllib3.exceptions.ReadTimeoutError,
                           urllib3.exceptions.TimeoutError, TimeoutError)):
        return ClusterTimeout(
            f"The API server at {url} did not answer in time{doing}. "
            "Check the address, firewalls and the server's load."
        )
    if isinstance(reason, (urllib3.exceptions.NewConnectionError, ConnectionError,
                           urllib3.exceptions.ProtocolError, urllib3.exceptions.HTTPError, OSError)):
        text = str(reason)
        if "refused" in text.lower():
            return ClusterUnreachable(
                f"Connection to {url} was refused{doing}: nothing listens there. "
                "Check the API server address and port."
            )
        if "timed out" in text.lower():
            return ClusterTimeout(f"The API server at {url} did not answer in time{doing}.")
        return ClusterUnreachable(f"Cannot reach the API server at {url}{doing}: {text}")
    return GatewayError(f"Unexpected error talking to {url}{doing}: {exc}")


# ---------------------------------------------------------------------------
# Raw JSON -> inventory shapes (pure)
# ---------------------------------------------------------------------------


def _meta(obj: dict[str, Any]) -> dict[str, Any]:
    return obj.get("metadata") or {}


def _controller_ref(obj: dict[str, Any]) -> dict[str, Any] | None:
    refs = _meta(obj).get("ownerReferences") or []
    for ref in refs:
        if ref.get("controller"):
            return ref
    return refs[0] if refs else None


def namespace_from_json(obj: dict[str, Any]) -> Namespace:
    meta = _meta(obj)
    return Namespace(
        name=meta["name"],
        labels=dict(meta.get("labels") or {}),
        annotations=dict(meta.get("annotations") or {}),
        resource_version=str(meta.get("resourceVersion") or ""),
    )


def pod_has_sidecar(obj: dict[str, Any]) -> bool:
    spec = obj.get("spec") or {}
    containers = list(spec.get("containers") or []) + list(spec.get("initContainers") or [])
    if any(c.get("name") == "istio-proxy" for c in containers):
        return True
    return "sidecar.istio.io/status" in (_meta(obj).get("annotations") or {})


def pod_from_json(obj: dict[str, Any]) -> Pod:
    meta = _meta(obj)
    status = obj.get("status") or {}
    return Pod(
        name=meta["name"],
        namespace=meta.get("namespace", ""),
        labels=dict(meta.get("labels") or {}),
        annotations=dict(meta.get("annotations") or {}),
        phase=status.get("phase") or "Pending",
        has_sidecar=pod_has_sidecar(obj),
        ip=status.get("podIP") or "",
    )


def _pod_ready(obj: dict[str, Any]) -> bool:
    for cond in (obj.get("status") or {}).get("conditions") or []:
        if cond.get("type") == "Ready":
            return cond.get("status") == "True"
    return False


def _template_workload(kind: str, obj: dict[str, Any]) -> Workload:
    meta = _meta(obj)
    spec = obj.get("spec") or {}
    status = obj.get("status") or {}
    tmeta = (spec.get("template") or {}).get("metadata") or {}
    if kind == "DaemonSet":
        replicas = int(status.get("desiredNumberScheduled") or 0)
        ready = int(status.get("numberReady") or 0)
    else:
        replicas = int(spec.get("replicas", 1) if spec.get("replicas") is not None else 1)
        ready = int(status.get("readyReplicas") or 0)
    return Workload(
        kind=kind,
        name=meta["name"],
        namespace=meta.get("namespace", ""),
        labels=dict(tmeta.get("labels") or {}),
        annotations=dict(tmeta.get("annotations") or {}),
        replicas=replicas,
        ready_replicas=ready,
        pods=[],
        resource_version=str(meta.get("resourceVersion") or ""),
    )


def workloads_from_json(
    deployments: Iterable[dict[str, Any]],
    statefulsets: Iterable[dict[str, Any]],
    daemonsets: Iterable[dict[str, Any]],
    replicasets: Iterable[dict[str, Any]],
    pods: Iterable[dict[str, Any]],
) -> list[Workload]:
    """Group pods under their owning workload through ownerReferences.

    Pod -> ReplicaSet -> Deployment, Pod -> StatefulSet, Pod -> DaemonSet.
    A pod no such controller owns is a workload of its own (kind "Pod"); a
    ReplicaSet without a Deployment is a workload of kind "ReplicaSet", as in Kiali.
    """
    by_uid: dict[str, Workload] = {}
    result: list[Workload] = []
    for kind, items in (("Deployment", deployments), ("StatefulSet", statefulsets), ("DaemonSet", daemonsets)):
        for obj in items:
            wl = _template_workload(kind, obj)
            by_uid[_meta(obj).get("uid", f"{kind}/{wl.namespace}/{wl.name}")] = wl
            result.append(wl)
    rs_owner: dict[str, str] = {}  # ReplicaSet uid -> Deployment uid
    for rs in replicasets:
        ref = _controller_ref(rs)
        rs_uid = _meta(rs).get("uid", "")
        if ref and ref.get("kind") == "Deployment" and ref.get("uid") in by_uid:
            rs_owner[rs_uid] = ref["uid"]
        elif not ref:
            wl = _template_workload("ReplicaSet", rs)
            by_uid[rs_uid] = wl
            rs_owner[rs_uid] = rs_uid
            result.append(wl)
    for obj in pods:
        pod = pod_from_json(obj)
        ref = _controller_ref(obj)
        owner: Workload | None = None
        if ref:
            uid = ref.get("uid", "")
            if ref.get("kind") == "ReplicaSet":
                owner = by_uid.get(rs_owner.get(uid, ""))
            else:
                owner = by_uid.get(uid)
        if owner is not None:
            owner.pods.append(pod)
            continue
        meta = _meta(obj)
        result.append(
            Workload(
                kind="Pod",
                name=pod.name,
                namespace=pod.namespace,
                labels=dict(pod.labels),
                annotations=dict(pod.annotations),
                replicas=1,
                ready_replicas=1 if _pod_ready(obj) else 0,
                pods=[pod],
                resource_version=str(meta.get("resourceVersion") or ""),
            )
        )
    for wl in result:
        wl.pods.sort(key=lambda p: p.name)
    result.sort(key=lambda w: (w.namespace, w.name, w.kind))
    return result


def service_from_json(obj: dict[str, Any]) -> Service:
    meta = _meta(obj)
    spec = obj.get("spec") or {}
    ports = [
        ServicePort(
            name=p.get("name") or "",
            port=int(p.get("port") or 0),
            protocol=p.get("protocol") or "TCP",
            app_protocol=p.get("appProtocol") or "",
            target_port=p.get("targetPort"),
        )
        for p in spec.get("ports") or []
    ]
    cluster_ip = spec.get("clusterIP") or ""
    return Service(
        name=meta["name"],
        namespace=meta.get("namespace", ""),
        labels=dict(meta.get("labels") or {}),
        selector=dict(spec.get("selector") or {}),
        ports=ports,
        type=spec.get("type") or "ClusterIP",
        cluster_ip="" if cluster_ip == "None" else cluster_ip,
        resource_version=str(meta.get("resourceVersion") or ""),
    )


def _sorted_namespaces(items: Iterable[dict[str, Any]]) -> list[Namespace]:
    return sorted((namespace_from_json(o) for o in items), key=lambda n: n.name)


def _sorted_services(items: Iterable[dict[str, Any]]) -> list[Service]:
    return sorted((service_from_json(o) for o in items), key=lambda s: (s.namespace, s.name))


def _istio_order(o: IstioObject) -> tuple[str, str, str]:
    return (o.namespace, o.kind, o.name)


def istio_object_from_json(kind: str, obj: dict[str, Any]) -> IstioObject:
    meta = _meta(obj)
    kept = {k: meta[k] for k in _KEPT_METADATA if k in meta}
    return IstioObject(
        kind=kind,
        namespace=meta.get("namespace", ""),
        name=meta["name"],
        spec=obj.get("spec") or {},
        metadata=kept,
        api_version=obj.get("apiVersion", ""),
        resource_version=str(meta.get("resourceVersion") or ""),
    )


# ---------------------------------------------------------------------------
# The gateway
# ---------------------------------------------------------------------------


class KubernetesGateway:
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
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
    ):
        if not url or not url.startswith(("https://", "http://")):
            raise KubeconfigError(f"The API server URL {url!r} must start with https:// (or http://).")
        self.url = url.rstrip("/")
        self.timeout = timeout
        cfg = k8s.Configuration(host=self.url)
        cfg.verify_ssl = verify
        if token:
            cfg.api_key = {"authorization": token}
            cfg.api_key_prefix = {"authorization": "Bearer"}
        elif username:
            cfg.username, cfg.password = username, password or ""
        if tls_server_name:
            cfg.tls_server_name = tls_server_name
        self._api = k8s.ApiClient(cfg)
        if token is None and username:
            self._api.set_default_header("Authorization", cfg.get_basic_auth_token())
        if self.url.startswith("https://"):
            # Our own pool: CA and client cert live only in memory; no retries, so
            # a refused port or a TLS failure surfaces at once with its real cause.
            pool_args: dict[str, Any] = {
                "ssl_context": _ssl_context(ca_pem, verify, client_cert_pem, client_key_pem),
                "cert_reqs": ssl.CERT_REQUIRED if verify else ssl.CERT_NONE,
                "retries": urllib3.Retry(total=0, redirect=0, raise_on_redirect=False),
                "maxsize": 4,
            }
            if not verify:
                pool_args["assert_hostname"] = False
            if tls_server_name:
                pool_args["server_hostname"] = tls_server_name
            self._api.rest_client.pool_manager = urllib3.PoolManager(**pool_args)
        else:
            self._api.rest_client.pool_manager = urllib3.PoolManager(
                retries=urllib3.Retry(total=0, redirect=0, raise_on_redirect=False), maxsize=4
            )
        self.core = k8s.CoreV1Api(self._api)
        self.apps = k8s.AppsV1Api(self._api)
        self.custom = k8s.CustomObjectsApi(self._api)
        self._served: dict[str, str | None] = {}  # kind -> served version (None: CRD missing)
        self._group_resources: dict[tuple[str, str], set[str] | None] = {}

    # -- constructors the Cluster model calls --------------------------------

    @classmethod
    def from_kubeconfig(cls, text: str, context: str | None = None, **kwargs: Any) -> "KubernetesGateway":
        params = parse_kubeconfig(text, context)
        params.pop("context")
        url = params.pop("url")
        return cls(url, **params, **kwargs)

    @classmethod
    def from_token(
        cls, url: str, token: str, ca_pem: str | None = None, verify: bool = True, **kwargs: Any
    ) -> "KubernetesGateway":
        return cls(url, token=token, ca_pem=ca_pem, verify=verify, **kwargs)

    def close(self) -> None:
        self._api.rest_client.pool_manager.clear()

    def __enter__(self) -> "KubernetesGateway":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<KubernetesGateway {self.url}>"

    # -- plumbing ------------------------------------------------------------

    def _call(self, fn: Callable[..., Any], what: str, **kwargs: Any) -> Any:
        """Call one API method, return parsed JSON (or None for an empty body)."""
        try:
            resp = fn(_preload_content=False, _request_timeout=self.timeout, **kwargs)
            data = resp.data
        except Exception as exc:  # noqa: BLE001 - every failure becomes a typed GatewayError
            raise translate_error(exc, self.url, what) from exc
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
            extra = {"limit": LIST_PAGE_SIZE}
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
        return _sorted_namespaces(self._list(self.core.list_namespace, "listing namespaces"))

    def get_namespace(self, name: str) -> Namespace:
        return namespace_from_json(self._call(self.core.read_namespace, f"reading namespace {name}", name=name))

    def list_workloads(self, namespace: str | None = None) -> list[Workload]:
        a, c = self.apps, self.core
        return workloads_from_json(
            self._list_kind(a.list_deployment_for_all_namespaces, a.list_namespaced_deployment, "deployments", namespace),
            self._list_kind(a.list_stateful_set_for_all_namespaces, a.list_namespaced_stateful_set, "statefulsets", namespace),
            self._list_kind(a.list_daemon_set_for_all_namespaces, a.list_namespaced_daemon_set, "daemonsets", namespace),
            self._list_kind(a.list_replica_set_for_all_namespaces, a.list_namespaced_replica_set, "replicasets", namespace),
            self._list_kind(c.list_pod_for_all_namespaces, c.list_namespaced_pod, "pods", namespace),
        )

    def get_workload(self, kind: str, namespace: str, name: str) -> Workload:
        for wl in self.list_workloads(namespace):
            if wl.kind == kind and wl.name == name:
                return wl
        raise ObjectNotFound(f"{kind} {namespace}/{name} does not exist.")

    def list_services(self, namespace: str | None = None) -> list[Service]:
        return _sorted_services(self._list_kind(self.core.list_service_for_all_namespaces,
                                                self.core.list_namespaced_service, "services", namespace))

    def _resources_of(self, group: str, version: str) -> set[str] | None:
        key = (group, version)
        if key not in self._group_resources:
            try:
                doc = self._call(self.custom.get_api_resources, f"discovering {group}/{version}",
                                 group=group, version=version) or {}
                self._group_resources[key] = {r.get("name") for r in doc.get("resources") or []}
            except ObjectNotFound:
                self._group_resources[key] = None
        return self._group_resources[key]

    def served_version(self, kind: str) -> str | None:
        """The Istio API version the server serves for ``kind`` (v1, then v1beta1), or None."""
        if kind not in ISTIO_KINDS:
            raise ObjectInvalid(f"{kind} is not an Istio kind Meshdeck manages ({', '.join(ISTIO_KINDS)}).")
        if kind not in self._served:
            group, _, plural = ISTIO_KINDS[kind]
            self._served[kind] = None
            for version in ISTIO_VERSION_FALLBACKS:
                resources = self._resources_of(group, version)
                if resources and plural in resources:
                    self._served[kind] = version
                    break
        return self._served[kind]

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
        result.sort(key=_istio_order)
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
            namespaces=[n for n in _sorted_namespaces(raw["namespaces"]) if keep(n.name)],
            workloads=[w for w in workloads if keep(w.namespace)],
            services=[s for s in _sorted_services(raw["services"]) if keep(s.namespace)],
            istio_objects=sorted((o for o in istio if keep(o.namespace)), key=_istio_order),
        )

    # -- writes --------------------------------------------------------------

    def apply_istio_object(self, manifest: dict[str, Any], *, resource_version: str | None = None) -> IstioObject:
        """Server-side apply as field manager ``meshdeck``.

        With ``resource_version`` the apply only succeeds if the live object still
        has it (409 -> ObjectConflict), so an approval bound to a version cannot
        overwrite a later change.
        """
        kind = manifest.get("kind")
        if kind not in ISTIO_KINDS:
            raise ObjectInvalid(f"Cannot apply kind {kind!r}: Meshdeck manages {', '.join(ISTIO_KINDS)}.")
        meta = dict(manifest.get("metadata") or {})
        name, namespace = meta.get("name"), meta.get("namespace")
        if not name or not namespace:
            raise ObjectInvalid("The manifest needs metadata.name and metadata.namespace.")
        version = self._require_version(kind)
        group, _, plural = ISTIO_KINDS[kind]
        for noisy in ("managedFields", "uid", "creationTimestamp", "generation", "resourceVersion"):
            meta.pop(noisy, None)
        if resource_version:
            meta["resourceVersion"] = str(resource_version)
        body = {"apiVersion": f"{group}/{version}", "kind": kind, "metadata": meta, "spec": manifest.get("spec") or {}}
        what = f"applying {kind} {namespace}/{name}"
        result = self._call(
            self.custom.patch_namespaced_custom_object, what,
            group=group, version=version, namespace=namespace, plural=plural, name=name, body=body,
            field_manager=FIELD_MANAGER, force=True, _content_type="application/apply-patch+yaml",
        )
        if not result:
            # v1.20 answers an SSA create of a custom object with an empty body: read it back.
            return self.get_istio_object(kind, namespace, name)
        return istio_object_from_json(kind, result)

    def delete_istio_object(self, kind: str, namespace: str, name: str, *, resource_version: str | None = None) -> None:
        version = self._require_version(kind)
        group, _, plural = ISTIO_KINDS[kind]
        body: dict[str, Any] = {"kind": "DeleteOptions", "apiVersion": "v1"}
        if resource_version:
            body["preconditions"] = {"resourceVersion": str(resource_version)}
        try:
            self._call(self.custom.delete_namespaced_custom_object, f"deleting {kind} {namespace}/{name}",
                       group=group, version=version, namespace=namespace, plural=plural, name=name, body=body)
        except ObjectNotFound as exc:
            raise ObjectNotFound(f"{kind} {namespace}/{name} does not exist.") from exc

    def patch_namespace_labels(
        self, name: str, labels: dict[str, str | None], *, resource_version: str | None = None
    ) -> Namespace:
        """Merge-patch labels (None removes one); resourceVersion makes it conditional."""
        meta: dict[str, Any] = {"labels": labels}
        if resource_version:
            meta["resourceVersion"] = str(resource_version)
        try:
            obj = self._call(self.core.patch_namespace, f"labelling namespace {name}", name=name,
                             body={"metadata": meta}, field_manager=FIELD_MANAGER,
                             _content_type="application/merge-patch+json")
        except ObjectNotFound as exc:
            raise ObjectNotFound(f"Namespace {name} does not exist.") from exc
        return namespace_from_json(obj)

    def patch_workload_template(
        self,
        kind: str,
        namespace: str,
        name: str,
        labels: dict[str, str | None] | None = None,
        annotations: dict[str, str | None] | None = None,
        resource_version: str | None = None,
    ) -> Workload:
        """Merge-patch the pod template's labels/annotations (sidecar.istio.io/inject)."""
        if kind not in WORKLOAD_TEMPLATE_KINDS:
            raise ObjectInvalid(
                f"Cannot change the pod template of a {kind}: only {', '.join(WORKLOAD_TEMPLATE_KINDS)} have one."
            )
        tmeta: dict[str, Any] = {}
        if labels:
            tmeta["labels"] = labels
        if annotations:
            tmeta["annotations"] = annotations
        body: dict[str, Any] = {"spec": {"template": {"metadata": tmeta}}}
        if resource_version:
            body["metadata"] = {"resourceVersion": str(resource_version)}
        fn = {
            "Deployment": self.apps.patch_namespaced_deployment,
            "StatefulSet": self.apps.patch_namespaced_stateful_set,
            "DaemonSet": self.apps.patch_namespaced_daemon_set,
        }[kind]
        try:
            self._call(fn, f"patching {kind} {namespace}/{name}", name=name, namespace=namespace, body=body,
                       field_manager=FIELD_MANAGER, _content_type="application/merge-patch+json")
        except ObjectNotFound as exc:
            raise ObjectNotFound(f"{kind} {namespace}/{name} does not exist.") from exc
        return self.get_workload(kind, namespace, name)


# ---------------------------------------------------------------------------
# "Test connection"
# ---------------------------------------------------------------------------


def gateway_from_params(params: dict[str, Any]) -> KubernetesGateway:
    """Build a gateway from form-like params: ``kubeconfig`` (+``context``) or ``url``/``token``/``ca_pem``."""
    extra = {k: params[k] for k in ("timeout",) if k in params}
    if params.get("kubeconfig"):
        return KubernetesGateway.from_kubeconfig(params["kubeconfig"], params.get("context") or None, **extra)
    if not params.get("url"):
        raise KubeconfigError("Give either a kubeconfig or the API server URL and a token.")
    return KubernetesGateway.from_token(
        params["url"], params.get("token") or "", params.get("ca_pem") or None,
        verify=params.get("verify", True), **extra,
    )


def probe(gateway_or_params: Any) -> dict[str, Any]:
    """Test a connection: server version and which Istio CRDs are served, or the precise error.

    Never raises for cluster problems; returns ``{"ok": False, "error": code, "message": ...}``.
    """
    gateway = None
    try:
        if isinstance(gateway_or_params, dict):
            gateway = gateway_from_params(gateway_or_params)
        else:
            gateway = gateway_or_params
        version = gateway.server_version()
        present: dict[str, str] = {}
        missing: list[str] = []
        for kind in ISTIO_KINDS:
            served = gateway.served_version(kind) if hasattr(gateway, "served_version") else "v1"
            if served:
                group = ISTIO_KINDS[kind][0]
                present[kind] = f"{group}/{served}"
            else:
                missing.append(kind)
        # A list call proves the credentials can read, not just reach /version.
        namespaces = len(gateway.list_namespaces())
        return {
            "ok": True,
            "server_version": version,
            "api_server": getattr(gateway, "url", ""),
            "namespaces": namespaces,
            "istio_crds": {"present": present, "missing": missing},
        }
    except GatewayError as exc:
        return {"ok": False, "error": exc.code, "message": exc.message,
                "api_server": getattr(gateway, "url", "") if gateway else ""}
