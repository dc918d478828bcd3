"""Where every call of the scenario goes, given the objects applied: a list of flows.

Pure, over a ``ClusterState``. A ``Flow`` is a rate of requests (or a TCP
connection) from one workload to another, or to nowhere (aborted by a fault,
no route, no healthy upstream), with the response codes, flags, latencies and
mTLS the proxies would report. Routing decisions come from ``routing.py``;
labels and rates per series from ``series.py``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from apps.clusters.inventory import IstioObject, Service
from apps.meshconfig import hosts

from . import routing
from .histogram import INSTANT, LatencyProfile
from .pods import WorkloadState
from .scenario import UNKNOWN_CLIENT, Call
from .state import ClusterState

UNKNOWN = "unknown"


@dataclass
class Flow:
    """Requests (or bytes) from one workload to another for one segment."""

    call: Call
    client: WorkloadState | None  # None: outside the mesh
    dest: WorkloadState | None  # None: never reached a workload
    svc_host: str
    svc_name: str
    svc_ns: str
    rate: float  # requests/s (tcp: 1.0, bytes come from the call)
    codes: tuple[tuple[str, float], ...]
    flags: str = "-"
    source_latency: LatencyProfile | None = None
    dest_latency: LatencyProfile | None = None
    dest_flags: str = "-"
    source_reports: bool = True
    dest_reports: bool = True
    mtls: bool = False


def compute_flows(state: ClusterState) -> list[Flow]:
    """Every flow of the scenario's calls under the objects applied now."""
    return _FlowBuilder(state).flows()


class _FlowBuilder:
    """One computation: endpoints are looked up once per service."""

    def __init__(self, state: ClusterState):
        self.state = state
        self._endpoint_cache: dict[str, list[WorkloadState]] = {}

    def flows(self) -> list[Flow]:
        """Calls are routed repeatedly until every ``per_inbound`` rate settles
        ("downstream follows upstream": reviews -> ratings uses what reviews is served)."""
        state = self.state
        objects = state.objects_in_order()
        inbound: dict[str, float] = {}
        flows: list[Flow] = []
        for _ in range(len(state.workloads) + 2):
            flows = []
            new_inbound: dict[str, float] = {}
            for call in state.scenario.calls:
                if call.protocol == "tcp":
                    rate = 1.0
                elif call.per_inbound is not None:
                    rate = inbound.get(call.source, 0.0) * call.per_inbound
                else:
                    rate = call.rate
                if rate <= 0:
                    continue
                for f in self._route_call(call, rate, objects):
                    flows.append(f)
                    if f.dest is not None and call.protocol != "tcp":
                        new_inbound[f.dest.key] = new_inbound.get(f.dest.key, 0.0) + f.rate
            if all(abs(new_inbound.get(k, 0.0) - inbound.get(k, 0.0)) < 1e-12 for k in set(new_inbound) | set(inbound)):
                break
            inbound = new_inbound
        return flows

    def _service_for_host(self, host: str) -> Service | None:
        found = hosts.service_of(host)
        return None if found is None else self.state.services.get(f"{found[1]}/{found[0]}")

    def _service_entry_for_host(self, host: str) -> IstioObject | None:
        for obj in self.state.istio.values():
            if obj.kind == "ServiceEntry":
                for h in obj.spec.get("hosts") or []:
                    if hosts.covers(h, host):
                        return obj
        return None

    def _endpoints(self, svc: Service, subset: dict[str, str] | None) -> list[WorkloadState]:
        """Workloads (with running pods) behind ``svc``, optionally narrowed to a subset's labels.

        Traffic is split evenly across these *workloads* (then evenly across each one's
        pods). Envoy's round robin would weight by pod count; the pinned Bookinfo table
        (reviews v1/v2/v3 at 3.3333 each although v2 has 2 replicas) fixes this choice.
        """
        key = f"{svc.namespace}/{svc.name}"
        selected = self._endpoint_cache.get(key)
        if selected is None:
            selected = [
                ws
                for ws in self.state.workloads.values()
                if ws.spec.namespace == svc.namespace
                and ws.pods
                and svc.selector
                and all(ws.labels.get(k) == v for k, v in svc.selector.items())
            ]
            self._endpoint_cache[key] = selected
        if not subset:
            return selected
        return [ws for ws in selected if all(ws.labels.get(k) == v for k, v in subset.items())]

    def _route_call(self, call: Call, rate: float, objects: list[IstioObject]) -> list[Flow]:
        client = None if call.source == UNKNOWN_CLIENT else self.state.workloads.get(call.source)
        if call.source != UNKNOWN_CLIENT and (client is None or not client.pods):
            return []
        latency = call.latency or INSTANT
        codes = call.codes if call.protocol != "grpc" else (("200", 1.0),)
        host = call.target
        if client is None or not client.has_proxy:
            return self._route_without_proxy(call, client, rate, codes, latency)

        flows: list[Flow] = []

        def unreached(svc_host: str, svc_name: str, svc_ns: str, share: float, code: str, flags: str) -> None:
            if share > 0:
                flows.append(
                    Flow(call, client, None, svc_host, svc_name, svc_ns, rate * share, ((code, 1.0),), flags=flags,
                         source_latency=INSTANT, dest_reports=False)
                )

        svc = self._service_for_host(host)
        se = None if svc is not None else self._service_entry_for_host(host)
        if client.spec.gateway:
            decision = routing.RouteDecision((routing.RouteDestination(host, "", 1.0, client.spec.namespace),))
        else:
            decision = routing.decide_route(objects, host, call.protocol, client.spec.namespace, client.labels)
        svc_name = svc.name if svc else host
        svc_ns = svc.namespace if svc else (se.namespace if se else UNKNOWN)
        if decision.no_route:
            unreached(host, svc_name, svc_ns, 1.0, "404", "NR")
            return flows
        fault = decision.fault
        for dest in decision.destinations:
            share = dest.share
            dsvc = self._service_for_host(dest.host)
            dse = None if dsvc is not None else self._service_entry_for_host(dest.host)
            d_name = dsvc.name if dsvc else dest.host
            d_ns = dsvc.namespace if dsvc else (dse.namespace if dse else UNKNOWN)
            # The fault filter runs before the router: aborted requests never leave the client proxy.
            if fault.abort_share > 0:
                a = share * fault.abort_share
                if fault.delay_share > 0:
                    unreached(dest.host, d_name, d_ns, a * fault.delay_share, str(fault.abort_status), "DI,FI")
                    unreached(dest.host, d_name, d_ns, a * (1 - fault.delay_share), str(fault.abort_status), "FI")
                else:
                    unreached(dest.host, d_name, d_ns, a, str(fault.abort_status), "FI")
                share -= a
            if share <= 0:
                continue
            if dsvc is None:
                if dse is not None:
                    # ServiceEntry host: only the client proxy reports; plaintext from the proxy.
                    _add_served(flows, call, client, None, dest.host, d_name, d_ns, rate * share, codes, latency,
                                fault, dest_reports=False, mtls=False)
                elif dest.host == host and not dest.subset:
                    # Unknown host under the default ALLOW_ANY outbound policy: PassthroughCluster.
                    _add_served(flows, call, client, None, dest.host, "PassthroughCluster", UNKNOWN, rate * share,
                                codes, latency, fault, dest_reports=False, mtls=False)
                else:
                    # A destination host pilot has no service for: the cluster does not exist.
                    unreached(dest.host, d_name, d_ns, share, "503", "NC")
                continue
            dr = routing.find_destination_rule(objects, dsvc.host, client.spec.namespace, dsvc.namespace)
            labels = None
            if dest.subset:
                labels = routing.subset_labels(dr, dest.subset)
                if labels is None:
                    # Route to a cluster pilot never built: Envoy answers 503 "NC" (no cluster found).
                    unreached(dest.host, d_name, d_ns, share, "503", "NC")
                    continue
            eps = self._endpoints(dsvc, labels)
            if not eps:
                unreached(dest.host, d_name, d_ns, share, "503", "UH")
                continue
            mode = routing.tls_mode(dr, dest.subset)
            for ep in eps:
                mtls = ep.has_proxy and mode not in ("DISABLE", "SIMPLE", "MUTUAL")
                _add_served(flows, call, client, ep, dsvc.host, dsvc.name, dsvc.namespace,
                            rate * share / len(eps), codes, latency, fault,
                            dest_reports=ep.has_proxy, mtls=mtls)
        return flows

    def _route_without_proxy(self, call: Call, client: WorkloadState | None, rate: float,
                             codes: tuple[tuple[str, float], ...], latency: LatencyProfile) -> list[Flow]:
        """No client proxy: no VirtualService, kube-proxy spreads over every pod of the service."""
        svc = self._service_for_host(call.target)
        if svc is None:
            return []
        eps = self._endpoints(svc, None)
        return [
            Flow(call, client, ep, call.target, svc.name, svc.namespace, rate / len(eps), codes,
                 source_latency=latency, dest_latency=latency, source_reports=False,
                 dest_reports=ep.has_proxy, mtls=False)
            for ep in eps
        ]


def _add_served(flows: list[Flow], call: Call, client: WorkloadState, ep: WorkloadState | None, host: str,
                name: str, ns: str, rate: float, codes: tuple[tuple[str, float], ...], latency: LatencyProfile,
                fault: routing.Fault, *, dest_reports: bool, mtls: bool) -> None:
    """Requests that reach a server (or leave the mesh), split by the fault's delay if any."""
    if rate <= 0:
        return
    delayed = fault.delay_share if fault.delay_ms > 0 else 0.0
    base: dict[str, Any] = dict(call=call, client=client, dest=ep, svc_host=host, svc_name=name, svc_ns=ns, codes=codes,
                dest_latency=latency, dest_reports=dest_reports, mtls=mtls)
    if delayed > 0:
        flows.append(Flow(rate=rate * delayed, flags="DI", source_latency=latency.shifted(fault.delay_ms), **base))
        if delayed < 1:
            flows.append(Flow(rate=rate * (1 - delayed), source_latency=latency, **base))
    else:
        flows.append(Flow(rate=rate, source_latency=latency, **base))
