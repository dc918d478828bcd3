"""Writes for accounts: logins, tokens, users, teams, grants. Each one writes
its audit event in the same transaction (apps.audit.services.audit_record)."""
from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from functools import wraps

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from apps.audit.actor import Actor, actor_from_request
from apps.audit.services import Target, assign_changes, audit_denied, audit_record
from apps.core.client_ip import client_ip
from apps.core.errors import FieldInputError, MeshdeckError

from .access_signals import api_token_revoked
from .lockout import clear_failures, recent_failures
from .models import ApiToken, Grant, LoginAttempt, Team
from .ratelimit import failure_counted
from .roles import Role


class AccountInputError(FieldInputError):
    """Bad input for a user, team or grant; ``field`` names the offending field."""


class LastAdminError(MeshdeckError):
    """The change would leave nobody able to manage users and teams, or a cluster's grants."""

    code = "last_admin"
    http_status = 409


def _active_superusers():
    return get_user_model().objects.filter(is_superuser=True, is_active=True)


def refuse_losing_the_last_superuser(user, changes: dict) -> None:
    """Raises LastAdminError if ``changes`` (is_superuser/is_active) would take away the last
    active superuser: nobody could then manage clusters, users and teams (or undo it)."""
    if not (user.pk and user.is_active and user.is_superuser):
        return
    if changes.get("is_superuser", True) and changes.get("is_active", True):
        return
    # Locks the superusers' rows: two of them demoting each other at once cannot both succeed.
    superusers = _active_superusers()
    if transaction.get_connection().in_atomic_block:
        superusers = superusers.select_for_update()
    others = [pk for pk in superusers.values_list("pk", flat=True) if pk != user.pk]
    if not others:
        what = "deactivate" if changes.get("is_active", True) is False else "remove the superuser flag of"
        raise LastAdminError(
            f"You cannot {what} {user.get_username()}: it is the last active superuser, and nobody could manage "
            f"clusters, users and teams any more. Make another user a superuser first.")


def _gives_cluster_admin(role, pattern: str) -> bool:
    return role is not None and int(role) >= Role.ADMIN and pattern == "*"


def _cluster_admin_remains(grant: Grant) -> bool:
    """Someone other than this grant still manages the grant's cluster (an active superuser, or
    another admin-on-'*' grant held by an active user or a team with an active member)."""
    if _active_superusers().exists():
        return True
    in_atomic = transaction.get_connection().in_atomic_block
    grants = Grant.objects.select_for_update(of=("self",)) if in_atomic else Grant.objects
    others = (grants.filter(cluster_id=grant.cluster_id, role__gte=Role.ADMIN,
                                                       namespace_pattern="*").exclude(pk=grant.pk))
    for other in others.select_related("user", "team"):
        if other.user is not None and other.user.is_active:
            return True
        if other.team is not None and other.team.members.filter(is_active=True).exists():
            return True
    return False


def refuse_losing_the_last_cluster_admin(grant: Grant, *, role=None, namespace_pattern: str | None = None,
                                         deleting: bool = False) -> None:
    """Raises LastAdminError if the change takes away the cluster's last admin."""
    if not grant.pk or not _gives_cluster_admin(grant.role, grant.namespace_pattern):
        return
    if not deleting and _gives_cluster_admin(grant.role if role is None else role,
                                             grant.namespace_pattern if namespace_pattern is None
                                             else namespace_pattern.strip()):
        return
    if _cluster_admin_remains(grant):
        return
    holder = f"user {grant.user.get_username()}" if grant.user is not None else \
        f"team {grant.team.name if grant.team is not None else '?'}"
    raise LastAdminError(
        f"This grant makes {holder} the last admin of cluster {grant.cluster.name}: "
        f"{'deleting' if deleting else 'changing'} it would leave nobody to manage the cluster's settings and "
        f"grants. Grant admin on '*' to someone else first.")


def _refused_audited(action: str, target_of):
    """Runs the service; a LastAdminError is recorded as a denied attempt (after the rollback)."""
    def decorate(func):
        @wraps(func)
        def wrapper(**kwargs):
            try:
                return func(**kwargs)
            except LastAdminError as exc:
                audit_denied(action, actor=kwargs.get("actor"), target=target_of(kwargs), message=exc.message)
                raise
        return wrapper
    return decorate


def user_target(user) -> Target:
    return Target(type="user", name=user.get_username(), id=user.pk)


def team_target(team: Team) -> Target:
    return Target(type="team", name=team.name, id=team.pk)


def grant_target(grant: Grant) -> Target:
    # Cluster-scoped (no namespace): the cluster's admins read grant events.
    return Target(type="grant", name=grant.describe(), cluster=grant.cluster.name, id=grant.pk)


def grant_snapshot(grant: Grant) -> dict:
    return {
        "user": grant.user.get_username() if grant.user is not None else None,
        "team": grant.team.name if grant.team is not None else None,
        "cluster": grant.cluster.name,
        "namespace_pattern": grant.namespace_pattern,
        "role": Role(grant.role).label,
    }


def _user_snapshot(user) -> dict:
    return {
        "username": user.get_username(), "email": user.email, "first_name": user.first_name,
        "last_name": user.last_name, "is_active": user.is_active, "is_staff": user.is_staff,
        "is_superuser": user.is_superuser,
    }


# --- logins ----------------------------------------------------------------

@transaction.atomic
def login_succeeded(*, user, request, entry_point: str) -> None:
    """A login (page, admin or API token issue): clears the (user, IP) failures."""
    clear_failures(user.get_username(), client_ip(request))
    audit_record("auth.login", actor=actor_from_request(request, user=user, detail=entry_point),
                 target=user_target(user))


def _attempted_target(username: str) -> Target:
    known = get_user_model().objects.filter(username__iexact=username).values_list("pk", flat=True).first()
    return Target(type="user", name=username[:150], id=known or "")


@transaction.atomic
def login_failed(*, username: str, request, entry_point: str) -> None:
    """A wrong password or unknown user; at the threshold, the lockout too."""
    ip = client_ip(request)
    LoginAttempt.objects.create(username=username[:150], ip_address=ip, entry_point=entry_point)
    actor = actor_from_request(request, detail=entry_point)
    target = _attempted_target(username)
    audit_record("auth.login_failed", actor=actor, target=target, outcome="denied",
                 message="wrong username or password")
    if recent_failures(username, ip) == settings.LOCKOUT_THRESHOLD:
        audit_record("auth.lockout", actor=actor, target=target,
                     after={"ip": ip, "failures": settings.LOCKOUT_THRESHOLD,
                            "window_minutes": settings.LOCKOUT_WINDOW_MINUTES})
    if failure_counted(ip) == settings.LOGIN_RATE_LIMIT:  # once per window, not per refused attempt
        audit_record("auth.rate_limited", actor=actor, target=Target(type="address", name=ip or "unknown"),
                     outcome="denied", message="too many failed logins from this address",
                     after={"ip": ip, "failures": settings.LOGIN_RATE_LIMIT,
                            "window_seconds": settings.LOGIN_RATE_LIMIT_WINDOW_SECONDS})


def login_refused_locked_out(*, username: str, request, entry_point: str) -> None:
    audit_record("auth.login_failed", actor=actor_from_request(request, detail=entry_point),
                 target=_attempted_target(username), outcome="denied", message="locked out")


def logout_recorded(*, user, request) -> None:
    audit_record("auth.logout", actor=actor_from_request(request, user=user), target=user_target(user))


@transaction.atomic
def lockout_clear(*, attempts) -> int:
    """An admin forgets failed attempts (unlocks): outside the normal rules."""
    rows = list(attempts.values_list("username", "ip_address").distinct())
    count = attempts.count()
    attempts.delete()
    audit_record("admin.override", target=Target(type="lockout", name=", ".join(sorted({u for u, _ in rows}))),
                 before={"failed_attempts": count, "keys": [{"username": u, "ip": ip} for u, ip in rows]},
                 after={"failed_attempts": 0}, message="lockout cleared")
    return count


# --- tokens ----------------------------------------------------------------

def _token_target(token: ApiToken) -> Target:
    return Target(type="token", name=f"{token.user.get_username()}/{token.name}", id=token.pk)


@transaction.atomic
def api_token_create(*, user, name: str, expires_in_days: int | None = None,
                     scope: str = ApiToken.Scope.READ) -> tuple[ApiToken, str]:
    """Creates a token and returns it with its secret (shown once, never stored).

    ``scope`` is ``read`` (the default: GET only) or ``write`` (whatever the owner's grants allow)."""
    if scope not in ApiToken.Scope.values:
        raise AccountInputError("scope", f"A token's scope is one of: {', '.join(ApiToken.Scope.values)}.")
    secret = ApiToken.new_secret()
    token = ApiToken.objects.create(
        user=user,
        name=name,
        scope=scope,
        key_hash=ApiToken.hash(secret),
        key_prefix=secret[:10],
        expires_at=timezone.now() + timedelta(days=expires_in_days) if expires_in_days else None,
    )
    audit_record("token.create", target=_token_target(token),
                 after={"name": name, "key_prefix": token.key_prefix, "expires_at": token.expires_at,
                        "user": user.get_username(), "scope": scope})
    return token, secret


@transaction.atomic
def api_token_revoke(*, user, token_id: int) -> bool:
    """Revokes one of ``user``'s own tokens; False if there is none to revoke."""
    token = ApiToken.objects.select_for_update().filter(pk=token_id, user=user, revoked_at__isnull=True).first()
    if token is None:
        return False
    return token_revoke(token=token)


@transaction.atomic
def token_revoke(*, token: ApiToken) -> bool:
    """Revokes any token (its owner, or an admin)."""
    updated = ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
    if updated:
        audit_record("token.revoke", target=_token_target(token), before={"revoked": False}, after={"revoked": True})
        # A queryset update sends no post_save: live sockets on this token hear it from here.
        api_token_revoked.send(sender=ApiToken, token_id=token.pk)
    return bool(updated)


# --- users -----------------------------------------------------------------

def _check_password(password: str, user) -> None:
    try:
        validate_password(password, user=user)
    except ValidationError as exc:
        raise AccountInputError("password", " ".join(exc.messages)) from exc


@transaction.atomic
def user_create(*, username: str, password: str | None, email: str = "", teams: Iterable[str] = (),
                is_superuser: bool = False, actor: Actor | None = None) -> object:
    """A user (with a checked password; None: no usable password), joining ``teams`` (created if new)."""
    User = get_user_model()
    username = (username or "").strip()
    if not username:
        raise AccountInputError("username", "Give a username.")
    if User.objects.filter(username__iexact=username).exists():
        raise AccountInputError("username", f"A user named '{username}' already exists.")
    user = User(username=username, email=email or "", is_superuser=is_superuser, is_staff=is_superuser)
    try:
        user.full_clean(exclude=["password"])
    except ValidationError as exc:
        field, messages = next(iter(exc.message_dict.items()))
        raise AccountInputError(field, " ".join(messages)) from exc
    if password is None:
        user.set_unusable_password()
    else:
        _check_password(password, user)
        user.set_password(password)
    user.save()
    audit_record("user.create", actor=actor, target=user_target(user),
                 after={**_user_snapshot(user), "password": "set" if password else None})
    for name in teams:
        team = Team.objects.filter(name=name).first() or team_create(name=name, actor=actor)
        team_member_add(team=team, user=user, actor=actor)
    return user


_USER_FIELDS = ("email", "first_name", "last_name", "is_active", "is_staff", "is_superuser")


@_refused_audited("user.update", lambda kw: user_target(kw["user"]))
@transaction.atomic
def user_update(*, user, password: str | None = None, actor: Actor | None = None, **changes) -> object:
    """Changes ``email``, names, ``is_staff``/``is_superuser``/``is_active`` or the password.

    Refuses (LastAdminError, 409) to demote or deactivate the last active superuser."""
    unknown = set(changes) - set(_USER_FIELDS)
    if unknown:
        raise AccountInputError(sorted(unknown)[0], f"Cannot change {', '.join(sorted(unknown))} of a user.")
    refuse_losing_the_last_superuser(user, changes)
    before, after = assign_changes(user, changes)
    if password is not None:
        _check_password(password, user)
        user.set_password(password)
        before["password"], after["password"] = "old", "new"  # redacted by key: only "it changed"
    if not after:
        return user
    user.save()
    action = "user.deactivate" if after == {"is_active": False} else "user.update"
    audit_record(action, actor=actor, target=user_target(user), before=before, after=after)
    return user


def user_deactivate(*, user, actor: Actor | None = None) -> object:
    try:
        return _user_update_unaudited_refusal(user=user, is_active=False, actor=actor)
    except LastAdminError as exc:
        audit_denied("user.deactivate", actor=actor, target=user_target(user), message=exc.message)
        raise


_user_update_unaudited_refusal = user_update.__wrapped__  # the atomic service, without the refusal event


# --- teams -----------------------------------------------------------------

@transaction.atomic
def team_create(*, name: str, actor: Actor | None = None) -> Team:
    name = (name or "").strip()
    if not name:
        raise AccountInputError("name", "Give the team a name.")
    if Team.objects.filter(name=name).exists():
        raise AccountInputError("name", f"A team named '{name}' already exists.")
    team = Team.objects.create(name=name)
    audit_record("team.create", actor=actor, target=team_target(team), after={"name": name})
    return team


@transaction.atomic
def team_update(*, team: Team, name: str, actor: Actor | None = None) -> Team:
    name = (name or "").strip()
    if not name:
        raise AccountInputError("name", "Give the team a name.")
    if name == team.name:
        return team
    if Team.objects.filter(name=name).exclude(pk=team.pk).exists():
        raise AccountInputError("name", f"A team named '{name}' already exists.")
    before = team.name
    team.name = name
    team.save(update_fields=["name"])
    audit_record("team.update", actor=actor, target=team_target(team), before={"name": before}, after={"name": name})
    return team


@transaction.atomic
def team_delete(*, team: Team, actor: Actor | None = None) -> None:
    grants = [grant_snapshot(g) for g in team.grants.select_related("cluster", "team")]
    members = sorted(team.members.values_list("username", flat=True))
    target = team_target(team)
    team.delete()
    audit_record("team.delete", actor=actor, target=target,
                 before={"name": target.name, "members": members, "grants": grants})


@transaction.atomic
def team_member_add(*, team: Team, user, actor: Actor | None = None) -> bool:
    if team.members.filter(pk=user.pk).exists():
        return False
    team.members.add(user)
    audit_record("team.member_add", actor=actor, target=team_target(team), after={"member": user.get_username()})
    return True


@transaction.atomic
def team_member_remove(*, team: Team, user, actor: Actor | None = None) -> bool:
    if not team.members.filter(pk=user.pk).exists():
        return False
    team.members.remove(user)
    audit_record("team.member_remove", actor=actor, target=team_target(team),
                 before={"member": user.get_username()})
    return True


@transaction.atomic
def team_set_members(*, team: Team, users: Iterable, actor: Actor | None = None) -> None:
    """Makes the members exactly ``users`` (one event per member added or removed)."""
    wanted = {u.pk: u for u in users}
    current = {u.pk: u for u in team.members.all()}
    for pk in sorted(set(current) - set(wanted)):
        team_member_remove(team=team, user=current[pk], actor=actor)
    for pk in sorted(set(wanted) - set(current)):
        team_member_add(team=team, user=wanted[pk], actor=actor)


# --- grants ----------------------------------------------------------------

def _validated(grant: Grant) -> Grant:
    try:
        grant.full_clean()
    except ValidationError as exc:
        field, messages = next(iter(exc.message_dict.items()))
        raise AccountInputError("non_field_errors" if field == "__all__" else field, " ".join(messages)) from exc
    return grant


def _duplicate(grant: Grant) -> bool:
    return Grant.objects.filter(cluster=grant.cluster, user=grant.user, team=grant.team,
                                namespace_pattern=grant.namespace_pattern).exclude(pk=grant.pk).exists()


@transaction.atomic
def grant_create(*, cluster, role: Role, namespace_pattern: str = "*", user=None, team: Team | None = None,
                 actor: Actor | None = None) -> Grant:
    grant = _validated(Grant(cluster=cluster, role=role, namespace_pattern=(namespace_pattern or "").strip(),
                             user=user, team=team))
    if _duplicate(grant):
        raise AccountInputError("namespace_pattern", f"{grant.describe()} exists already; change its role instead.")
    grant.save()
    audit_record("grant.create", actor=actor, target=grant_target(grant), after=grant_snapshot(grant))
    return grant


@_refused_audited("grant.update", lambda kw: grant_target(kw["grant"]))
@transaction.atomic
def grant_update(*, grant: Grant, role: Role | None = None, namespace_pattern: str | None = None,
                 actor: Actor | None = None) -> Grant:
    """Refuses (LastAdminError, 409) to take away the cluster's last admin."""
    refuse_losing_the_last_cluster_admin(grant, role=role, namespace_pattern=namespace_pattern)
    before = grant_snapshot(grant)
    if role is not None:
        grant.role = role
    if namespace_pattern is not None:
        grant.namespace_pattern = namespace_pattern.strip()
    _validated(grant)
    if _duplicate(grant):
        raise AccountInputError("namespace_pattern", f"{grant.describe()} exists already.")
    after = grant_snapshot(grant)
    if after == before:
        return grant
    grant.save()
    audit_record("grant.update", actor=actor, target=grant_target(grant), before=before, after=after)
    return grant


@_refused_audited("grant.delete", lambda kw: grant_target(kw["grant"]))
@transaction.atomic
def grant_delete(*, grant: Grant, actor: Actor | None = None) -> None:
    """Refuses (LastAdminError, 409) to delete the cluster's last admin grant."""
    refuse_losing_the_last_cluster_admin(grant, deleting=True)
    target, before = grant_target(grant), grant_snapshot(grant)
    grant.delete()
    audit_record("grant.delete", actor=actor, target=target, before=before)
