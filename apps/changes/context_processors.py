"""The sidebar's badge: how many change requests wait for this user's review (settings.TEMPLATES)."""
from __future__ import annotations

from .selectors import waiting_for_review


def nav_changes_waiting(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"nav_changes_waiting": len(waiting_for_review(user))}
