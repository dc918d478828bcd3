"""python manage.py token create|list|revoke ... (each change audited; the secret is printed once)"""
from django.core.management.base import CommandError

from apps.accounts.management import existing_user
from apps.accounts.models import ApiToken
from apps.accounts.services import api_token_create, token_revoke
from apps.audit.commands import AuditedCommand
from apps.core.commands import arg, subcommand


class Command(AuditedCommand):
    help = "Create, list and revoke API tokens for a user (read-only unless --scope write)."

    @subcommand("Create a token; its secret is printed once",
                arg("username"),
                arg("--name", required=True, help="What the token is for, e.g. 'ci'"),
                arg("--scope", choices=ApiToken.Scope.values, default=ApiToken.Scope.READ,
                    help="read (default): GET only; write: whatever the user's grants allow"),
                arg("--expires-in-days", type=int, default=None, metavar="N"))
    def do_create(self, username, name, scope, expires_in_days, **_):
        if expires_in_days is not None and not 1 <= expires_in_days <= 365:
            raise CommandError("--expires-in-days must be between 1 and 365.")
        token, secret = api_token_create(user=existing_user(username), name=name, scope=scope,
                                         expires_in_days=expires_in_days)
        self.stderr.write(f"Created token {token.pk} '{name}' ({token.get_scope_display()}) for {username}. "
                          "Copy it now: it is not shown again.")
        self.stdout.write(secret)

    @subcommand("List a user's tokens that are not revoked", arg("username"))
    def do_list(self, username, **_):
        tokens = ApiToken.objects.filter(user=existing_user(username), revoked_at__isnull=True)
        if not tokens:
            self.stdout.write(f"{username} has no tokens.")
        for t in tokens:
            expires = f"{t.expires_at:%Y-%m-%d}" if t.expires_at else "never"
            self.stdout.write(f"{t.pk:6}  {t.name:20} {t.scope:6} {t.key_prefix}…  expires {expires}")

    @subcommand("Revoke a token by its id (from 'list')", arg("token_id", type=int))
    def do_revoke(self, token_id, **_):
        token = ApiToken.objects.select_related("user").filter(pk=token_id).first()
        if token is None:
            raise CommandError(f"No token with id {token_id}.")
        if not token_revoke(token=token):
            raise CommandError(f"Token {token_id} is already revoked.")
        self.stdout.write(self.style.SUCCESS(f"Token {token_id} revoked."))
