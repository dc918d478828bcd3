"""python manage.py grant add|remove|list ... (each change audited)"""
from django.contrib.auth import get_user_model
from django.core.management.base import CommandError

from apps.accounts.models import Grant, Team
from apps.accounts.roles import Role
from apps.accounts.services import grant_create, grant_delete
from apps.audit.commands import AuditedCommand
from apps.clusters.models import Cluster

ROLES = [r.label for r in Role]


class Command(AuditedCommand):
    help = "Grant a user or a team a role on a cluster's namespaces (shell-style pattern)."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        for name, text in (("add", "Add a grant"), ("remove", "Remove a grant")):
            p = sub.add_parser(name, help=text)
            who = p.add_mutually_exclusive_group(required=True)
            who.add_argument("--user")
            who.add_argument("--team")
            p.add_argument("--cluster", required=True)
            p.add_argument("--namespaces", required=True, metavar="PATTERN", help="bookinfo, team-*, *")
            if name == "add":
                p.add_argument("--role", required=True, choices=ROLES)
        ls = sub.add_parser("list", help="List grants")
        ls.add_argument("--cluster")
        ls.add_argument("--user")
        ls.add_argument("--team")

    def _who(self, user, team):
        if user:
            found = get_user_model().objects.filter(username=user).first()
            if found is None:
                raise CommandError(f"No user named '{user}' (create one with: manage.py user add {user} ...).")
            return {"user": found, "team": None}
        found = Team.objects.filter(name=team).first()
        if found is None:
            raise CommandError(f"No team named '{team}' (a team is created by: manage.py user add ... --team {team}).")
        return {"user": None, "team": found}

    def _cluster(self, name):
        cluster = Cluster.objects.filter(name=name).first()
        if cluster is None:
            known = ", ".join(Cluster.objects.values_list("name", flat=True)) or "none"
            raise CommandError(f"No cluster named '{name}'. Known: {known}.")
        return cluster

    def do_add(self, user, team, cluster, namespaces, role, **_):
        grant = grant_create(cluster=self._cluster(cluster), role=Role[role.upper()], namespace_pattern=namespaces,
                             **self._who(user, team))
        self.stdout.write(self.style.SUCCESS(f"Granted {grant.describe()}."))

    def do_remove(self, user, team, cluster, namespaces, **_):
        grant = Grant.objects.filter(cluster=self._cluster(cluster), namespace_pattern=namespaces,
                                     **self._who(user, team)).first()
        if grant is None:
            raise CommandError("No such grant (see: manage.py grant list).")
        description = grant.describe()
        grant_delete(grant=grant)
        self.stdout.write(self.style.SUCCESS(f"Removed {description}."))

    def do_list(self, cluster=None, user=None, team=None, **_):
        grants = Grant.objects.select_related("cluster", "user", "team")
        if cluster:
            grants = grants.filter(cluster__name=cluster)
        if user:
            grants = grants.filter(user__username=user)
        if team:
            grants = grants.filter(team__name=team)
        for grant in grants:
            who = f"user:{grant.user.username}" if grant.user_id else f"team:{grant.team.name}"
            self.stdout.write(f"{grant.cluster.name:16} {grant.namespace_pattern:20} {Role(grant.role).label:9} {who}")
