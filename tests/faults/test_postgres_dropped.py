"""The PostgreSQL connection dropped mid-request: a change being filed over HTTP (a live server
thread with its own connection to the real PostgreSQL) is held inside its transaction, and its
session is terminated from another connection (``pg_terminate_backend``, what a database restart
or failover does to it). The client gets an answer, not a hang (a 503 saying
the database connection was lost and to try again, not an "internal error"); nothing of the change is stored (no
change, no lock, no ``change.create`` event); the next request on the same token works; the audit
chain verifies."""
from __future__ import annotations

import threading

import pytest
import requests

from apps.audit.models import AuditEvent
from apps.changes.models import ChangeLock, ChangeRequest
from tests.changes.flow_helpers import PASSWORD, SHIFT_80_20
from tests.support.services import require_postgres

from .support import audit_chain_ok, held_at, held_backends, terminate_backends, wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def answered_with_its_session_killed(send, trigger_sql: str, table: str) -> requests.Response:
    """``send()`` (an HTTP request) from a thread, held by a trigger on ``table`` once it is inside its
    transaction, whose database session is then terminated. The answer, which must come (no hang)."""
    answers: list[requests.Response | BaseException] = []

    def run():
        try:
            answers.append(send())
        except requests.RequestException as exc:
            answers.append(exc)

    with held_at(trigger_sql, table) as hold:
        request = threading.Thread(target=run)
        request.start()
        held = wait_for("the request to be inside its transaction", lambda: held_backends(hold))
        terminate_backends(hold, held)
        request.join(timeout=60)
    assert not request.is_alive(), "the request hung after its database session was killed"
    assert isinstance(answers[0], requests.Response), answers[0]
    return answers[0]


def test_a_request_whose_database_session_is_killed_answers_and_stores_nothing(live_server, sim_cluster, operator):
    require_postgres()
    http = requests.Session()
    http.trust_env = False
    token = http.post(live_server.url + "/api/auth/token/", json={
        "username": "operator", "password": PASSWORD, "scope": "write"}, timeout=30)
    assert token.status_code in (200, 201), token.content
    http.headers["Authorization"] = f"Bearer {token.json()['token']}"
    url = f"{live_server.url}/api/clusters/{sim_cluster.name}/changes/"
    events_before = AuditEvent.objects.count()
    answer = answered_with_its_session_killed(
        lambda: http.post(url, json=dict(SHIFT_80_20), timeout=60),
        "IF TG_OP = 'INSERT' THEN PERFORM pg_advisory_xact_lock(1313); END IF;", "changes_changerequest")
    assert answer.status_code == 503 and answer.headers["Retry-After"] == "5", answer.content
    assert answer.json()["code"] == "database_unavailable" and "Try again" in answer.json()["detail"]

    assert ChangeRequest.objects.count() == 0 and ChangeLock.objects.count() == 0
    assert not AuditEvent.objects.filter(action="change.create").exists()
    audit_chain_ok()

    again = http.post(url, json=dict(SHIFT_80_20), timeout=60)  # the next request gets a new session
    assert again.status_code == 201, again.content
    assert ChangeRequest.objects.count() == 1
    assert AuditEvent.objects.filter(action="change.create").count() == 1
    assert AuditEvent.objects.count() > events_before
    audit_chain_ok()


def test_a_page_whose_database_session_is_killed_says_so_and_nothing_is_saved(live_server, operator):
    """The same on a page (the login form: its audit event is written inside the view): a 503 page
    that says what happened, no half-done login (no session, no auth.login event), and the next try works."""
    require_postgres()
    http = requests.Session()
    http.trust_env = False
    login = live_server.url + "/accounts/login/"
    http.get(login, timeout=30)
    form = {"username": "operator", "password": PASSWORD, "csrfmiddlewaretoken": http.cookies["csrftoken"]}
    answer = answered_with_its_session_killed(
        lambda: http.post(login, data=form, headers={"Referer": login}, timeout=60, allow_redirects=False),
        "IF NEW.action = 'auth.login' THEN PERFORM pg_advisory_xact_lock(1313); END IF;", "audit_auditevent")
    assert answer.status_code == 503 and answer.headers["Retry-After"] == "5", answer.text[:500]
    assert "The database did not answer" in answer.text and "Nothing this request" in answer.text
    assert not AuditEvent.objects.filter(action="auth.login").exists()
    assert http.get(live_server.url + "/api/me/", timeout=30).status_code in (401, 403)  # not logged in
    audit_chain_ok()

    again = http.post(login, data={**form, "csrfmiddlewaretoken": http.cookies["csrftoken"]},
                      headers={"Referer": login}, timeout=60, allow_redirects=False)
    assert again.status_code == 302, again.text[:500]
    assert http.get(live_server.url + "/api/me/", timeout=30).json()["username"] == "operator"
    assert AuditEvent.objects.filter(action="auth.login").count() == 1
    audit_chain_ok()
