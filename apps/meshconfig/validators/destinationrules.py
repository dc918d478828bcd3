"""DestinationRule checks (Kiali: business/checkers/destinationrules)."""
from __future__ import annotations

from collections.abc import Iterator

from .. import hosts
from .base import ERROR, WARNING, Finding, MeshIndex, as_dict, as_list, at, check, key_of, labels_match


def _host(index: MeshIndex, dr) -> str:
    return hosts.resolve(str(dr.spec.get("host") or ""), dr.namespace)


@check("DR-HOST-NOT-FOUND", kiali="KIA0202", severity=ERROR, kind="DestinationRule",
       title="DestinationRule host matches no Service or ServiceEntry")
def dr_host_not_found(index: MeshIndex) -> Iterator[Finding]:
    for dr in index.objects("DestinationRule"):
        host = dr.spec.get("host")
        if not isinstance(host, str) or not host:
            yield Finding(dr, "spec.host", "The DestinationRule has no host.")
        elif not index.host_known(_host(index, dr)):
            yield Finding(dr, "spec.host",
                          f"Host {host!r} matches no Service, workload or ServiceEntry in the registry.")


@check("DR-SUBSET-NO-WORKLOAD", kiali="KIA0203", severity=ERROR, kind="DestinationRule",
       title="A subset's labels match no workload behind the host")
def dr_subset_labels_no_workload(index: MeshIndex) -> Iterator[Finding]:
    for dr in index.objects("DestinationRule"):
        service = index.service_for_host(_host(index, dr))
        if service is None:
            continue  # ServiceEntry, wildcard or unknown host: nothing to match labels against
        backing = [w for w in index.workloads_in(service.namespace)
                   if service.selector and labels_match(service.selector, w.labels)]
        for i, subset in enumerate(as_list(dr.spec.get("subsets"))):
            labels = as_dict(as_dict(subset).get("labels"))
            if not labels:
                continue  # DR-SUBSET-NO-LABELS
            if not any(labels_match(labels, w.labels) for w in backing):
                pairs = ", ".join(f"{k}={v}" for k, v in sorted(labels.items()))
                yield Finding(dr, f"spec.subsets[{i}].labels",
                              f"Subset {as_dict(subset).get('name')!r}: no workload of service "
                              f"{service.name} has the labels {pairs}.")


@check("DR-SUBSET-NO-LABELS", kiali="KIA0209", severity=WARNING, kind="DestinationRule",
       title="A subset has no labels (it selects every endpoint)")
def dr_subset_without_labels(index: MeshIndex) -> Iterator[Finding]:
    for dr in index.objects("DestinationRule"):
        for i, subset in enumerate(as_list(dr.spec.get("subsets"))):
            if not as_dict(as_dict(subset).get("labels")):
                yield Finding(dr, f"spec.subsets[{i}]",
                              f"Subset {as_dict(subset).get('name')!r} has no labels, "
                              "so it is every endpoint of the host.")


@check("DR-MULTI-MATCH", kiali="KIA0201", severity=WARNING, kind="DestinationRule",
       title="More than one DestinationRule for the same host")
def dr_multiple_for_host(index: MeshIndex) -> Iterator[Finding]:
    drs = [d for d in index.objects("DestinationRule") if not at(d.spec, "workloadSelector", "matchLabels")]
    for dr in drs:
        host = _host(index, dr)
        if not host:
            continue
        others = sorted(key_of(o) for o in drs if o is not dr and _host(index, o) == host)
        if others:
            yield Finding(dr, "spec.host",
                          f"Another DestinationRule also applies to host {host!r}; Istio merges or ignores "
                          "one of them unpredictably.", tuple(others))


def _disabled_tls_paths(dr) -> list[str]:
    paths = []
    if str(at(dr.spec, "trafficPolicy", "tls", "mode", default="")).upper() == "DISABLE":
        paths.append("spec.trafficPolicy.tls.mode")
    for i, pls in enumerate(as_list(at(dr.spec, "trafficPolicy", "portLevelSettings"))):
        if str(at(pls, "tls", "mode", default="")).upper() == "DISABLE":
            paths.append(f"spec.trafficPolicy.portLevelSettings[{i}].tls.mode")
    for i, subset in enumerate(as_list(dr.spec.get("subsets"))):
        if str(at(subset, "trafficPolicy", "tls", "mode", default="")).upper() == "DISABLE":
            paths.append(f"spec.subsets[{i}].trafficPolicy.tls.mode")
    return paths


@check("DR-TLS-DISABLED-STRICT", kiali="KIA0207", severity=ERROR, kind="DestinationRule",
       title="DestinationRule disables TLS towards workloads a STRICT PeerAuthentication protects")
def dr_disables_tls_under_strict(index: MeshIndex) -> Iterator[Finding]:
    for dr in index.objects("DestinationRule"):
        paths = _disabled_tls_paths(dr)
        if not paths:
            continue
        host = _host(index, dr)
        service = index.service_for_host(host)
        if service is not None:
            target_ns = service.namespace
        elif host.endswith(".svc.cluster.local"):
            target_ns = host.split(".")[1]
        else:
            continue  # an external host: PeerAuthentication does not apply
        pa = index.strict_mtls_for(target_ns)
        if pa is None:
            continue
        for path in paths:
            yield Finding(dr, path,
                          f"TLS is disabled towards {host}, but PeerAuthentication {pa.namespace}/{pa.name} "
                          "requires mTLS (STRICT) there: these requests will be rejected.",
                          (key_of(pa),))
