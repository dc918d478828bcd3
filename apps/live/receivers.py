"""Telling live sockets to re-check, after the commit that changed someone's access.

``apps.accounts`` must not import ``apps.live``, so this module listens to Django's own model
and auth signals (and to accounts' ``api_token_revoked``, for the one change made by a queryset
update) and sends a small ``access.changed`` or ``access.ended`` message to the access groups of
the users, tokens, sessions and clusters concerned. Messages go out only after the commit
(``send_event_on_commit``): a socket that re-checked earlier would still see the old grants.
Anything these cannot see (a queryset ``update()`` elsewhere, a message lost with Redis) is
caught by the periodic re-check.
"""
from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings
from django.contrib.auth.signals import user_logged_out
from django.contrib.sessions.models import Session
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_delete, pre_save
from django.dispatch import receiver

from apps.accounts.access_signals import api_token_revoked
from apps.accounts.models import ApiToken, Grant, Team
from apps.clusters.models import Cluster
from apps.history.signals import snapshot_committed

from .access import CLOSE_NOT_AUTHENTICATED
from .events import ACCESS_CHANGED, ACCESS_ENDED, GRAPH_SNAPSHOT, send_event_on_commit
from .groups import cluster_access_group, graph_group, session_access_group, token_access_group, user_access_group

TeamMembership = Team.members.through


def _recheck(groups: Iterable[str], reason: str) -> None:
    for group in sorted(set(groups)):
        send_event_on_commit(group, {"reason": reason}, kind=ACCESS_CHANGED)


def _recheck_users(user_ids: Iterable[int], reason: str) -> None:
    _recheck((user_access_group(user_id) for user_id in user_ids), reason)


def _end_session(session_key: str | None, reason: str) -> None:
    if session_key:
        send_event_on_commit(session_access_group(session_key), {"code": CLOSE_NOT_AUTHENTICATED, "reason": reason},
                             kind=ACCESS_ENDED)


def _holders(user_id: int | None, team_id: int | None) -> set[int]:
    """The users a grant reaches: its user, or its team's members (read now)."""
    if user_id:
        return {user_id}
    if team_id:
        return set(TeamMembership.objects.filter(team_id=team_id).values_list("user_id", flat=True))
    return set()


# --- grants and teams ------------------------------------------------------------

@receiver(pre_save, sender=Grant)
def remember_previous_grant_holder(sender, instance: Grant, **kwargs) -> None:
    # A grant moved to another user or team takes access away from the one it had.
    instance._live_previous_holder = (  # type: ignore[attr-defined]  # read back in grant_saved
        Grant.objects.filter(pk=instance.pk).values_list("user_id", "team_id").first() if instance.pk else None
    )


@receiver(post_save, sender=Grant)
def grant_saved(sender, instance: Grant, **kwargs) -> None:
    users = _holders(instance.user_id, instance.team_id)
    previous = getattr(instance, "_live_previous_holder", None)
    if previous:
        users |= _holders(*previous)
    _recheck_users(users, "grant changed")


@receiver(pre_delete, sender=Grant)
def grant_deleted(sender, instance: Grant, **kwargs) -> None:
    # pre_delete: a team's members are still there when the team itself is being deleted
    # (the delete's transaction defers the message to its commit).
    _recheck_users(_holders(instance.user_id, instance.team_id), "grant deleted")


@receiver(m2m_changed, sender=TeamMembership)
def team_members_changed(sender, instance, action: str, reverse: bool, pk_set, **kwargs) -> None:
    # Forward (team.members.remove(user)): instance is the team, pk_set the users.
    # Reverse (user.teams.remove(team)): instance is the user.
    if action == "pre_clear":
        users = {instance.pk} if reverse else _holders(None, instance.pk)
    elif action in ("post_add", "post_remove"):
        users = {instance.pk} if reverse else set(pk_set or ())
    else:
        return
    _recheck_users(users, "team membership changed")


# --- users, tokens, sessions --------------------------------------------------------

@receiver(post_save, sender=settings.AUTH_USER_MODEL)
def user_saved(sender, instance, created: bool, update_fields=None, **kwargs) -> None:
    # Every login saves last_login: that changes nobody's access.
    if created or (update_fields is not None and set(update_fields) <= {"last_login"}):
        return
    _recheck_users([instance.pk], "account changed")


@receiver(post_delete, sender=settings.AUTH_USER_MODEL)
def user_deleted(sender, instance, **kwargs) -> None:
    _recheck_users([instance.pk], "account deleted")


@receiver(api_token_revoked)
def api_token_was_revoked(sender, token_id: int, **kwargs) -> None:
    _recheck([token_access_group(token_id)], "API token revoked")


@receiver(user_logged_out)
def logged_out(sender, request, user, **kwargs) -> None:
    # Sent before Django deletes the session: the socket closes without asking the database.
    _end_session(getattr(getattr(request, "session", None), "session_key", None), "You logged out.")


@receiver(post_delete, sender=Session)
def session_deleted(sender, instance: Session, **kwargs) -> None:
    # Logout, an administrator, `clearsessions`, or a key rotated at login or password change.
    _end_session(instance.session_key, "Your session ended: log in again.")


# --- tokens and clusters: re-check on every change but creation ---------------------

def _recheck_when_changed_or_deleted(model, group_of, noun: str) -> None:
    def changed(sender, instance, created: bool, **kwargs) -> None:
        if not created:  # nobody is connected through a token or to a cluster that is new
            _recheck([group_of(instance.pk)], f"{noun} changed")

    def deleted(sender, instance, **kwargs) -> None:
        _recheck([group_of(instance.pk)], f"{noun} deleted")

    post_save.connect(changed, sender=model, weak=False, dispatch_uid=f"live.{noun}.changed")
    post_delete.connect(deleted, sender=model, weak=False, dispatch_uid=f"live.{noun}.deleted")


_recheck_when_changed_or_deleted(ApiToken, token_access_group, "API token")
_recheck_when_changed_or_deleted(Cluster, cluster_access_group, "cluster")


# --- snapshots: tell the graph sockets of the cluster -------------------------------------

@receiver(snapshot_committed)
def snapshot_to_graph_sockets(sender, *, cluster_id: int, snapshot_id: int, previous_id: int | None,
                              taken_at, status: str, **kwargs) -> None:
    # One small message per cluster, whatever the number of sockets: ids and a time, no graph
    # (each ASGI process builds the graphs its sockets may see). The signal comes after the
    # snapshot's commit; on_commit still guards a sender that is inside a transaction.
    send_event_on_commit(graph_group(cluster_id), {
        "id": snapshot_id, "previous_id": previous_id, "taken_at": taken_at.timestamp(), "status": status,
    }, kind=GRAPH_SNAPSHOT)
