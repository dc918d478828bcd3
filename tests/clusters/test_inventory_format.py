"""A whole Inventory stored and restored: Inventory.to_dict / Inventory.from_dict.

Snapshots keep inventories as JSON, compressed and addressed by a hash of
their bytes: a restored inventory must be the one stored, and equal
inventories must give equal bytes whatever order a gateway listed them in.
"""
from __future__ import annotations

import json
import random
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from apps.clusters.inventory import (
    INVENTORY_FORMAT,
    INVENTORY_VERSION,
    Inventory,
    IstioObject,
    Namespace,
    Pod,
    Service,
    ServicePort,
    Workload,
)
from apps.core.stored import FormatError, canonical_json
from tests.graphs.snapshots import ordered_inventory as ordered


def through_json(inv: Inventory) -> Inventory:
    return Inventory.from_dict(json.loads(canonical_json(inv.to_dict())))


def edge_cases() -> Inventory:
    return Inventory(
        namespaces=[
            Namespace("zeta", labels={"istio.io/rev": "canary"}, annotations={"note": "ünïcode ✓"}),
            Namespace("alpha", labels={"istio-injection": "enabled"}, resource_version="17"),
            Namespace("empty"),
        ],
        workloads=[
            Workload("StatefulSet", "db", "alpha", labels={"app": "db"}, replicas=0, ready_replicas=0),
            Workload("Deployment", "db", "alpha", labels={"app": "db", "version": "v2"}, replicas=3, ready_replicas=1,
                     annotations={"sidecar.istio.io/inject": "false"}, resource_version="99",
                     pods=[Pod("db-b", "alpha", phase="Pending"),
                           Pod("db-a", "alpha", labels={"app": "db"}, has_sidecar=True, ip="10.0.0.7")]),
            Workload("Pod", "bare", "zeta"),
        ],
        services=[
            Service("web", "zeta", selector={"app": "web"}, type="LoadBalancer", cluster_ip="10.96.0.10",
                    ports=[ServicePort("http", 80, target_port="http-web"),
                           ServicePort("grpc", 9000, app_protocol="grpc", target_port=9001),
                           ServicePort("", 53, protocol="UDP")]),  # order kept: it means something
            Service("headless", "alpha", cluster_ip="None"),
        ],
        istio_objects=[
            IstioObject("VirtualService", "zeta", "web", spec={
                "hosts": ["web"], "http": [{"match": [{"uri": {"prefix": "/b"}}], "route": [{"destination": {
                    "host": "web", "subset": "v2"}, "weight": 100}]}, {"route": [{"destination": {"host": "web"}}]}],
                "nested": {"null": None, "float": 0.25, "bool": False, "empty": {}, "list": []}},
                metadata={"labels": {"team": "a"}, "annotations": {"x": "y"}}, resource_version="5"),
            IstioObject("DestinationRule", "alpha", "db", spec={"host": "db"},
                        api_version="networking.istio.io/v1beta1"),
            IstioObject("ServiceEntry", "alpha", "ext", spec={"hosts": ["httpbin.org"], "location": "MESH_EXTERNAL"}),
        ],
    )


def test_hand_built_edge_cases_round_trip():
    inv = edge_cases()
    restored = through_json(inv)
    assert restored == ordered(inv)
    # what the round trip keeps, spelled out: ports in their order, int vs named target ports,
    # unicode, null and empty values in a spec, the explicit API version
    web = next(s for s in restored.services if s.name == "web")
    assert [(p.name, p.port, p.target_port) for p in web.ports] == [("http", 80, "http-web"), ("grpc", 9000, 9001),
                                                                   ("", 53, None)]
    vs = next(o for o in restored.istio_objects if o.kind == "VirtualService")
    assert vs.spec["http"][0]["route"][0]["destination"]["subset"] == "v2"
    assert vs.spec["nested"] == {"null": None, "float": 0.25, "bool": False, "empty": {}, "list": []}
    assert restored.namespaces[-1].annotations == {"note": "ünïcode ✓"}
    dr = next(o for o in restored.istio_objects if o.kind == "DestinationRule")
    assert dr.api_version == "networking.istio.io/v1beta1"
    # derived properties follow from the stored fields
    db = next(w for w in restored.workloads if w.kind == "Deployment")
    assert (db.app, db.version, db.sidecar_inject, db.has_sidecar) == ("db", "v2", False, False)
    assert [p.name for p in db.pods] == ["db-a", "db-b"]
    assert restored.namespaces[0].injection == "enabled" and restored.namespaces[-1].injection == "revision:canary"


def test_the_stored_form_is_versioned_and_canonical():
    inv = edge_cases()
    data = inv.to_dict()
    assert (data["format"], data["version"]) == (INVENTORY_FORMAT, INVENTORY_VERSION)
    shuffled = Inventory(*(list(reversed(getattr(inv, f))) for f in
                           ("namespaces", "workloads", "services", "istio_objects")))
    for w in shuffled.workloads:
        w.pods = list(reversed(w.pods))
    assert canonical_json(shuffled.to_dict()) == canonical_json(data)
    assert canonical_json(through_json(inv).to_dict()) == canonical_json(data)


def test_stored_data_does_not_alias_the_inventory():
    inv = edge_cases()
    data = inv.to_dict()
    inv.istio_objects[0].spec["hosts"].append("changed")
    inv.namespaces[0].labels["changed"] = "yes"
    assert "changed" not in json.dumps(data)


def test_unknown_version_or_format_is_refused_with_a_clear_error():
    data = edge_cases().to_dict()
    with pytest.raises(FormatError,
                       match=r"version 2, which this version of Meshdeck cannot read \(it reads version 1\)"):
        Inventory.from_dict({**data, "version": 2})
    with pytest.raises(FormatError, match="not 'meshdeck.inventory'"):
        Inventory.from_dict({**data, "format": "meshdeck.mesh-traffic"})
    with pytest.raises(FormatError, match="not a JSON object"):
        Inventory.from_dict([data])


def test_missing_optional_fields_take_their_defaults():
    inv = Inventory.from_dict({
        "format": INVENTORY_FORMAT, "version": INVENTORY_VERSION,
        "namespaces": [{"name": "bookinfo"}],
        "workloads": [{"kind": "Deployment", "name": "web", "namespace": "bookinfo"}],
        "services": [{"name": "web", "namespace": "bookinfo", "ports": [{"port": 80}]}],
        # no istio_objects at all
    })
    assert inv == Inventory(namespaces=[Namespace("bookinfo")], workloads=[Workload("Deployment", "web", "bookinfo")],
                            services=[Service("web", "bookinfo", ports=[ServicePort("", 80)])], istio_objects=[])
    assert inv.workloads[0].replicas == 1 and inv.services[0].ports[0].protocol == "TCP"


@pytest.mark.parametrize("patch,message", [
    ({"namespaces": [{"labels": {}}]}, r"inventory.namespaces\[0\]: 'name' is missing"),
    ({"workloads": [{"kind": "Pod", "name": "x", "namespace": "a", "replicas": "3"}]},
     r"inventory.workloads\[0\].replicas: expected a whole number, got str"),
    ({"workloads": [{"kind": "Pod", "name": "x", "namespace": "a", "pods": [{"name": "p"}]}]},
     r"inventory.workloads\[0\].pods\[0\]: 'namespace' is missing"),
    ({"services": [{"name": "s", "namespace": "a", "ports": [{"port": 80, "target_port": True}]}]},
     r"target_port: expected a number, a name or null"),
    ({"services": "none"}, r"inventory.services: expected a list, got str"),
    ({"istio_objects": [{"kind": "Gateway", "namespace": "a", "name": "g", "spec": []}]},
     r"inventory.istio_objects\[0\].spec: expected an object, got list"),
    ({"namespaces": [{"name": "a", "labels": {"k": 1}}]}, r"inventory.namespaces\[0\].labels: expected string values"),
])
def test_malformed_data_names_the_bad_field(patch, message):
    with pytest.raises(FormatError, match=message):
        Inventory.from_dict({"format": INVENTORY_FORMAT, "version": INVENTORY_VERSION, **patch})


def test_a_spec_json_cannot_hold_is_named_when_storing():
    import datetime

    obj = IstioObject("Sidecar", "a", "s", metadata={"creationTimestamp": datetime.datetime(2024, 1, 1)})
    with pytest.raises(FormatError, match=r"Sidecar a/s metadata.creationTimestamp: a datetime cannot be stored"):
        Inventory(istio_objects=[obj]).to_dict()


@pytest.mark.parametrize("topology", ["demo", "large"])
def test_simulator_inventories_round_trip(topology):
    from apps.simulator.mesh import SimulatedMesh

    inv = SimulatedMesh(topology, start=time.time() - 600).inventory()
    assert inv.workloads and inv.istio_objects or topology == "large"
    restored = through_json(inv)
    assert restored == ordered(inv)
    assert canonical_json(restored.to_dict()) == canonical_json(inv.to_dict())


# -- property: any inventory round-trips, in any order ------------------------

_name = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=8)
_text = st.text(max_size=12)
_labels = st.dictionaries(st.text(min_size=1, max_size=10), _text, max_size=3)
_json = st.recursive(
    st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.floats(allow_nan=False, allow_infinity=False) | _text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_text, inner, max_size=3), max_leaves=10)

_pods = st.builds(Pod, name=_name, namespace=_name, labels=_labels, annotations=_labels, phase=_text,
                  has_sidecar=st.booleans(), ip=_text)
_ports = st.builds(ServicePort, name=_text, port=st.integers(1, 65535), protocol=st.sampled_from(["TCP", "UDP"]),
                   app_protocol=_text, target_port=st.none() | st.integers(1, 65535) | _name)
_inventories = st.builds(
    Inventory,
    namespaces=st.lists(st.builds(Namespace, name=_name, labels=_labels, annotations=_labels,
                                  resource_version=_text), max_size=4, unique_by=lambda n: n.name),
    workloads=st.lists(st.builds(Workload, kind=st.sampled_from(["Deployment", "StatefulSet", "DaemonSet", "Pod"]),
                                 name=_name, namespace=_name, labels=_labels, annotations=_labels,
                                 replicas=st.integers(0, 9), ready_replicas=st.integers(0, 9),
                                 pods=st.lists(_pods, max_size=3, unique_by=lambda p: (p.name, p.namespace)),
                                 resource_version=_text),
                       max_size=4, unique_by=lambda w: (w.namespace, w.name, w.kind)),
    services=st.lists(st.builds(Service, name=_name, namespace=_name, labels=_labels, selector=_labels,
                                ports=st.lists(_ports, max_size=3), type=_text, cluster_ip=_text,
                                resource_version=_text),
                      max_size=4, unique_by=lambda s: (s.namespace, s.name)),
    istio_objects=st.lists(st.builds(IstioObject, kind=st.sampled_from(["VirtualService", "Gateway", "Sidecar"]),
                                     namespace=_name, name=_name, spec=st.dictionaries(_text, _json, max_size=3),
                                     metadata=st.dictionaries(_text, _json, max_size=2), resource_version=_text),
                           max_size=4, unique_by=lambda o: (o.namespace, o.kind, o.name)),
)


@settings(max_examples=150, deadline=None)
@given(_inventories, st.randoms(use_true_random=False))
def test_any_inventory_round_trips_and_its_bytes_do_not_depend_on_order(inv, rnd: random.Random):
    restored = through_json(inv)
    assert restored == ordered(inv)
    shuffled = Inventory(*(rnd.sample(getattr(inv, f), len(getattr(inv, f))) for f in
                           ("namespaces", "workloads", "services", "istio_objects")))
    assert canonical_json(shuffled.to_dict()) == canonical_json(inv.to_dict())
