"""Sidecar injection: namespace label + pod template override, pods restart on template patch."""
import pytest

from apps.clusters.gateway import ObjectConflict, ObjectNotFound
from apps.simulator.gateway import SimulatorGateway
from apps.simulator.mesh import should_inject

from .helpers import select, total


def test_inject_false_removes_mtls_and_destination_series(env):
    clock, mesh, gw = env
    before = gw.get_workload("Deployment", "bookinfo", "reviews-v2")
    assert before.has_sidecar
    clock.advance(60)
    after = gw.patch_workload_template("Deployment", "bookinfo", "reviews-v2",
                                       labels={"sidecar.istio.io/inject": "false"})
    assert not after.has_sidecar and len(after.pods) == 2
    assert not {p.name for p in after.pods} & {p.name for p in before.pods}  # new pods
    assert all(p.name.startswith("reviews-v2-") for p in after.pods)
    clock.advance(60)
    r = mesh.series_rates(60, clock())
    live = [s for s in r if s.rate > 0]
    assert total(live, reporter="destination", destination_workload="reviews-v2") == 0
    # productpage's proxy still reports the calls, without mTLS
    out = select(live, reporter="source", source_workload="productpage-v1", destination_workload="reviews-v2")
    assert sum(s.rate for s in out) == pytest.approx(3.3333, abs=1e-3)
    for s in out:
        assert s.labels["source_principal"] == "unknown" and s.labels["destination_principal"] == "unknown"
    # reviews-v2 no longer reports as a client; ratings sees an unknown plaintext caller
    assert total(live, reporter="source", source_workload="reviews-v2") == 0
    assert total(live, reporter="destination", source_workload="unknown", destination_workload="ratings-v1",
                 connection_security_policy="none") == pytest.approx(3.3333, abs=1e-3)
    assert total(live, reporter="destination", destination_workload="ratings-v1",
                 connection_security_policy="mutual_tls") == pytest.approx(3.3333, abs=1e-3)  # from reviews-v3


def test_old_pods_series_disappear_from_scrapes(env):
    clock, mesh, gw = env
    clock.advance(30)
    old = {p.name for p in gw.get_workload("Deployment", "bookinfo", "details-v1").pods}
    gw.patch_workload_template("Deployment", "bookinfo", "details-v1", annotations={"sidecar.istio.io/inject": "false"})
    clock.advance(30)
    pods = {dict(items).get("pod") for _, items, _ in mesh.counters(clock())}
    assert not pods & old
    # a window overlapping the old pod's life still sees its rate, as Prometheus would
    r = mesh.series_rates(60, clock())
    assert total(r, reporter="destination", destination_workload="details-v1") == pytest.approx(10 / 2)


def test_namespace_label_alone_does_not_restart(env):
    clock, mesh, gw = env
    ns = gw.patch_namespace_labels("bookinfo", {"istio-injection": "disabled"})
    assert ns.labels["istio-injection"] == "disabled" and ns.injection == "disabled"
    assert gw.get_workload("Deployment", "bookinfo", "details-v1").has_sidecar
    w = gw.restart_workload("Deployment", "bookinfo", "details-v1")
    assert not w.has_sidecar
    gw.patch_namespace_labels("bookinfo", {"istio-injection": None})
    assert "istio-injection" not in next(n for n in gw.list_namespaces() if n.name == "bookinfo").labels
    w = gw.patch_workload_template("Deployment", "bookinfo", "details-v1", labels={"sidecar.istio.io/inject": "true"})
    assert w.has_sidecar  # unlabelled namespace + pod label true


def test_resource_versions_change_on_every_write(env):
    _, _, gw = env
    ns = next(n for n in gw.list_namespaces() if n.name == "bookinfo")
    ns2 = gw.patch_namespace_labels("bookinfo", {"team": "books"}, resource_version=ns.resource_version)
    assert ns2.resource_version != ns.resource_version
    with pytest.raises(ObjectConflict):
        gw.patch_namespace_labels("bookinfo", {"team": "x"}, resource_version=ns.resource_version)
    w = gw.get_workload("Deployment", "bookinfo", "ratings-v1")
    w2 = gw.patch_workload_template("Deployment", "bookinfo", "ratings-v1", annotations={"a": "b"},
                                    resource_version=w.resource_version)
    assert w2.resource_version != w.resource_version
    with pytest.raises(ObjectConflict):
        gw.patch_workload_template("Deployment", "bookinfo", "ratings-v1", labels={"x": "y"},
                                   resource_version=w.resource_version)
    with pytest.raises(ObjectNotFound):
        gw.patch_workload_template("Deployment", "bookinfo", "nope", labels={"x": "y"})
    with pytest.raises(ObjectNotFound):
        gw.patch_namespace_labels("nope", {"x": "y"})


@pytest.mark.parametrize("ns_labels, labels, annotations, expected", [
    ({"istio-injection": "enabled"}, {}, {}, True),
    ({"istio-injection": "enabled"}, {"sidecar.istio.io/inject": "false"}, {}, False),
    ({"istio-injection": "enabled"}, {}, {"sidecar.istio.io/inject": "false"}, False),
    ({"istio-injection": "disabled"}, {"sidecar.istio.io/inject": "true"}, {}, False),
    ({}, {}, {}, False),
    ({}, {"sidecar.istio.io/inject": "true"}, {}, True),
    ({}, {}, {"sidecar.istio.io/inject": "true"}, False),
    ({"istio.io/rev": "canary"}, {}, {}, True),
])
def test_injection_rules(ns_labels, labels, annotations, expected):
    assert should_inject(ns_labels, labels, annotations) is expected


def test_inventory_shapes(env):
    _, _, gw = env
    inv = gw.inventory()
    assert {n.name for n in inv.namespaces} == {"bookinfo", "istio-system"}
    wl = {w.name: w for w in inv.workloads}
    assert wl["productpage-v1"].kind == "Deployment" and wl["productpage-v1"].replicas == 2
    assert wl["reviews-v2"].labels == {"app": "reviews", "version": "v2"}
    pod = wl["reviews-v2"].pods[0]
    assert pod.has_sidecar and pod.labels["security.istio.io/tlsMode"] == "istio"
    assert pod.labels["pod-template-hash"] in pod.name and pod.ip
    assert not wl["istiod"].has_sidecar
    svcs = {s.name: s for s in inv.services}
    assert svcs["mongodb"].ports[0].port == 27017 and svcs["reviews"].selector == {"app": "reviews"}
    assert [o.kind for o in inv.istio_objects] == ["ServiceEntry"]
    assert [n.name for n in gw.inventory(["bookinfo"]).namespaces] == ["bookinfo"]


def test_gateway_implements_the_protocol():
    from apps.clusters.gateway import ClusterGateway

    wanted = [n for n in vars(ClusterGateway) if not n.startswith("_")]
    assert wanted and all(callable(getattr(SimulatorGateway, n, None)) for n in wanted)
