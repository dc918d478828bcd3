"""Validation cases: for every check, a crafted bad object and its good counterpart.

Shared by the pure validator tests and the real-API tests. Manifests are YAML
with two placeholders: ``NAMESPACE`` (the Bookinfo namespace of the test) and
``ROOTNS`` (the Istio root namespace). Hosts of the ``*.example.com`` kind embed
the variant ("bad"/"good") so that bad and good namespaces never collide.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "bookinfo"


def render(text: str, namespace: str, root: str = "istio-system", variant: str = "") -> list[dict[str, Any]]:
    text = text.replace("ROOTNS", root).replace("NAMESPACE", namespace).replace("VARIANT", variant)
    docs = [d for d in yaml.safe_load_all(text) if d]
    for doc in docs:
        doc.setdefault("metadata", {}).setdefault("namespace", namespace)
    return docs


def fixture(name: str, namespace: str) -> list[dict[str, Any]]:
    return render((FIXTURES / name).read_text(), namespace)


@dataclass(frozen=True)
class Case:
    code: str
    bad: str  # YAML
    target: tuple[str, str]  # (kind, name) of the bad object the check must flag
    path: str
    good: str = ""  # YAML; may be empty when a baseline object is the good counterpart
    good_target: tuple[str, str] | None = None
    in_root: bool = False  # the bad object lives in the Istio root namespace
    fix: tuple[str, str] | None = None  # (old, new): the good counterpart is ``bad`` with that one edit

    @property
    def good_key(self) -> tuple[str, str]:
        return self.good_target or self.target

    @property
    def good_yaml(self) -> str:
        if self.fix is None:
            return self.good
        old, new = self.fix
        assert self.bad.count(old) == 1, f"{self.code}: the fix must name one place in the bad object"
        return self.bad.replace(old, new)


def _vs(name: str, host: str, route: str, extra: str = "") -> str:
    return f"""
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {{name: {name}}}
spec:
  hosts: ["{host}"]
{extra}  http:
  - route:
{route}
"""


CASES: list[Case] = [
    Case("VS-HOST-NOT-FOUND",
         _vs("vs-host", "VARIANT-1.example.com", "    - destination: {host: nosuchsvc}"),
         ("VirtualService", "vs-host"), "spec.http[0].route[0].destination.host",
         fix=("{host: nosuchsvc}", "{host: details}")),
    Case("VS-GATEWAY-NOT-FOUND",
         _vs("vs-gateway", "VARIANT-2.example.com", "    - destination: {host: productpage}",
             "  gateways: [missing-gateway]\n"),
         ("VirtualService", "vs-gateway"), "spec.gateways[0]",
         fix=("[missing-gateway]", "[bookinfo-gateway, mesh]")),
    Case("VS-SUBSET-NOT-FOUND",
         _vs("vs-subset", "VARIANT-3.example.com", "    - destination: {host: reviews, subset: v9}"),
         ("VirtualService", "vs-subset"), "spec.http[0].route[0].destination.subset",
         fix=("subset: v9", "subset: v2")),
    Case("VS-WEIGHT-SUM",
         _vs("vs-weights", "VARIANT-4.example.com",
             "    - {destination: {host: reviews, subset: v1}, weight: 60}\n"
             "    - {destination: {host: reviews, subset: v2}, weight: 30}"),
         ("VirtualService", "vs-weights"), "spec.http[0].route", fix=("weight: 60", "weight: 70")),
    Case("VS-WEIGHT-RANGE",
         _vs("vs-range", "VARIANT-5.example.com",
             "    - {destination: {host: reviews, subset: v1}, weight: 150}\n"
             "    - {destination: {host: reviews, subset: v2}, weight: -50}"),
         ("VirtualService", "vs-range"), "spec.http[0].route[0].weight",
         good=_vs("vs-range", "VARIANT-5.example.com",
                  "    - {destination: {host: reviews, subset: v1}, weight: 100}\n"
                  "    - {destination: {host: reviews, subset: v2}, weight: 0}")),
    Case("VS-SINGLE-WEIGHT",
         _vs("vs-single", "VARIANT-6.example.com", "    - {destination: {host: ratings}, weight: 50}"),
         ("VirtualService", "vs-single"), "spec.http[0].route[0].weight", fix=("weight: 50", "weight: 100")),
    Case("VS-REPEATED-SUBSET",
         _vs("vs-repeated", "VARIANT-7.example.com",
             "    - {destination: {host: reviews, subset: v1}, weight: 50}\n"
             "    - {destination: {host: reviews, subset: v1}, weight: 50}"),
         ("VirtualService", "vs-repeated"), "spec.http[0].route[1].destination",
         good=_vs("vs-repeated", "VARIANT-7.example.com",
                  "    - {destination: {host: reviews, subset: v1}, weight: 50}\n"
                  "    - {destination: {host: reviews, subset: v3}, weight: 50}")),
    Case("VS-MULTI-HOST",
         _vs("vs-multi-a", "VARIANT-8.example.com", "    - destination: {host: details}") + "---"
         + _vs("vs-multi-b", "VARIANT-8.example.com", "    - destination: {host: ratings}"),
         ("VirtualService", "vs-multi-a"), "spec.hosts[0]",
         good=_vs("vs-multi-a", "VARIANT-8.example.com", "    - destination: {host: details}") + "---"
         + _vs("vs-multi-b", "VARIANT-8b.example.com", "    - destination: {host: ratings}")),
    Case("DR-HOST-NOT-FOUND", """
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: dr-host}
spec: {host: nosuchsvc}
""", ("DestinationRule", "dr-host"), "spec.host",
         fix=("spec: {host: nosuchsvc}", "spec: {host: details}")),
    Case("DR-SUBSET-NO-WORKLOAD", """
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: dr-subset}
spec:
  host: productpage
  subsets:
  - {name: v1, labels: {version: v1}}
  - {name: v7, labels: {version: v7}}
""", ("DestinationRule", "dr-subset"), "spec.subsets[1].labels",
         fix=("  - {name: v7, labels: {version: v7}}", "")),
    Case("DR-SUBSET-NO-LABELS", """
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: dr-nolabels}
spec:
  host: mongodb
  subsets:
  - {name: all}
""", ("DestinationRule", "dr-nolabels"), "spec.subsets[0]",
         fix=("  - {name: all}", "  - {name: v1, labels: {version: v1}}")),
    # The baseline DestinationRule "ratings" is alone for its host in the good namespace.
    Case("DR-MULTI-MATCH", """
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: dr-dup-ratings}
spec: {host: ratings.NAMESPACE.svc.cluster.local}
""", ("DestinationRule", "dr-dup-ratings"), "spec.host", good="""
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: dr-httpbin}
spec: {host: httpbin.org}
""", good_target=("DestinationRule", "dr-httpbin")),
    # Good: the baseline "reviews" rule keeps ISTIO_MUTUAL under the STRICT policy.
    Case("DR-TLS-DISABLED-STRICT", """
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: dr-plaintext}
spec:
  host: ratings
  trafficPolicy:
    tls: {mode: DISABLE}
""", ("DestinationRule", "dr-plaintext"), "spec.trafficPolicy.tls.mode",
         good_target=("DestinationRule", "reviews")),
    Case("GW-SELECTOR-NO-WORKLOAD", """
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: gw-selector}
spec:
  selector: {istio: nosuchgateway}
  servers:
  - port: {number: 8080, name: http, protocol: HTTP}
    hosts: ["gw.VARIANT.NAMESPACE.example.com"]
""", ("Gateway", "gw-selector"), "spec.selector",
         fix=("  selector: {istio: nosuchgateway}", "  selector: {istio: ingressgateway}")),
    Case("GW-DUPLICATE-HOST-PORT", """
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: gw-dup}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 8080, name: http, protocol: HTTP}
    hosts: ["NAMESPACE.bookinfo.example.com"]
""", ("Gateway", "gw-dup"), "spec.servers[0].hosts[0]",
         fix=('    hosts: ["NAMESPACE.bookinfo.example.com"]', '    hosts: ["other.NAMESPACE.example.com"]')),
    Case("SIDECAR-SELECTOR-NO-WORKLOAD", """
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: sc-selector}
spec:
  workloadSelector: {labels: {app: nosuchapp}}
  egress: [{hosts: ["./*"]}]
""", ("Sidecar", "sc-selector"), "spec.workloadSelector.labels",
         fix=("  workloadSelector: {labels: {app: nosuchapp}}",
              "  workloadSelector: {labels: {app: details}}")),
    Case("SIDECAR-EGRESS-HOST-NOT-FOUND", """
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: sc-egress}
spec:
  workloadSelector: {labels: {app: reviews}}
  egress: [{hosts: ["./nosuchsvc.NAMESPACE.svc.cluster.local"]}]
""", ("Sidecar", "sc-egress"), "spec.egress[0].hosts[0]",
         fix=('  egress: [{hosts: ["./nosuchsvc.NAMESPACE.svc.cluster.local"]}]',
              '  egress: [{hosts: ["./ratings.NAMESPACE.svc.cluster.local", "istio-system/*"]}]')),
    # Good: a "default" Sidecar with a selector outside the root namespace is an ordinary Sidecar.
    Case("SIDECAR-GLOBAL-SELECTOR", """
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: default, namespace: ROOTNS}
spec:
  workloadSelector: {labels: {app: details}}
  egress: [{hosts: ["./*"]}]
""", ("Sidecar", "default"), "spec.workloadSelector", good="""
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: default}
spec:
  workloadSelector: {labels: {app: ratings}}
  egress: [{hosts: ["./*"]}]
""", in_root=True),
    # Good: the baseline namespace-wide PeerAuthentication "default" is alone.
    Case("MULTI-SELECTORLESS", """
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: pa-extra}
spec:
  mtls: {mode: PERMISSIVE}
""", ("PeerAuthentication", "pa-extra"), "spec", good_target=("PeerAuthentication", "default")),
    Case("PA-SELECTOR-NO-WORKLOAD", """
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: pa-selector}
spec:
  selector: {matchLabels: {app: nosuchapp}}
  mtls: {mode: STRICT}
""", ("PeerAuthentication", "pa-selector"), "spec.selector.matchLabels",
         fix=("  selector: {matchLabels: {app: nosuchapp}}", "  selector: {matchLabels: {app: mongodb}}")),
    Case("AP-SELECTOR-NO-WORKLOAD", """
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: ap-selector}
spec:
  selector: {matchLabels: {app: nosuchapp}}
  action: DENY
  rules: [{to: [{operation: {methods: [DELETE]}}]}]
""", ("AuthorizationPolicy", "ap-selector"), "spec.selector.matchLabels",
         fix=("  selector: {matchLabels: {app: nosuchapp}}", "  selector: {matchLabels: {app: reviews}}")),
    Case("AP-NAMESPACE-NOT-FOUND", """
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: ap-namespace}
spec:
  selector: {matchLabels: {app: details}}
  rules: [{from: [{source: {namespaces: [no-such-namespace]}}]}]
""", ("AuthorizationPolicy", "ap-namespace"), "spec.rules[0].from[0].source.namespaces[0]",
         fix=("  rules: [{from: [{source: {namespaces: [no-such-namespace]}}]}]",
              '  rules: [{from: [{source: {namespaces: [NAMESPACE, "team-*"]}}]}]')),
    Case("AP-METHOD-INVALID", """
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: ap-method}
spec:
  selector: {matchLabels: {app: productpage}}
  rules: [{to: [{operation: {methods: [get]}}]}]
""", ("AuthorizationPolicy", "ap-method"), "spec.rules[0].to[0].operation.methods[0]",
         fix=("  rules: [{to: [{operation: {methods: [get]}}]}]",
              "  rules: [{to: [{operation: {methods: [GET, /bookinfo.Ratings/Get]}}]}]")),
    Case("AP-HOST-NOT-FOUND", """
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: ap-host}
spec:
  selector: {matchLabels: {app: mongodb}}
  rules: [{to: [{operation: {hosts: [nosuchsvc]}}]}]
""", ("AuthorizationPolicy", "ap-host"), "spec.rules[0].to[0].operation.hosts[0]",
         fix=("  rules: [{to: [{operation: {hosts: [nosuchsvc]}}]}]",
              '  rules: [{to: [{operation: {hosts: ["mongodb:27017", httpbin.org]}}]}]')),
    Case("EXPORTTO-NS-NOT-FOUND",
         _vs("vs-export", "VARIANT-25.example.com", "    - destination: {host: details}",
             "  exportTo: [no-such-namespace]\n"),
         ("VirtualService", "vs-export"), "spec.exportTo[0]", fix=("[no-such-namespace]", "[., NAMESPACE]")),
]


def case_manifests(case: Case, variant: str, namespace: str, root: str) -> list[dict[str, Any]]:
    text = case.bad if variant == "bad" else case.good_yaml
    return render(text, namespace, root, variant) if text else []


def manifests_to_inventory(manifests: list[dict[str, Any]], namespaces: list[str]):
    """Plain Inventory from manifests, through the same converters the Kubernetes gateway uses."""
    from apps.clusters.inventory import ISTIO_KINDS, Inventory, IstioObject, Namespace
    from apps.clusters.kube import service_from_json, workloads_from_json

    by_kind: dict[str, list[dict[str, Any]]] = {}
    for m in manifests:
        by_kind.setdefault(m["kind"], []).append(m)
    return Inventory(
        namespaces=[Namespace(name=n, labels={"istio-injection": "enabled"}) for n in namespaces],
        workloads=workloads_from_json(by_kind.get("Deployment", []), by_kind.get("StatefulSet", []),
                                      by_kind.get("DaemonSet", []), [], by_kind.get("Pod", [])),
        services=[service_from_json(m) for m in by_kind.get("Service", [])],
        istio_objects=[IstioObject.from_manifest(m) for m in manifests if m["kind"] in ISTIO_KINDS],
    )


def baseline(namespace: str) -> list[dict[str, Any]]:
    return (fixture("bookinfo.yaml", namespace) + fixture("ingressgateway.yaml", namespace)
            + fixture("istio-config.yaml", namespace))
