"""Users, grants and the trail from the command line; every change is an event by a command actor."""
import csv
import io
import json

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError

from apps.accounts.models import Grant, Team
from apps.accounts.roles import Role

from .helpers import events, only

pytestmark = [pytest.mark.postgres, pytest.mark.usefixtures("pg")]


def _run(*args) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_user_add_takes_the_password_from_the_environment(monkeypatch, db):
    monkeypatch.setenv("NEW_PW", "Correct-horse-77-battery")
    assert "Created user gina in ops" in _run("user", "add", "gina", "--password-env", "NEW_PW", "--email",
                                              "g@example.com", "--team", "ops")
    user = get_user_model().objects.get(username="gina")
    assert user.check_password("Correct-horse-77-battery") and user.email == "g@example.com"
    assert list(Team.objects.get(name="ops").members.all()) == [user]
    created = only("user.create")
    assert (created.actor_auth, created.actor_detail) == ("command", "user add")
    assert created.actor_username.endswith("@manage.py")
    assert "Correct-horse" not in created.after_json


def test_user_add_explains_what_is_wrong(monkeypatch, db):
    with pytest.raises(CommandError, match="NOPE is not set"):
        _run("user", "add", "hal", "--password-env", "NOPE")
    monkeypatch.setenv("WEAK", "abc")
    with pytest.raises(CommandError, match="too short"):
        _run("user", "add", "hal", "--password-env", "WEAK")
    assert not get_user_model().objects.filter(username="hal").exists() and not events()


def test_grant_add_list_remove(sim_cluster, make_user):
    make_user("ivan")
    assert "Granted user ivan: operator on demo/team-*" in _run(
        "grant", "add", "--user", "ivan", "--cluster", "demo", "--namespaces", "team-*", "--role", "operator")
    grant = Grant.objects.get(user__username="ivan")
    assert grant.role == Role.OPERATOR
    assert "team-*" in _run("grant", "list", "--cluster", "demo")
    created = only("grant.create")
    assert (created.actor_detail, created.target_cluster) == ("grant add", "demo")
    assert "Removed" in _run("grant", "remove", "--user", "ivan", "--cluster", "demo", "--namespaces", "team-*")
    assert not Grant.objects.filter(user__username="ivan").exists()
    assert only("grant.delete").actor_detail == "grant remove"


def test_grant_add_refuses_unknown_names_and_duplicates(sim_cluster, make_user):
    make_user("judy")
    with pytest.raises(CommandError, match="No cluster named 'nope'"):
        _run("grant", "add", "--user", "judy", "--cluster", "nope", "--namespaces", "*", "--role", "viewer")
    with pytest.raises(CommandError, match="No team named 'ghosts'"):
        _run("grant", "add", "--team", "ghosts", "--cluster", "demo", "--namespaces", "*", "--role", "viewer")
    _run("grant", "add", "--user", "judy", "--cluster", "demo", "--namespaces", "a", "--role", "viewer")
    with pytest.raises(CommandError, match="exists already"):
        _run("grant", "add", "--user", "judy", "--cluster", "demo", "--namespaces", "a", "--role", "admin")
    assert len(events("grant.create")) == 1


def test_seed_demo_goes_through_the_services_as_a_command(db):
    _run("seed_demo")
    assert {e.action for e in events()} == {"cluster.create", "user.create", "grant.create"}
    assert {e.actor_detail for e in events()} == {"seed_demo"}
    assert len(events("user.create")) == 4 and len(events("grant.create")) == 4
    _run("seed_demo")  # again: nothing new, nothing recorded
    assert len(events()) == 9
    _run("seed_demo", "--reset-passwords")
    assert len(events("user.update")) == 4
    assert all("password" in e.after for e in events("user.update"))


def test_export_csv_and_jsonl_with_filters(tmp_path, sim_cluster, make_user):
    make_user("kim")
    _run("grant", "add", "--user", "kim", "--cluster", "demo", "--namespaces", "x", "--role", "viewer")
    _run("grant", "remove", "--user", "kim", "--cluster", "demo", "--namespaces", "x")
    out = tmp_path / "e.csv"
    _run("audit", "export", "--format", "csv", "--action", "grant.*", "--output", str(out))
    rows = list(csv.DictReader(out.open()))
    assert [r["action"] for r in rows] == ["grant.create", "grant.delete"]
    assert json.loads(rows[0]["after"])["user"] == "kim"
    out = tmp_path / "e.jsonl"
    _run("audit", "export", "--format", "jsonl", "--action", "grant.delete", "--output", str(out))
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [line["action"] for line in lines] == ["grant.delete"] and lines[0]["hash"]
    with pytest.raises(CommandError, match="since must be a date"):
        _run("audit", "export", "--since", "yesterday")
