"""The stable action names an audit event may carry (docs/audit.md lists them).

Names are ``<area>.<verb>``. They are part of the trail's meaning: never rename
one, add a new one. Apps above audit register theirs from AppConfig.ready()
with ``register_actions`` (the changes app adds ``change.*`` that way), so a
typo in a service fails loudly instead of inventing a new name.
"""
from __future__ import annotations

import re

_NAME = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")

ACTIONS: dict[str, str] = {
    "auth.login": "A person logged in (detail: login page, admin or api token issue).",
    "auth.login_failed": "A login was refused: wrong password, unknown user, or locked out (outcome denied).",
    "auth.lockout": "Too many failed logins: this username is locked out from this address.",
    "auth.logout": "A person logged out.",
    "token.create": "An API token was created (its secret is never recorded).",
    "token.revoke": "An API token was revoked.",
    "user.create": "A user account was created.",
    "user.update": "A user's attributes changed (email, staff/superuser, password set: value never recorded).",
    "user.deactivate": "A user account was deactivated (it can no longer log in).",
    "team.create": "A team was created.",
    "team.update": "A team was renamed.",
    "team.delete": "A team was deleted (its grants with it).",
    "team.member_add": "A user joined a team.",
    "team.member_remove": "A user left a team.",
    "grant.create": "A role on a cluster's namespaces was granted to a user or team.",
    "grant.update": "A grant's role or namespace pattern changed.",
    "grant.delete": "A grant was removed.",
    "cluster.create": "A cluster was registered.",
    "cluster.update": "A cluster's settings changed.",
    "cluster.delete": "A cluster was removed.",
    "cluster.credentials_changed": "A cluster's credentials were replaced (values never recorded).",
    "cluster.test": "A person ran a cluster's connection test.",
    "admin.override": "An admin acted outside the normal rules (e.g. cleared a lockout, applied without review).",
    "audit.verify": "The chain and its checkpoints were verified (outcome failed: where and why).",
    "audit.archive": "Old events were exported with their chain proof and pruned.",
}


def register_actions(actions: dict[str, str]) -> None:
    """Adds action names (call from an AppConfig.ready()). Re-registering the same text is fine."""
    for name, description in actions.items():
        if not _NAME.match(name):
            raise ValueError(f"Audit action {name!r} must look like 'area.verb' (lowercase, dotted).")
        if ACTIONS.get(name, description) != description:
            raise ValueError(f"Audit action {name!r} is already registered with another meaning.")
        ACTIONS[name] = description


def is_known(action: str) -> bool:
    return action in ACTIONS
