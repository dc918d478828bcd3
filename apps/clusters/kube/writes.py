"""The gateway's writes: server-side apply of Istio objects, labels and pod-template patches.

Every write carries the field manager ``meshdeck``; a caller's
``resourceVersion`` rides along so a concurrent change answers 409, which
becomes ``ObjectConflict`` (an approval bound to a version cannot overwrite a
later change).
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from kubernetes import client as k8s

from ..gateway import RESTARTED_AT_ANNOTATION, ObjectInvalid, ObjectNotFound
from ..inventory import ISTIO_KINDS, IstioObject, Namespace, Workload
from .mapping import istio_object_from_json, namespace_from_json

FIELD_MANAGER = "meshdeck"
WORKLOAD_TEMPLATE_KINDS = {
    "Deployment": "deployments",
    "StatefulSet": "statefulsets",
    "DaemonSet": "daemonsets",
}


class KubernetesWrites:
    """Mixed into KubernetesGateway, whose plumbing (``_call``, the API objects) and reads it uses."""

    core: k8s.CoreV1Api
    apps: k8s.AppsV1Api
    custom: k8s.CustomObjectsApi
    _call: Callable[..., Any]
    _require_version: Callable[[str], str]
    get_istio_object: Callable[[str, str, str], IstioObject]
    get_workload: Callable[[str, str, str], Workload]

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
        self, kind: str, namespace: str, name: str, *, labels: dict[str, str | None] | None = None,
        annotations: dict[str, str | None] | None = None, resource_version: str | None = None,
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

    def restart_workload(self, kind: str, namespace: str, name: str) -> Workload:
        """``kubectl rollout restart``: a new ``restartedAt`` on the pod template replaces every pod."""
        stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return self.patch_workload_template(kind, namespace, name, annotations={RESTARTED_AT_ANNOTATION: stamp})
