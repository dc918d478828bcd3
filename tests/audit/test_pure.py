"""Pure parts: redaction, the canonical hash, action names, the review's diff."""
from datetime import UTC, datetime

import pytest

from apps.audit.actions import ACTIONS, is_known, register_actions
from apps.audit.chain import GENESIS, HASH_FIELDS, event_hash, format_time
from apps.audit.redact import REDACTED, redact
from apps.auditreview.diff import diff_rows


def test_redaction_by_key_at_any_depth_keeps_ids_and_empty_values():
    data = {"password": "p", "kubeconfig": "k", "credentials": {"token": "t"}, "token_id": 3, "key_prefix": "mdk_1",
            "list": [{"client-key": "c"}, {"name": "ok"}], "Authorization": "Bearer x", "token": "", "role": "admin"}
    assert redact(data) == {
        "password": REDACTED, "kubeconfig": REDACTED, "credentials": REDACTED, "token_id": 3, "key_prefix": "mdk_1",
        "list": [{"client-key": REDACTED}, {"name": "ok"}], "Authorization": REDACTED, "token": "", "role": "admin",
    }


def _fields(**overrides):
    fields = {name: "" for name in HASH_FIELDS}
    fields.update(seq=1, created_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC), actor_user_id=None,
                  actor_token_id=None, prev_hash=GENESIS, action="auth.login")
    fields.update(overrides)
    return fields


def test_hash_covers_every_field_and_the_previous_hash():
    base = event_hash(_fields())
    assert len(base) == 64 and event_hash(_fields()) == base
    for name in HASH_FIELDS:
        if name in ("seq", "actor_user_id", "actor_token_id"):
            changed = _fields(**{name: 99})
        elif name == "created_at":
            changed = _fields(created_at=datetime(2026, 1, 2, 3, 4, 6, tzinfo=UTC))
        else:
            changed = _fields(**{name: "x"})
        assert event_hash(changed) != base, name


def test_time_always_has_microseconds_in_utc():
    assert format_time(datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)) == "2026-01-02T03:04:05.000000Z"


def test_actions_are_a_closed_list_that_apps_extend():
    assert is_known("grant.create") and not is_known("grant.created")
    try:
        register_actions({"change.submit_test": "A test action."})
        assert is_known("change.submit_test")
    finally:
        ACTIONS.pop("change.submit_test", None)
    with pytest.raises(ValueError, match="another meaning"):
        register_actions({"grant.create": "Something else."})
    with pytest.raises(ValueError, match="area.verb"):
        register_actions({"Bad Name": "x"})


def test_diff_rows_mark_added_removed_changed():
    rows = diff_rows({"role": "viewer", "gone": 1, "same": "a"}, {"role": "admin", "new": [1], "same": "a"})
    assert [(r.key, r.before, r.after, r.change) for r in rows] == [
        ("gone", "1", "", "removed"), ("new", "", "[1]", "added"), ("role", "viewer", "admin", "changed"),
        ("same", "a", "a", "same"),
    ]
    assert diff_rows(None, None) == []
