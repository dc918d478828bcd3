"""Gateway checks (Kiali: business/checkers/gateways)."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from .. import hosts
from .base import WARNING, Finding, MeshIndex, as_dict, as_list, check, key_of


@check("GW-SELECTOR-NO-WORKLOAD", kiali="KIA0302", severity=WARNING, kind="Gateway",
       title="Gateway selector matches no workload")
def gw_selector_no_workload(index: MeshIndex) -> Iterator[Finding]:
    # Istio's default (PILOT_SCOPE_GATEWAY_TO_NAMESPACE=false) lets a Gateway
    # select gateway pods in any namespace, so look everywhere.
    for gw in index.objects("Gateway"):
        selector = as_dict(gw.spec.get("selector"))
        if selector and not index.workloads_matching(selector, None):
            pairs = ", ".join(f"{k}={v}" for k, v in sorted(selector.items()))
            yield Finding(gw, "spec.selector", f"No workload has the labels {pairs}: this Gateway configures nothing.")


def _server_hosts(gw) -> list[tuple[str, Any, str]]:
    """(path, port number as written, host without namespace prefix) for every server host."""
    out = []
    for s, server in enumerate(as_list(gw.spec.get("servers"))):
        port = as_dict(as_dict(server).get("port")).get("number")
        for h, host in enumerate(as_list(as_dict(server).get("hosts"))):
            if isinstance(host, str):
                out.append((f"spec.servers[{s}].hosts[{h}]", port, host.split("/", 1)[-1].lower()))
    return out


@check("GW-DUPLICATE-HOST-PORT", kiali="KIA0301", severity=WARNING, kind="Gateway",
       title="Two Gateways on the same workload serve the same host and port")
def gw_duplicate_host_port(index: MeshIndex) -> Iterator[Finding]:
    gws = index.objects("Gateway")
    entries = [(gw, *e, tuple(sorted(as_dict(gw.spec.get("selector")).items())))
               for gw in gws for e in _server_hosts(gw)]
    for gw, path, port, host, selector in entries:
        others = sorted({
            key_of(o) for (o, _, p, h, sel) in entries
            if o is not gw and p == port and sel == selector and hosts.overlaps(host, h)
        })
        if others:
            yield Finding(gw, path,
                          f"Another Gateway on the same gateway workload also serves {host} on port {port}; "
                          "only one of them takes effect.", tuple(others))
