"""The API server answering 500, 401, or nothing (accepting, never answering), in front of the real
kube-apiserver (tests/faults/kube_proxy.py):

- during an inventory page load and a snapshot: the page names the cause (no 500); the snapshot is
  stored ``unreachable`` with the reason; with the API server back the next snapshot reads the
  inventory and the page lists it;
- during an apply, failing only the change's second write: the first is undone, the change ends
  ``failed`` with the API server's message, and the objects are exactly as before (nothing
  half-applied); one ``change.failed``, no ``change.applied``; the audit chain verifies.
"""
from __future__ import annotations

import time

import pytest

from apps.accounts.roles import Role
from apps.changes.models import ChangeLock, ChangeRequest
from apps.changes.services import change_approve, change_create, change_execute
from apps.clusters.services import cluster_create
from apps.history.services import snapshot_take
from tests.changes.flow_helpers import PASSWORD, events
from tests.changes.test_kube_apiserver import stored

from .kube_proxy import FaultyKubeProxy
from .support import audit_chain_ok

pytestmark = [pytest.mark.kube, pytest.mark.django_db]
FAULTS = ["500", "401", "silent"]
# what a person reads for each fault (page, snapshot reason, change message)
SAYS = {"500": "etcdserver: request timed out", "401": "401", "silent": "did not answer in time"}


@pytest.fixture
def proxy(kube_apiserver, tmp_path, settings):
    settings.MESHDECK_KUBE_TIMEOUT = 1
    p = FaultyKubeProxy(kube_apiserver.url, kube_apiserver.ca_path, tmp_path)
    yield p
    p.stop()


@pytest.fixture
def faulty(kube_apiserver, proxy):
    return cluster_create(name="faulty", kind="kubernetes", api_server_url=proxy.url,
                          token=kube_apiserver.admin_token, ca_pem=proxy.ca_pem)


@pytest.mark.parametrize("fault", FAULTS)
def test_a_page_and_a_snapshot_during_the_fault_then_the_next_snapshot(fault, proxy, faulty, make_user, page_client,
                                                                        bookinfo_configured):
    admin = make_user("kadmin", cluster=faulty, role=Role.ADMIN)
    client = page_client(admin)
    proxy.mode = fault
    page = client.get("/clusters/faulty/namespaces/")
    text = page.content.decode()
    assert page.status_code != 500 and page.status_code < 600, text[:2000]
    assert SAYS[fault] in text, text[:3000]
    now = time.time()
    down = snapshot_take(faulty, now=now - 120)
    assert down.created and down.snapshot.status == "unreachable"
    assert down.snapshot.reason.startswith("API server:") and SAYS[fault] in down.snapshot.reason, down.snapshot.reason
    assert down.snapshot.inventory_id is None

    proxy.mode = "pass"
    back = snapshot_take(faulty, now=now, respect_backoff=False).snapshot
    # read the cluster again; "partial" only because this cluster has no Prometheus
    assert back.status in ("ok", "partial") and not back.reason.startswith("API server"), back.reason
    assert back.inventory_id and back.counts["by_namespace"][bookinfo_configured]["workloads"] >= 6
    page = client.get("/clusters/faulty/namespaces/")
    assert page.status_code == 200 and bookinfo_configured in page.content.decode()
    audit_chain_ok()


def _objects(kube_apiserver, ns, kinds) -> dict:
    """What a reader of each object sees: its spec, labels and annotations (Meshdeck's writes carry its
    change-id annotation, so a write left in place shows even where the spec is the same)."""
    out = {}
    for kind in kinds:
        obj = stored(kube_apiserver, kind, ns, "reviews")
        meta = obj["metadata"]
        out[kind] = {"spec": obj["spec"], "labels": meta.get("labels"), "annotations": meta.get("annotations")}
    return out


@pytest.mark.parametrize("fault", FAULTS)
def test_an_apply_whose_second_write_fails_leaves_nothing_half_applied(fault, kube_apiserver, proxy, faulty,
                                                                       make_user, bookinfo_configured):
    ns = bookinfo_configured
    op = make_user("kop", cluster=faulty, role=Role.OPERATOR)
    ap = make_user("kap", cluster=faulty, role=Role.APPROVER)
    change = change_create(cluster=faulty, user=op, submit=True, data={
        "kind": "traffic_shift", "namespace": ns, "service": "reviews", "weights": {"v1": 0, "v2": 80, "v3": 20},
        "take_over": True})  # replaces the objects another client wrote: their restore is exact
    change_approve(change=change, user=ap, password=PASSWORD)
    kinds = [w["manifest"]["kind"] for w in change.payload["writes"]]
    assert kinds == ["DestinationRule", "VirtualService"]
    before = _objects(kube_apiserver, ns, kinds)
    proxy.fail_writes = {len(proxy.writes) + 2: fault}  # the VirtualService

    assert change_execute(change.pk) == "failed"
    change.refresh_from_db()
    assert change.status == "failed"
    assert _objects(kube_apiserver, ns, kinds) == before
    assert SAYS[fault] in change.error_message and "were restored" in change.error_message, change.error_message
    assert [(m, f) for m, _, f in proxy.writes] == [("PATCH", "pass"), ("PATCH", fault), ("PATCH", "pass")]
    assert len(events("change.failed", target_id=str(change.pk))) == 1
    assert events("change.applied", target_id=str(change.pk)) == []
    assert change_execute(change.pk) == "not-claimed"  # and never again
    assert not ChangeLock.objects.filter(change=change).exists()
    assert ChangeRequest.objects.get(pk=change.pk).status == "failed"
    audit_chain_ok()
