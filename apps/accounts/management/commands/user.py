"""python manage.py user add|update|deactivate|list ... (each change audited)"""
import os

from django.contrib.auth import get_user_model
from django.core.management.base import CommandError

from apps.accounts.management import existing_user
from apps.accounts.services import user_create, user_deactivate, user_update
from apps.audit.commands import AuditedCommand
from apps.core.commands import arg, subcommand


class Command(AuditedCommand):
    help = "Manage users from the command line; the password comes from an environment variable, never argv."

    def _password(self, var: str) -> str:
        value = os.environ.get(var)
        if not value:
            raise CommandError(f"The environment variable {var} is not set or empty; put the password there.")
        return value

    @subcommand("Create a user",
                arg("username"),
                arg("--password-env", required=True, metavar="VAR",
                    help="Name of the environment variable holding the password"),
                arg("--email", default=""),
                arg("--team", action="append", default=[], help="Join this team (created if new); repeatable"),
                arg("--superuser", action="store_true"))
    def do_add(self, username, password_env, email, team, superuser, **_):
        user = user_create(username=username, password=self._password(password_env), email=email, teams=team,
                           is_superuser=superuser)
        teams = f" in {', '.join(team)}" if team else ""
        self.stdout.write(self.style.SUCCESS(f"Created user {user.get_username()}{teams}."))

    @subcommand("Set a user's password", arg("username"), arg("--password-env", required=True, metavar="VAR"))
    def do_password(self, username, password_env, **_):
        user_update(user=existing_user(username), password=self._password(password_env))
        self.stdout.write(self.style.SUCCESS(f"Password of {username} changed."))

    @subcommand("Stop a user from logging in (kept for the audit trail)", arg("username"))
    def do_deactivate(self, username, **_):
        user_deactivate(user=existing_user(username))
        self.stdout.write(self.style.SUCCESS(f"{username} can no longer log in."))

    @subcommand("List users")
    def do_list(self, **_):
        for user in get_user_model().objects.order_by("username").prefetch_related("teams"):
            flags = ",".join(f for f, on in (("superuser", user.is_superuser), ("inactive", not user.is_active)) if on)
            teams = ",".join(t.name for t in user.teams.all())
            self.stdout.write(f"{user.username:20} {flags or '-':20} {teams or '-'}")
