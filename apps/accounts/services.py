"""Writes for accounts: tokens, teams, grants."""
from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from .models import ApiToken, Grant, Team
from .roles import Role


@transaction.atomic
def api_token_create(*, user, name: str, expires_in_days: int | None = None) -> tuple[ApiToken, str]:
    """Creates a token and returns it with its secret (shown once, never stored)."""
    secret = ApiToken.new_secret()
    token = ApiToken.objects.create(
        user=user,
        name=name,
        key_hash=ApiToken.hash(secret),
        key_prefix=secret[:10],
        expires_at=timezone.now() + timedelta(days=expires_in_days) if expires_in_days else None,
    )
    return token, secret


def api_token_revoke(*, user, token_id: int) -> bool:
    return bool(
        ApiToken.objects.filter(pk=token_id, user=user, revoked_at__isnull=True).update(revoked_at=timezone.now())
    )


@transaction.atomic
def grant_create(*, cluster, role: Role, namespace_pattern: str = "*", user=None, team: Team | None = None) -> Grant:
    grant = Grant(cluster=cluster, role=role, namespace_pattern=namespace_pattern, user=user, team=team)
    grant.full_clean()
    grant.save()
    return grant
