"""The checks the Kubernetes API server (CRD schema) would make on an Istio manifest.

Pure. ``validate_manifest`` raises ``ObjectInvalid`` with a message a person
can act on; nothing is stored when it raises.
"""
from __future__ import annotations

import re
from typing import Any

from apps.clusters.gateway import ObjectInvalid
from apps.clusters.inventory import ISTIO_KINDS

from .routing import parse_duration_ms

_DNS_1123_NAME = re.compile(r"[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?")


def validate_manifest(manifest: dict[str, Any]) -> None:
    """The checks the API server (schema) would do; raises ObjectInvalid."""
    if not isinstance(manifest, dict):
        raise ObjectInvalid("manifest must be a mapping")
    kind = manifest.get("kind")
    if kind not in ISTIO_KINDS:
        raise ObjectInvalid(f"unsupported kind {kind!r}; expected one of {', '.join(ISTIO_KINDS)}")
    api = manifest.get("apiVersion", "")
    group = ISTIO_KINDS[kind][0]
    if api and not str(api).startswith(group + "/"):
        raise ObjectInvalid(f"apiVersion {api!r} does not belong to {group}")
    meta = manifest.get("metadata")
    if not isinstance(meta, dict) or not meta.get("name"):
        raise ObjectInvalid("metadata.name is required")
    if not _DNS_1123_NAME.fullmatch(str(meta["name"])):
        raise ObjectInvalid(f"metadata.name {meta['name']!r} is not a valid DNS-1123 name")
    namespace = meta.get("namespace")
    if namespace is not None and not (isinstance(namespace, str) and _DNS_1123_NAME.fullmatch(namespace)):
        raise ObjectInvalid(f"metadata.namespace {namespace!r} is not a valid namespace name")
    spec = manifest.get("spec", {})
    if not isinstance(spec, dict):
        raise ObjectInvalid("spec must be a mapping")
    if kind == "VirtualService":
        _validate_virtual_service(spec)
    elif kind == "DestinationRule":
        if not spec.get("host"):
            raise ObjectInvalid("DestinationRule spec.host is required")
        subsets = spec.get("subsets") or []
        if not isinstance(subsets, list) or not all(isinstance(s, dict) for s in subsets):
            raise ObjectInvalid("DestinationRule spec.subsets must be a list of mappings")
        names = [s.get("name") for s in subsets]
        if any(not n for n in names) or len(names) != len(set(names)):
            raise ObjectInvalid("DestinationRule subsets need unique names")
    elif kind == "ServiceEntry":
        if not spec.get("hosts"):
            raise ObjectInvalid("ServiceEntry spec.hosts is required")


def _validate_virtual_service(spec: dict[str, Any]) -> None:
    hosts = spec.get("hosts")
    if not hosts:
        raise ObjectInvalid("VirtualService spec.hosts is required")
    if not isinstance(hosts, list) or not all(isinstance(h, str) and h for h in hosts):
        raise ObjectInvalid("VirtualService spec.hosts must be a list of host names")
    for section in ("http", "tcp", "tls"):
        routes = spec.get(section) or []
        if not isinstance(routes, list):
            raise ObjectInvalid(f"spec.{section} must be a list")
        for route in routes:
            if not isinstance(route, dict):
                raise ObjectInvalid(f"spec.{section} entries must be mappings")
            for d in route.get("route") or []:
                if not isinstance(d, dict) or not (d.get("destination") or {}).get("host"):
                    raise ObjectInvalid("every route destination needs destination.host")
                w = d.get("weight", 0)
                if not isinstance(w, int) or w < 0:
                    raise ObjectInvalid(f"route weight {w!r} must be a non-negative integer")
            fault = route.get("fault") or {}
            if fault.get("delay"):
                try:
                    parse_duration_ms(fault["delay"].get("fixedDelay"))
                except ValueError as exc:
                    raise ObjectInvalid(str(exc)) from exc
            if fault.get("abort") and "httpStatus" in fault["abort"]:
                st = fault["abort"]["httpStatus"]
                if not isinstance(st, int) or not 200 <= st <= 599:
                    raise ObjectInvalid(f"abort httpStatus {st!r} must be an HTTP status")
