"""A write that rolls back leaves no event; secrets never reach the trail."""
import pytest
from django.db import transaction

from apps.accounts.roles import Role
from apps.accounts.services import api_token_create, grant_create, user_create
from apps.audit.models import AuditChainHead
from apps.audit.services import Target, audit_record, event_recorded
from apps.clusters.services import cluster_create, cluster_update_credentials

from .helpers import all_text, events, only

pytestmark = [pytest.mark.postgres, pytest.mark.usefixtures("pg")]

KUBECONFIG = """apiVersion: v1
kind: Config
current-context: test
clusters:
- name: c
  cluster: {server: "https://127.0.0.1:6443"}
users:
- name: u
  user: {token: TOKEN}
contexts:
- name: test
  context: {cluster: c, user: u}
"""


class Boom(Exception):
    pass


def test_rolled_back_write_leaves_no_event_and_no_gap(sim_cluster, make_user):
    user = make_user("erin")
    with pytest.raises(Boom), transaction.atomic():
        grant_create(cluster=sim_cluster, role=Role.VIEWER, namespace_pattern="bookinfo", user=user)
        raise Boom()
    assert events() == [] and AuditChainHead.objects.get(pk=1).seq == 0
    grant_create(cluster=sim_cluster, role=Role.VIEWER, namespace_pattern="bookinfo", user=user)
    assert only("grant.create").seq == 1


def test_live_notification_only_after_commit(sim_cluster, django_capture_on_commit_callbacks):
    seen = []
    event_recorded.connect(lambda sender, event, **kw: seen.append(event.seq), weak=False, dispatch_uid="t")
    try:
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            audit_record("cluster.update", target=Target(type="cluster", cluster="demo", name="demo"))
            assert seen == []  # still inside the transaction
        assert seen == [1] and callbacks
        with django_capture_on_commit_callbacks(execute=True):
            with pytest.raises(Boom), transaction.atomic():
                audit_record("cluster.update", target=Target(type="cluster", cluster="demo", name="demo"))
                raise Boom()
        assert seen == [1]  # the rolled-back event was never announced
    finally:
        event_recorded.disconnect(dispatch_uid="t")


def test_no_password_token_or_kubeconfig_is_ever_recorded(db, make_user):
    user = user_create(username="frank", password="Horse-battery-staple-42")
    _, secret = api_token_create(user=user, name="ci")
    cluster = cluster_create(name="prod", kind="kubernetes", api_server_url="https://127.0.0.1:6443",
                             token="sa-token-XYZZY-secret")
    kubeconfig = KUBECONFIG.replace("TOKEN", "kubeconfig-token-PLUGH")
    cluster_update_credentials(cluster=cluster, kubeconfig=kubeconfig)
    audit_record("cluster.update", target=Target(type="cluster", name="prod"),
                 after={"nested": {"password": "hunter2-QWERTY", "items": [{"client_key": "KEYDATA-ZORK"}]},
                        "token_id": 7})
    text = all_text()
    for leaked in ("Horse-battery-staple-42", secret, secret[10:], "sa-token-XYZZY", "kubeconfig-token-PLUGH",
                   "hunter2-QWERTY", "KEYDATA-ZORK", "apiVersion"):
        assert leaked not in text, leaked
    last = events("cluster.update")[-1]
    assert last.after == {"nested": {"password": "[redacted]", "items": [{"client_key": "[redacted]"}]},
                          "token_id": 7}
