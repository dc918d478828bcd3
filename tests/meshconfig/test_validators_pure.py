"""Every validation check as a pure function: fires on its crafted bad object, not on the good one."""
from __future__ import annotations

import pytest

from apps.clusters.inventory import Inventory, IstioObject, Service, ServicePort, Workload
from apps.meshconfig.validators import ERROR, REGISTRY, run_check, validate
from tests.meshconfig.validation_cases import CASES, baseline, case_manifests, manifests_to_inventory

NS, ROOT = "bookinfo", "istio-system"


def inventory_with(case=None, variant="bad") -> Inventory:
    manifests = baseline(NS)
    if case is not None:
        manifests += case_manifests(case, variant, NS, ROOT)
    return manifests_to_inventory(manifests, [NS, ROOT])


def test_every_check_has_a_case():
    assert {c.code for c in CASES} == set(REGISTRY)
    assert len(REGISTRY) >= 15


def test_the_bookinfo_baseline_is_clean():
    result = validate(inventory_with(), ROOT)
    assert {k: [c.code for c in v.checks] for k, v in result.items() if v.checks} == {}
    assert all(v.valid for v in result.values())


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.code)
def test_check_fires_on_the_bad_object(case):
    kind, name = case.target
    ns = ROOT if case.in_root else NS
    found = run_check(case.code, inventory_with(case, "bad"), ROOT)
    hits = [c for c in found if c.key == (kind, ns, name)]
    assert hits, f"{case.code} did not fire on {kind} {ns}/{name}: {found}"
    assert case.path in {c.path for c in hits}
    chk = hits[0]
    assert chk.severity == REGISTRY[case.code].severity and chk.message
    assert chk.code == case.code


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.code)
def test_check_stays_quiet_on_the_good_object(case):
    inv = inventory_with(case, "good")
    kind, name = case.good_key
    assert any(o.kind == kind and o.name == name for o in inv.istio_objects)
    assert run_check(case.code, inv, ROOT) == []
    # and nothing else fires either: the good variants are clean configurations
    assert [c for v in validate(inv, ROOT).values() for c in v.checks] == []


def test_errors_make_an_object_invalid_and_warnings_do_not():
    by_code = {c.code: c for c in CASES}
    result = validate(inventory_with(by_code["VS-SUBSET-NOT-FOUND"], "bad"), ROOT)
    assert result[("VirtualService", NS, "vs-subset")].valid is False
    assert result[("VirtualService", NS, "vs-subset")].status == "error"
    result = validate(inventory_with(by_code["DR-SUBSET-NO-LABELS"], "bad"), ROOT)
    assert result[("DestinationRule", NS, "dr-nolabels")].valid is True
    assert result[("DestinationRule", NS, "dr-nolabels")].status == "warning"


def test_duplicate_findings_reference_the_other_object():
    case = next(c for c in CASES if c.code == "DR-MULTI-MATCH")
    found = run_check(case.code, inventory_with(case, "bad"), ROOT)
    dup = next(c for c in found if c.name == "dr-dup-ratings")
    assert ("DestinationRule", NS, "ratings") in dup.references
    assert dup.as_dict()["references"] == [{"kind": "DestinationRule", "namespace": NS, "name": "ratings"}]


def test_mesh_wide_strict_policy_in_the_root_namespace_counts():
    inv = manifests_to_inventory(
        [m for m in baseline(NS) if m["kind"] != "PeerAuthentication"]
        + [{"apiVersion": "security.istio.io/v1", "kind": "PeerAuthentication",
            "metadata": {"name": "default", "namespace": ROOT}, "spec": {"mtls": {"mode": "STRICT"}}},
           {"apiVersion": "networking.istio.io/v1", "kind": "DestinationRule",
            "metadata": {"name": "plain", "namespace": NS},
            "spec": {"host": "details", "trafficPolicy": {"portLevelSettings": [
                {"port": {"number": 9080}, "tls": {"mode": "DISABLE"}}]}}}],
        [NS, ROOT])
    found = run_check("DR-TLS-DISABLED-STRICT", inv, ROOT)
    assert [(c.name, c.path) for c in found] == [("plain", "spec.trafficPolicy.portLevelSettings[0].tls.mode")]


def test_namespace_permissive_policy_overrides_mesh_strict():
    inv = Inventory(
        services=[Service("details", NS, selector={"app": "details"}, ports=[ServicePort("http", 9080)])],
        workloads=[Workload("Deployment", "details-v1", NS, labels={"app": "details", "version": "v1"})],
        istio_objects=[
            IstioObject("PeerAuthentication", ROOT, "default", spec={"mtls": {"mode": "STRICT"}}),
            IstioObject("PeerAuthentication", NS, "default", spec={"mtls": {"mode": "PERMISSIVE"}}),
            IstioObject("DestinationRule", NS, "plain",
                        spec={"host": "details", "trafficPolicy": {"tls": {"mode": "DISABLE"}}}),
        ],
    )
    assert run_check("DR-TLS-DISABLED-STRICT", inv, ROOT) == []


def test_a_two_part_host_is_not_read_as_a_service():
    """Istio takes ``reviews.bookinfo`` literally (tests/meshconfig/test_hosts.py): no Service has that name."""
    inv = inventory_with()
    inv.istio_objects.append(IstioObject("VirtualService", NS, "two-part", spec={"hosts": ["reviews"], "http": [
        {"route": [{"destination": {"host": "reviews.bookinfo"}}]}]}))
    found = run_check("VS-HOST-NOT-FOUND", inv, ROOT)
    assert [(c.name, c.path) for c in found] == [("two-part", "spec.http[0].route[0].destination.host")]


def test_wildcard_service_entry_counts_as_a_known_host():
    inv = Inventory(istio_objects=[
        IstioObject("ServiceEntry", NS, "wild", spec={"hosts": ["*.googleapis.com"]}),
        IstioObject("VirtualService", NS, "vs", spec={"hosts": ["x"], "http": [
            {"route": [{"destination": {"host": "storage.googleapis.com"}}]}]}),
    ])
    assert run_check("VS-HOST-NOT-FOUND", inv) == []


def test_validators_tolerate_malformed_specs():
    inv = Inventory(istio_objects=[
        IstioObject("VirtualService", NS, "weird", spec={"http": "nope", "hosts": [1, None]}),
        IstioObject("DestinationRule", NS, "weird", spec={"host": 5, "subsets": [None, "x"]}),
        IstioObject("Gateway", NS, "weird", spec={"servers": [{"hosts": None}], "selector": "x"}),
        IstioObject("AuthorizationPolicy", NS, "weird", spec={"rules": [{"from": None, "to": [None]}]}),
        IstioObject("Sidecar", NS, "weird", spec={"egress": [{"hosts": "x"}]}),
    ])
    result = validate(inv)
    assert result[("DestinationRule", NS, "weird")].errors >= 1
    assert all(c.severity in (ERROR, "warning", "info") for v in result.values() for c in v.checks)


def test_every_code_is_documented():
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[2] / "docs" / "validation.md").read_text()
    for code, spec in REGISTRY.items():
        assert f"`{code}`" in doc, code
        assert not spec.kiali_code or spec.kiali_code in doc
