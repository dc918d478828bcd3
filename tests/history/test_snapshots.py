"""Taking snapshots: what is stored, stored once, and what a cluster that cannot be read leaves behind."""
from __future__ import annotations

import time

import pytest
from django.core.management import call_command

from apps.history.models import Snapshot, SnapshotPart, SnapshotSchedule
from apps.history.services import bucket_of, snapshot_take
from apps.history.signals import snapshot_committed
from tests.support.concurrency import run_in_threads
from tests.support.localservers import closed_port

pytestmark = pytest.mark.django_db


def test_a_snapshot_holds_inventory_config_findings_traffic_and_namespace_health(take):
    snap = take()
    assert snap.status == "ok" and snap.reason == ""
    assert all([snap.inventory_id, snap.config_id, snap.findings_id, snap.traffic_shape_id, snap.traffic_values_id])
    by_ns = snap.counts["by_namespace"]
    assert by_ns["bookinfo"]["workloads"] >= 6 and snap.counts["edges"] > 10
    # the demo scenario: reviews-v3 -> ratings fails 4% (degraded), grpc-demo fails
    assert snap.health["bookinfo"] == "Degraded" and snap.health["helloworld"] == "Healthy"


def test_the_same_bucket_is_stored_once(take, sim_cluster):
    from apps.history.services import interval_of, schedule_for

    # the first second of a bucket, so that one second later is the same bucket whatever the clock says
    start = bucket_of(time.time(), interval_of(schedule_for(sim_cluster))).timestamp()
    first = take(at=start)
    again = snapshot_take(sim_cluster, now=start + 1)
    assert not again.created and again.skipped == "exists" and again.snapshot == first
    assert Snapshot.objects.count() == 1


def test_rates_are_stored_against_a_key_frame_and_read_back(take, sim_cluster):
    from apps.history import store

    now = time.time()
    a = take(at=now - 130)
    b = take(at=now - 70.5)  # another window: other rates, same topology
    assert b.traffic_values.base_id in (None, a.traffic_values_id)
    assert store.traffic_of(b).query_time == b.taken_at.timestamp()
    assert sum(len(r) for r in store.traffic_of(b).series.values()) == b.counts["rates"]


def test_unchanged_parts_are_stored_once_across_snapshots(take):
    now = time.time()
    a = take(at=now - 120)
    parts = SnapshotPart.objects.count()
    b = take(at=now - 60)
    assert (a.inventory_id, a.config_id, a.findings_id, a.traffic_shape_id) == \
           (b.inventory_id, b.config_id, b.findings_id, b.traffic_shape_id)
    assert SnapshotPart.objects.count() - parts <= 1  # at most the rates are new


@pytest.mark.django_db(transaction=True)
def test_two_workers_on_one_bucket_store_one_snapshot(sim_cluster):
    at = time.time()
    results = run_in_threads(lambda _: snapshot_take(sim_cluster, now=at), 3)
    assert sum(r.created for r in results) == 1
    assert {r.skipped for r in results if not r.created} <= {"exists", "locked"}
    assert Snapshot.objects.filter(cluster=sim_cluster).count() == 1


@pytest.mark.django_db(transaction=True)
def test_the_signal_goes_out_after_commit_with_the_previous_snapshot(sim_cluster):
    got = []

    def listener(sender, **kw):
        got.append(kw)

    snapshot_committed.connect(listener)
    try:
        now = time.time()
        a = snapshot_take(sim_cluster, now=now - 60).snapshot
        b = snapshot_take(sim_cluster, now=now).snapshot
    finally:
        snapshot_committed.disconnect(listener)
    assert [g["snapshot_id"] for g in got] == [a.pk, b.pk]
    assert got[1]["previous_id"] == a.pk and got[1]["cluster_id"] == sim_cluster.pk and got[1]["status"] == "ok"


def test_no_prometheus_gives_a_partial_snapshot_and_backs_off_then_recovers(take, sim_cluster):
    sim_cluster.prometheus_url = f"http://127.0.0.1:{closed_port()}"
    sim_cluster.save()
    now = time.time()
    partial = take(at=now - 120)
    assert partial.status == "partial" and partial.reason.startswith("Prometheus:")
    assert partial.inventory_id and not partial.traffic_values_id
    schedule = SnapshotSchedule.objects.get(cluster=sim_cluster)
    assert schedule.failures == 1 and schedule.next_attempt_at.timestamp() > now - 120
    # the scheduled run inside the backoff does nothing
    skipped = snapshot_take(sim_cluster, now=now - 119, respect_backoff=True)
    assert not skipped.created and skipped.skipped.startswith("backing off")
    sim_cluster.prometheus_url = ""
    sim_cluster.save()
    ok = snapshot_take(sim_cluster, now=now, respect_backoff=True)
    assert ok.created and ok.snapshot.status == "ok"
    schedule.refresh_from_db()
    assert schedule.failures == 0 and schedule.next_attempt_at is None


def test_an_unreachable_api_server_gives_an_unreachable_record_with_the_reason(db):
    from apps.clusters.models import Cluster

    cluster = Cluster.objects.create(name="down", kind="kubernetes", api_server_url=f"https://127.0.0.1:{closed_port()}")
    cluster.credentials = {"token": "x", "insecure_skip_tls_verify": True}
    cluster.save()
    result = snapshot_take(cluster)
    snap = result.snapshot
    assert result.created and snap.status == "unreachable" and snap.reason.startswith("API server:")
    assert snap.inventory_id is None and snap.counts == {}


def test_buckets_follow_the_clusters_interval(sim_cluster):
    from apps.history.services import snapshot_schedule_update

    snapshot_schedule_update(cluster=sim_cluster, interval_seconds=300)
    assert bucket_of(1_000_000_123, 300).timestamp() == 1_000_000_123 - 1_000_000_123 % 300
    first = snapshot_take(sim_cluster, now=time.time())
    assert first.created
    second = snapshot_take(sim_cluster, now=first.snapshot.bucket.timestamp() + 299)
    assert not second.created


def test_manage_py_snapshot_take_and_list(sim_cluster, capsys):
    call_command("snapshot", "take", "demo")
    out = capsys.readouterr().out
    assert "snapshot #" in out and ": ok" in out
    call_command("snapshot", "take", "demo")
    assert "nothing stored: exists" in capsys.readouterr().out
    call_command("snapshot", "list", "demo")
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2 and lines[1].split()[-1] == "ok"
    from apps.audit.models import AuditEvent

    assert AuditEvent.objects.filter(action="snapshot.take", target_cluster="demo").count() == 1
