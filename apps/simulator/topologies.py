"""The built-in topologies: bookinfo, helloworld, grpc, demo, large.

The Bookinfo numbers are PINNED (docs/simulator.md): the graph tests compute
their expectations by hand from them. Do not change them.
"""
from __future__ import annotations

import random

from apps.meshconfig.hosts import service_host

from .histogram import LatencyProfile
from .scenario import UNKNOWN_CLIENT, Call, Scenario, ServiceSpec, WorkloadSpec

ISTIO_SYSTEM = "istio-system"

# Latency per Bookinfo edge (ms): p50, p95, p99, mean. Same shape for every
# response code and both reporters, so any sum over pods/codes/versions keeps
# these quantiles exactly.
LAT_UNKNOWN_PRODUCTPAGE = LatencyProfile.of(6, 20, 45, 9)
LAT_GATEWAY_PRODUCTPAGE = LatencyProfile.of(30, 80, 200, 38)
LAT_PRODUCTPAGE_DETAILS = LatencyProfile.of(3, 9, 20, 4)
LAT_PRODUCTPAGE_REVIEWS = LatencyProfile.of(12, 40, 90, 17)
LAT_REVIEWS_RATINGS = LatencyProfile.of(4, 12, 24, 5)
LAT_PRODUCTPAGE_HTTPBIN = LatencyProfile.of(120, 300, 600, 150)
LAT_GRPC = LatencyProfile.of(6, 18, 40, 8)
LAT_HELLOWORLD = LatencyProfile.of(15, 45, 95, 20)


def _ns_labels(name: str, **extra: str) -> dict[str, str]:
    labels = {"kubernetes.io/metadata.name": name}
    labels.update(extra)
    return labels


def istio_system() -> Scenario:
    sc = Scenario("istio-system")
    sc.namespaces[ISTIO_SYSTEM] = _ns_labels(ISTIO_SYSTEM)
    sc.workloads.append(
        WorkloadSpec(
            ISTIO_SYSTEM,
            "istio-ingressgateway",
            {
                "app": "istio-ingressgateway",
                "istio": "ingressgateway",
                "service.istio.io/canonical-name": "istio-ingressgateway",
                "service.istio.io/canonical-revision": "latest",
                "sidecar.istio.io/inject": "true",
            },
            annotations={"inject.istio.io/templates": "gateway"},
            service_account="istio-ingressgateway-service-account",
            gateway=True,
            container_port=8080,
        )
    )
    sc.workloads.append(
        WorkloadSpec(
            ISTIO_SYSTEM,
            "istiod",
            {"app": "istiod", "istio": "pilot", "sidecar.istio.io/inject": "false"},
            service_account="istiod",
            container_port=15010,
        )
    )
    sc.services.append(
        ServiceSpec(
            ISTIO_SYSTEM,
            "istio-ingressgateway",
            {"app": "istio-ingressgateway", "istio": "ingressgateway"},
            [("status-port", 15021, ""), ("http2", 80, "http2"), ("https", 443, "https")],
            labels={"app": "istio-ingressgateway", "istio": "ingressgateway"},
        )
    )
    sc.services.append(
        ServiceSpec(
            ISTIO_SYSTEM,
            "istiod",
            {"app": "istiod", "istio": "pilot"},
            [("grpc-xds", 15010, ""), ("https-dns", 15012, ""), ("https-webhook", 443, ""),
             ("http-monitoring", 15014, "")],
            labels={"app": "istiod", "istio": "pilot"},
        )
    )
    return sc


def _istio_and_injected_namespace(name: str, namespace: str) -> Scenario:
    """Scenario ``name``: Istio's control plane and ``namespace``, labelled for sidecar injection."""
    sc = istio_system()
    sc.name = name
    sc.namespaces[namespace] = _ns_labels(namespace, **{"istio-injection": "enabled"})
    return sc


def bookinfo() -> Scenario:
    ns = "bookinfo"
    sc = _istio_and_injected_namespace("bookinfo", ns)

    def wl(app: str, version: str, replicas: int = 1, port: int = 9080) -> None:
        sc.workloads.append(
            WorkloadSpec(
                ns,
                f"{app}-{version}",
                {"app": app, "version": version},
                replicas=replicas,
                service_account=f"bookinfo-{app}",
                container_port=port,
            )
        )

    wl("productpage", "v1", replicas=2)
    wl("details", "v1")
    wl("reviews", "v1")
    wl("reviews", "v2", replicas=2)
    wl("reviews", "v3")
    wl("ratings", "v1")
    wl("mongodb", "v1", port=27017)
    for app in ("productpage", "details", "reviews", "ratings"):
        sc.services.append(ServiceSpec(ns, app, {"app": app}, [("http", 9080, "")],
                                       labels={"app": app, "service": app}))
    sc.services.append(
        ServiceSpec(ns, "mongodb", {"app": "mongodb"}, [("mongo", 27017, "tcp")],
                    labels={"app": "mongodb", "service": "mongodb"})
    )
    sc.istio_objects.append(
        {
            "apiVersion": "networking.istio.io/v1",
            "kind": "ServiceEntry",
            "metadata": {"name": "httpbin-ext", "namespace": ns},
            "spec": {
                "hosts": ["httpbin.org"],
                "location": "MESH_EXTERNAL",
                "ports": [{"number": 80, "name": "http", "protocol": "HTTP"}],
                "resolution": "DNS",
            },
        }
    )
    pp = f"{ns}/productpage-v1"
    sc.calls += [
        Call(UNKNOWN_CLIENT, service_host("productpage", ns), 9080, "http", rate=0.5, latency=LAT_UNKNOWN_PRODUCTPAGE),
        Call(f"{ISTIO_SYSTEM}/istio-ingressgateway", service_host("productpage", ns), 9080, "http", rate=10.0,
             latency=LAT_GATEWAY_PRODUCTPAGE),
        Call(pp, service_host("details", ns), 9080, "http", rate=10.0, codes=(("200", 0.98), ("503", 0.02)),
             latency=LAT_PRODUCTPAGE_DETAILS),
        Call(pp, service_host("reviews", ns), 9080, "http", rate=10.0, latency=LAT_PRODUCTPAGE_REVIEWS),
        Call(f"{ns}/reviews-v2", service_host("ratings", ns), 9080, "http", per_inbound=1.0,
             latency=LAT_REVIEWS_RATINGS),
        Call(f"{ns}/reviews-v3", service_host("ratings", ns), 9080, "http", per_inbound=1.0,
             codes=(("200", 0.96), ("500", 0.04)), latency=LAT_REVIEWS_RATINGS),
        Call(f"{ns}/ratings-v1", service_host("mongodb", ns), 27017, "tcp", request_bytes=1200.0,
             response_bytes=4800.0),
        Call(pp, "httpbin.org", 80, "http", rate=1.0, latency=LAT_PRODUCTPAGE_HTTPBIN),
    ]
    return sc


def helloworld() -> Scenario:
    ns = "helloworld"
    sc = _istio_and_injected_namespace("helloworld", ns)
    for version in ("v1", "v2"):
        sc.workloads.append(
            WorkloadSpec(ns, f"helloworld-{version}", {"app": "helloworld", "version": version},
                         service_account="default", container_port=5000)
        )
    sc.workloads.append(WorkloadSpec(ns, "sleep", {"app": "sleep"}, service_account="sleep", container_port=80))
    sc.services.append(ServiceSpec(ns, "helloworld", {"app": "helloworld"}, [("http", 5000, "")],
                                   labels={"app": "helloworld", "service": "helloworld"}))
    sc.services.append(ServiceSpec(ns, "sleep", {"app": "sleep"}, [("http", 80, "")],
                                   labels={"app": "sleep", "service": "sleep"}))
    sc.calls.append(Call(f"{ns}/sleep", service_host("helloworld", ns), 5000, "http", rate=2.0, latency=LAT_HELLOWORLD))
    return sc


def grpc() -> Scenario:
    ns = "grpc-demo"
    sc = _istio_and_injected_namespace("grpc", ns)
    sc.workloads.append(WorkloadSpec(ns, "grpc-client-v1", {"app": "grpc-client", "version": "v1"},
                                     service_account="grpc-client", container_port=8080))
    sc.workloads.append(WorkloadSpec(ns, "grpc-server-v1", {"app": "grpc-server", "version": "v1"},
                                     service_account="grpc-server", container_port=50051))
    sc.services.append(ServiceSpec(ns, "grpc-server", {"app": "grpc-server"}, [("grpc", 50051, "grpc")],
                                   labels={"app": "grpc-server", "service": "grpc-server"}))
    sc.calls.append(Call(f"{ns}/grpc-client-v1", service_host("grpc-server", ns), 50051, "grpc", rate=5.0,
                         grpc_codes=(("0", 0.85), ("14", 0.15)), latency=LAT_GRPC))
    return sc


def demo() -> Scenario:
    sc = bookinfo().merge(helloworld()).merge(grpc())
    sc.name = "demo"
    return sc


LARGE_PROFILES = (
    LatencyProfile.of(3, 9, 20, 4),
    LatencyProfile.of(12, 40, 90, 17),
    LatencyProfile.of(30, 80, 200, 38),
    LatencyProfile.of(120, 300, 600, 150),
)


def large(namespaces: int = 50, services: int = 20, seed: int = 1, out_degree: float = 5.0) -> Scenario:
    """N namespaces x M services, one Deployment (1 pod) per service, seeded edges.

    Services are ordered globally and only call later ones, so the call graph
    is acyclic. Each service calls ``out_degree`` services on average (about
    N*M*out_degree edges: 50 x 20 -> ~5,000), 70% in its own namespace.
    The first service of every namespace receives traffic from the ingress
    gateway. Protocol mix: 75% http, 10% grpc, 15% tcp; 10% of http edges
    return some 503s; grpc edges return a share of status 14.
    """
    rng = random.Random(f"large:{namespaces}:{services}:{seed}")
    sc = istio_system()
    sc.name = f"large:{namespaces}:{services}"
    order: list[tuple[str, str]] = []
    for n in range(namespaces):
        ns = f"ns-{n:02d}"
        sc.namespaces[ns] = _ns_labels(ns, **{"istio-injection": "enabled"})
        for m in range(services):
            app = f"svc-{n:02d}-{m:02d}"
            sc.workloads.append(WorkloadSpec(ns, f"{app}-v1", {"app": app, "version": "v1"}, service_account=app))
            order.append((ns, app))
    protocol_of: dict[tuple[str, str], str] = {}
    for ns, app in order:
        r = rng.random()
        proto = "http" if r < 0.75 else ("grpc" if r < 0.85 else "tcp")
        protocol_of[(ns, app)] = proto
        port_name = {"http": "http", "grpc": "grpc", "tcp": "tcp"}[proto]
        sc.services.append(ServiceSpec(ns, app, {"app": app}, [(port_name, 9080, proto if proto != "http" else "")],
                                       labels={"app": app, "service": app}))
    index = {key: i for i, key in enumerate(order)}
    by_ns: dict[str, list[tuple[str, str]]] = {}
    for key in order:
        by_ns.setdefault(key[0], []).append(key)
    gw = f"{ISTIO_SYSTEM}/istio-ingressgateway"
    for members in by_ns.values():
        first = members[0]
        proto = protocol_of[first]
        sc.calls.append(_large_call(rng, gw, first, proto))
    for i, (ns, app) in enumerate(order):
        src = f"{ns}/{app}-v1"
        degree = max(0, int(round(rng.uniform(out_degree - 2, out_degree + 2))))
        targets: set[tuple[str, str]] = set()
        local = [k for k in by_ns[ns] if index[k] > i]
        remote = order[i + 1:]
        tries = 0
        while len(targets) < degree and tries < degree * 10:
            tries += 1
            pool = local if (local and rng.random() < 0.7) else remote
            if not pool:
                break
            targets.add(pool[rng.randrange(len(pool))])
        for tgt in sorted(targets, key=index.__getitem__):
            sc.calls.append(_large_call(rng, src, tgt, protocol_of[tgt]))
    return sc


def _large_call(rng: random.Random, src: str, tgt: tuple[str, str], proto: str) -> Call:
    ns, app = tgt
    host = service_host(app, ns)
    profile = LARGE_PROFILES[rng.randrange(len(LARGE_PROFILES))]
    if proto == "tcp":
        up = round(rng.uniform(100, 5000), 1)
        return Call(src, host, 9080, "tcp", request_bytes=up, response_bytes=round(up * rng.uniform(1, 8), 1))
    rate = round(rng.uniform(0.2, 20.0), 2)
    if proto == "grpc":
        bad = round(rng.choice((0.0, 0.0, 0.02, 0.1)), 2)
        codes = (("0", 1.0),) if not bad else (("0", 1 - bad), ("14", bad))
        return Call(src, host, 9080, "grpc", rate=rate, grpc_codes=codes, latency=profile)
    bad = round(rng.uniform(0.01, 0.2), 2) if rng.random() < 0.1 else 0.0
    codes = (("200", 1.0),) if not bad else (("200", round(1 - bad, 2)), ("503", bad))
    return Call(src, host, 9080, "http", rate=rate, codes=codes, latency=profile)


def build(topology: str, seed: int = 1) -> Scenario:
    """``bookinfo`` | ``helloworld`` | ``grpc`` | ``demo`` | ``large`` | ``large:N:M``."""
    name = (topology or "demo").strip()
    if name == "bookinfo":
        return bookinfo()
    if name == "helloworld":
        return helloworld()
    if name == "grpc":
        return grpc()
    if name == "demo":
        return demo()
    if name == "large" or name.startswith("large:"):
        parts = name.split(":")
        n = int(parts[1]) if len(parts) > 1 and parts[1] else 50
        m = int(parts[2]) if len(parts) > 2 and parts[2] else 20
        return large(n, m, seed=seed)
    raise ValueError(f"unknown topology {topology!r}; use bookinfo, helloworld, grpc, demo, large or large:N:M")


# What a simulated cluster may be (registered with the clusters app in apps.py); the
# simulator itself also builds ``large:N:M``.
TOPOLOGY_CHOICES = (
    ("demo", "Demo (Bookinfo + helloworld + gRPC)"),
    ("bookinfo", "Bookinfo"),
    ("helloworld", "helloworld"),
    ("grpc", "gRPC pair"),
    ("large", "Large generated mesh (50 x 20)"),
)
