"""Hand-made Istio series (what a simulator's series_rates() returns) for unit tests."""
from __future__ import annotations

from dataclasses import dataclass

from apps.clusters.inventory import Inventory, IstioObject, Namespace, Service, Workload

LE = ("0.5", "1", "5", "10", "25", "50", "100", "250", "500", "1000", "2500", "5000", "10000", "30000", "60000",
      "300000", "600000", "1800000", "3600000", "+Inf")


@dataclass
class Sample:
    metric: str
    labels: dict
    rate: float


def _peer(prefix, ns, wl, app, ver):
    return {f"{prefix}_workload_namespace": ns, f"{prefix}_workload": wl,
            f"{prefix}_canonical_service": app, f"{prefix}_canonical_revision": ver}


def edge(src, dst, svc, rate, *, codes=(("200", 1.0),), protocol="http", mtls=1.0, latency_ms=20.0,
         reporters=("source", "destination"), pods=1, grpc=None, flags="-", unknown_dest=False):
    """Series for one edge. src/dst = (ns, workload, app, version); svc = (ns, name) or an external host."""
    out = []
    svc_ns, svc_name = svc if isinstance(svc, tuple) else ("unknown", svc)
    host = f"{svc_name}.{svc_ns}.svc.cluster.local" if isinstance(svc, tuple) else svc
    dst_labels = _peer("destination", *dst) if not unknown_dest else _peer("destination", "unknown", "unknown",
                                                                           "unknown", "unknown")
    for reporter in reporters:
        for code, share in codes:
            for policy, pshare in (("mutual_tls", mtls), ("none", 1 - mtls)):
                if reporter == "source" and policy == "none":
                    policy, pshare = "unknown", 1.0
                elif reporter == "source":
                    continue
                if pshare <= 0:
                    continue
                for pod in range(pods):
                    labels = {"reporter": reporter, **_peer("source", *src), **dst_labels,
                              "destination_service": host, "destination_service_name": svc_name,
                              "destination_service_namespace": svc_ns, "request_protocol": protocol,
                              "response_code": code,
                              "grpc_response_status": "" if protocol == "http" else (grpc or "0"),
                              "response_flags": flags, "connection_security_policy": policy, "pod": f"p{pod}"}
                    r = rate * share * pshare / pods
                    if protocol == "tcp":
                        # Istio's L4 counters are named from the server's side: "received" is
                        # what the client sent (rate), "sent" is the reply (4x here)
                        out.append(Sample("istio_tcp_received_bytes_total", labels, r))
                        out.append(Sample("istio_tcp_sent_bytes_total", labels, r * 4))
                        continue
                    if grpc and protocol == "grpc":
                        # grpc: split statuses given as codes=(("200", share),) + grpc list
                        pass
                    out.append(Sample("istio_requests_total", labels, r))
                    out.append(Sample("istio_request_duration_milliseconds_sum", labels, r * latency_ms))
                    out.append(Sample("istio_request_duration_milliseconds_count", labels, r))
                    for le in LE:
                        frac = 1.0 if float(le) >= latency_ms else 0.0
                        out.append(Sample("istio_request_duration_milliseconds_bucket", {**labels, "le": le}, r * frac))
    return out


BI = "bookinfo"
PP = (BI, "productpage-v1", "productpage", "v1")
DET = (BI, "details-v1", "details", "v1")
R1, R2, R3 = ((BI, f"reviews-v{i}", "reviews", f"v{i}") for i in (1, 2, 3))
RAT = (BI, "ratings-v1", "ratings", "v1")
MONGO = (BI, "mongodb-v1", "mongodb", "v1")
GW = ("istio-system", "istio-ingressgateway", "istio-ingressgateway", "latest")
UNK = ("unknown", "unknown", "unknown", "unknown")


def bookinfo_samples(suspend_reviews=False):
    s = []
    s += edge(UNK, PP, (BI, "productpage"), 0.5, mtls=0.0, reporters=("destination",), latency_ms=40)
    s += edge(GW, PP, (BI, "productpage"), 10, pods=1, latency_ms=40)
    s += edge(PP, DET, (BI, "details"), 10, codes=(("200", 0.98), ("503", 0.02)), pods=2, latency_ms=8)
    if suspend_reviews:
        s += edge(PP, UNK, (BI, "reviews"), 10, codes=(("503", 1.0),), reporters=("source",), pods=2,
                  unknown_dest=True, flags="FI", latency_ms=0.4)
    else:
        for r in (R1, R2, R3):
            s += edge(PP, r, (BI, "reviews"), 10 / 3, pods=2, latency_ms=20)
        s += edge(R2, RAT, (BI, "ratings"), 10 / 3, pods=2, latency_ms=4)
        s += edge(R3, RAT, (BI, "ratings"), 10 / 3, codes=(("200", 0.96), ("500", 0.04)), latency_ms=4)
    s += edge(RAT, MONGO, (BI, "mongodb"), 1200, protocol="tcp")
    s += edge(PP, None, "httpbin.org", 1, mtls=0.0, reporters=("source",), unknown_dest=True, latency_ms=200)
    return s


def bookinfo_inventory():
    wls = [Workload("Deployment", w[1], BI, labels={"app": w[2], "version": w[3]})
           for w in (PP, DET, R1, R2, R3, RAT, MONGO)]
    wls.append(Workload("Deployment", "ratings-v2", BI, labels={"app": "ratings", "version": "v2"}))
    svcs = [Service(n, BI, selector={"app": n}) for n in ("productpage", "details", "reviews", "ratings", "mongodb")]
    se = IstioObject("ServiceEntry", BI, "httpbin", spec={"hosts": ["httpbin.org"], "location": "MESH_EXTERNAL"})
    return Inventory([Namespace(BI), Namespace("istio-system")], wls, svcs, [se])


class FakeMesh:
    def __init__(self, samples, inventory=None):
        self.samples = samples
        self._inventory = inventory or bookinfo_inventory()

    def series_rates(self, window_seconds, end):
        return self.samples

    def inventory(self):
        return self._inventory
