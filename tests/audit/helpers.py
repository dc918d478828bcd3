"""Reading the trail in tests."""
from __future__ import annotations

from apps.audit.models import AuditEvent


def events(action: str | None = None, **filters):
    qs = AuditEvent.objects.order_by("seq")
    if action:
        qs = qs.filter(action=action)
    return list(qs.filter(**filters))


def only(action: str, **filters) -> AuditEvent:
    found = events(action, **filters)
    assert len(found) == 1, f"expected exactly one {action} event, found {len(found)}: {found}"
    return found[0]


def all_text() -> str:
    """Every stored column of every event, for 'no secret anywhere' checks."""
    return "\n".join(
        " ".join(str(v) for v in row) for row in AuditEvent.objects.values_list()
    )
