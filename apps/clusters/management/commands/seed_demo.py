"""Demo users (admin, operator, approver, viewer) and the simulated cluster."""
import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from apps.accounts.models import Grant
from apps.accounts.roles import Role
from apps.accounts.services import grant_create, user_create, user_update
from apps.audit.actor import Actor, acting_as
from apps.clusters.models import Cluster
from apps.clusters.services import cluster_create

DEMO_USERS = [
    # username, superuser, role, namespace pattern
    ("admin", True, Role.ADMIN, "*"),
    ("operator", False, Role.OPERATOR, "*"),
    ("approver", False, Role.APPROVER, "*"),
    ("viewer", False, Role.VIEWER, "bookinfo"),
]


class Command(BaseCommand):
    help = "Create the demo cluster and demo users; prints new users' passwords once."

    def add_arguments(self, parser):
        parser.add_argument("--reset-passwords", action="store_true", help="Give existing demo users new passwords")
        parser.add_argument("--cluster", default="demo")
        parser.add_argument("--topology", default="demo")

    def handle(self, **opts):
        # Through the services, like any other write: each step is audited.
        with acting_as(Actor.command("seed_demo")), transaction.atomic():
            self._seed(**opts)

    def _seed(self, reset_passwords, cluster, topology, **_):
        User = get_user_model()
        obj = Cluster.objects.filter(name=cluster).first()
        if obj is None:
            obj = cluster_create(name=cluster, kind=Cluster.Kind.SIMULATED, simulator_topology=topology)
            self.stdout.write(f"Registered the simulated cluster '{obj.name}' ({topology}).")
        printed = []
        for username, superuser, role, pattern in DEMO_USERS:
            user = User.objects.filter(username=username).first()
            if user is None or reset_passwords:
                password = secrets.token_urlsafe(9)
                if user is None:
                    user = user_create(username=username, password=password, email=f"{username}@meshdeck.local",
                                       is_superuser=superuser)
                else:
                    user = user_update(user=user, password=password, is_superuser=superuser, is_staff=superuser)
                printed.append((username, password, role, pattern))
            if not Grant.objects.filter(user=user, cluster=obj, namespace_pattern=pattern).exists():
                grant_create(cluster=obj, role=role, namespace_pattern=pattern, user=user)
        if printed:
            self.stdout.write(self.style.WARNING("Demo logins (shown once; reset with seed_demo --reset-passwords):"))
            for username, password, role, pattern in printed:
                self.stdout.write(f"  {username:9} {password:14} {Role(role).label} on {obj.name}/{pattern}")
        else:
            self.stdout.write("Demo users exist already (new passwords: manage.py seed_demo --reset-passwords).")
