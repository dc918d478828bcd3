"""Checks that apply to several kinds (Kiali: business/checkers/common, sidecars)."""
from __future__ import annotations

from collections.abc import Iterator

from .. import hosts
from .base import ERROR, WARNING, Finding, MeshIndex, as_dict, as_list, check

EXPORTABLE = ("VirtualService", "DestinationRule", "ServiceEntry")


@check("EXPORTTO-NS-NOT-FOUND", kiali="KIA0005", severity=ERROR, kind=",".join(EXPORTABLE),
       title="exportTo names a namespace that does not exist")
def export_to_namespace_not_found(index: MeshIndex) -> Iterator[Finding]:
    for kind in EXPORTABLE:
        for obj in index.objects(kind):
            for i, ns in enumerate(as_list(obj.spec.get("exportTo"))):
                if isinstance(ns, str) and ns not in (".", "*", "~") and ns not in index.namespaces:
                    yield Finding(obj, f"spec.exportTo[{i}]", f"exportTo names namespace {ns!r}, which does not exist.")


@check("SIDECAR-EGRESS-HOST-NOT-FOUND", kiali="KIA1004", severity=WARNING, kind="Sidecar",
       title="A Sidecar egress host is not in the service registry")
def sidecar_egress_host_not_found(index: MeshIndex) -> Iterator[Finding]:
    for sc in index.objects("Sidecar"):
        for e, egress in enumerate(as_list(sc.spec.get("egress"))):
            for h, entry in enumerate(as_list(as_dict(egress).get("hosts"))):
                if not isinstance(entry, str) or "/" not in entry:
                    continue
                ns, host = entry.split("/", 1)
                if ns in ("*", "~") or "*" in host:
                    continue
                ns = sc.namespace if ns == "." else ns
                if ns not in index.namespaces:
                    yield Finding(sc, f"spec.egress[{e}].hosts[{h}]", f"Namespace {ns!r} does not exist.")
                elif not index.host_known(hosts.resolve(host, ns)):
                    yield Finding(sc, f"spec.egress[{e}].hosts[{h}]",
                                  f"Host {host!r} matches no Service or ServiceEntry in namespace {ns}.")
