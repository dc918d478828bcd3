"""python manage.py user add|update|deactivate|list ... (each change audited)"""
import os

from django.contrib.auth import get_user_model
from django.core.management.base import CommandError

from apps.accounts.services import user_create, user_deactivate, user_update
from apps.audit.commands import AuditedCommand


class Command(AuditedCommand):
    help = "Manage users from the command line; the password comes from an environment variable, never argv."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        add = sub.add_parser("add", help="Create a user")
        add.add_argument("username")
        add.add_argument("--password-env", required=True, metavar="VAR",
                         help="Name of the environment variable holding the password")
        add.add_argument("--email", default="")
        add.add_argument("--team", action="append", default=[], help="Join this team (created if new); repeatable")
        add.add_argument("--superuser", action="store_true")
        pw = sub.add_parser("password", help="Set a user's password")
        pw.add_argument("username")
        pw.add_argument("--password-env", required=True, metavar="VAR")
        off = sub.add_parser("deactivate", help="Stop a user from logging in (kept for the audit trail)")
        off.add_argument("username")
        sub.add_parser("list", help="List users")

    def _password(self, var: str) -> str:
        value = os.environ.get(var)
        if not value:
            raise CommandError(f"The environment variable {var} is not set or empty; put the password there.")
        return value

    def _user(self, username: str):
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user named '{username}'.")
        return user

    def do_add(self, username, password_env, email, team, superuser, **_):
        user = user_create(username=username, password=self._password(password_env), email=email, teams=team,
                           is_superuser=superuser)
        teams = f" in {', '.join(team)}" if team else ""
        self.stdout.write(self.style.SUCCESS(f"Created user {user.get_username()}{teams}."))

    def do_password(self, username, password_env, **_):
        user_update(user=self._user(username), password=self._password(password_env))
        self.stdout.write(self.style.SUCCESS(f"Password of {username} changed."))

    def do_deactivate(self, username, **_):
        user_deactivate(user=self._user(username))
        self.stdout.write(self.style.SUCCESS(f"{username} can no longer log in."))

    def do_list(self, **_):
        for user in get_user_model().objects.order_by("username").prefetch_related("teams"):
            flags = ",".join(f for f, on in (("superuser", user.is_superuser), ("inactive", not user.is_active)) if on)
            teams = ",".join(t.name for t in user.teams.all())
            self.stdout.write(f"{user.username:20} {flags or '-':20} {teams or '-'}")
