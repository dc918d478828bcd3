"""python manage.py token create|list|revoke ... (each change audited; the secret is printed once)"""
from django.contrib.auth import get_user_model
from django.core.management.base import CommandError

from apps.accounts.models import ApiToken
from apps.accounts.services import api_token_create, token_revoke
from apps.audit.commands import AuditedCommand


class Command(AuditedCommand):
    help = "Create, list and revoke API tokens for a user (read-only unless --scope write)."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="Create a token; its secret is printed once")
        create.add_argument("username")
        create.add_argument("--name", required=True, help="What the token is for, e.g. 'ci'")
        create.add_argument("--scope", choices=ApiToken.Scope.values, default=ApiToken.Scope.READ,
                            help="read (default): GET only; write: whatever the user's grants allow")
        create.add_argument("--expires-in-days", type=int, default=None, metavar="N")
        listing = sub.add_parser("list", help="List a user's tokens that are not revoked")
        listing.add_argument("username")
        revoke = sub.add_parser("revoke", help="Revoke a token by its id (from 'list')")
        revoke.add_argument("token_id", type=int)

    def _user(self, username: str):
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user named '{username}'.")
        return user

    def do_create(self, username, name, scope, expires_in_days, **_):
        if expires_in_days is not None and not 1 <= expires_in_days <= 365:
            raise CommandError("--expires-in-days must be between 1 and 365.")
        token, secret = api_token_create(user=self._user(username), name=name, scope=scope,
                                         expires_in_days=expires_in_days)
        self.stderr.write(f"Created token {token.pk} '{name}' ({token.get_scope_display()}) for {username}. "
                          "Copy it now: it is not shown again.")
        self.stdout.write(secret)

    def do_list(self, username, **_):
        tokens = ApiToken.objects.filter(user=self._user(username), revoked_at__isnull=True)
        if not tokens:
            self.stdout.write(f"{username} has no tokens.")
        for t in tokens:
            expires = f"{t.expires_at:%Y-%m-%d}" if t.expires_at else "never"
            self.stdout.write(f"{t.pk:6}  {t.name:20} {t.scope:6} {t.key_prefix}…  expires {expires}")

    def do_revoke(self, token_id, **_):
        token = ApiToken.objects.select_related("user").filter(pk=token_id).first()
        if token is None:
            raise CommandError(f"No token with id {token_id}.")
        if not token_revoke(token=token):
            raise CommandError(f"Token {token_id} is already revoked.")
        self.stdout.write(self.style.SUCCESS(f"Token {token_id} revoked."))
