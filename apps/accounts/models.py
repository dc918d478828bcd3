from __future__ import annotations

import fnmatch
import hashlib
import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from .roles import Role


class Team(models.Model):
    name = models.CharField(max_length=100, unique=True)
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="teams", blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Grant(models.Model):
    """A role for a user or a team on a cluster, for namespaces matching a glob."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="grants"
    )
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.CASCADE, related_name="grants")
    cluster = models.ForeignKey("clusters.Cluster", on_delete=models.CASCADE, related_name="grants")
    namespace_pattern = models.CharField(
        max_length=253, default="*", help_text="Shell-style glob: bookinfo, team-*, *"
    )
    role = models.IntegerField(choices=Role.choices, default=Role.VIEWER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["cluster__name", "namespace_pattern"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(user__isnull=False, team__isnull=True) | Q(user__isnull=True, team__isnull=False)),
                name="grant_user_xor_team",
            ),
        ]

    def clean(self) -> None:
        if bool(self.user_id) == bool(self.team_id):
            raise ValidationError("A grant names either a user or a team, not both and not neither.")
        if not self.namespace_pattern.strip():
            raise ValidationError({"namespace_pattern": "Give a namespace or a pattern such as team-* or *."})

    def matches(self, namespace: str) -> bool:
        return fnmatch.fnmatchcase(namespace, self.namespace_pattern)

    def __str__(self) -> str:
        return self.describe()

    def describe(self) -> str:
        who = f"user {self.user}" if self.user_id else f"team {self.team}"
        return f"{who}: {self.get_role_display()} on {self.cluster}/{self.namespace_pattern}"


class LoginAttempt(models.Model):
    """Failed logins, keyed by username and client IP together (lockout)."""

    username = models.CharField(max_length=150, db_index=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    entry_point = models.CharField(max_length=40, default="login")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["username", "ip_address", "created_at"])]

    def __str__(self) -> str:
        return f"{self.username} from {self.ip_address} at {self.created_at:%Y-%m-%d %H:%M:%S}"


def _hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


class ApiToken(models.Model):
    """A bearer token. Only its hash is stored; the secret is shown once.

    Its scope bounds what it may do on top of its owner's grants: a ``read`` token
    only reads (GET, HEAD, OPTIONS), whatever roles its owner holds.
    """

    PREFIX = "mdk_"

    class Scope(models.TextChoices):
        READ = "read", "read only"
        WRITE = "write", "read and write"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    scope = models.CharField(max_length=10, choices=Scope.choices, default=Scope.READ,
                             help_text="read: GET only; write: everything its owner's grants allow")
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    key_prefix = models.CharField(max_length=12, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.key_prefix}…, {self.scope}) for {self.user}"

    @property
    def can_write(self) -> bool:
        return self.scope == self.Scope.WRITE

    @classmethod
    def new_secret(cls) -> str:
        return cls.PREFIX + secrets.token_urlsafe(32)

    @staticmethod
    def hash(raw: str) -> str:
        return _hash_token(raw)
