"""People with roles, the simulated cluster, and API clients.

People (after healthchecks' alice/bob/charlie): ``viewer`` sees only the
``bookinfo`` namespace of cluster ``demo``; ``operator``, ``approver`` and
``cluster_admin`` hold that role on every namespace (``*``); ``outsider`` has
no grant; ``superuser`` is a Django superuser.
"""
from __future__ import annotations

import pytest
from django.conf import settings

# Persistent connections outlive async tests' worker threads and block the
# test database's teardown; tests open and close connections per use.
settings.DATABASES["default"]["CONN_MAX_AGE"] = 0

pytest_plugins = ["tests.support.fixtures"]
pytest_plugins += ["tests.support.audit_flush"]  # the audit triggers vs. the test flush

PASSWORD = "correct-horse-battery-staple"


@pytest.fixture(autouse=True)
def _fresh_simulated_meshes():
    """Each test starts from the scenario's initial config."""
    yield
    from apps.simulator.registry import reset_meshes

    reset_meshes()


@pytest.fixture(autouse=True)
def _own_login_rate_limit(settings):
    """Each test counts failed logins per address from zero (the cache may be a shared Redis)."""
    import uuid

    settings.LOGIN_RATE_LIMIT_KEY_PREFIX = f"ratelimit-test-{uuid.uuid4().hex}"


@pytest.fixture(autouse=True)
def _shared_clients_closed():
    """Each test's clusters get their own gateways and telemetry clients, closed after it, and
    snapshots read afresh (the history's caches emptied)."""
    yield
    from apps.clusters.shared_clients import close_all_shared_clients
    from apps.history.store import clear_caches

    close_all_shared_clients()
    clear_caches()


@pytest.fixture
def sim_cluster(db):
    from apps.clusters.models import Cluster

    return Cluster.objects.create(name="demo", kind=Cluster.Kind.SIMULATED, simulator_topology="demo")


@pytest.fixture
def make_user(db):
    from django.contrib.auth import get_user_model

    from apps.accounts.models import Grant

    def make(username: str, *, cluster=None, role=None, pattern: str = "*", superuser: bool = False):
        user = get_user_model().objects.create_user(
            username=username, password=PASSWORD, is_superuser=superuser, is_staff=superuser
        )
        if cluster is not None and role is not None:
            Grant.objects.create(user=user, cluster=cluster, role=role, namespace_pattern=pattern)
        return user

    return make


@pytest.fixture
def viewer(make_user, sim_cluster):
    from apps.accounts.roles import Role

    return make_user("viewer", cluster=sim_cluster, role=Role.VIEWER, pattern="bookinfo")


@pytest.fixture
def operator(make_user, sim_cluster):
    from apps.accounts.roles import Role

    return make_user("operator", cluster=sim_cluster, role=Role.OPERATOR)


@pytest.fixture
def approver(make_user, sim_cluster):
    from apps.accounts.roles import Role

    return make_user("approver", cluster=sim_cluster, role=Role.APPROVER)


@pytest.fixture
def cluster_admin(make_user, sim_cluster):
    from apps.accounts.roles import Role

    return make_user("cluster-admin", cluster=sim_cluster, role=Role.ADMIN)


@pytest.fixture
def outsider(make_user, sim_cluster):
    return make_user("outsider")


@pytest.fixture
def superuser(make_user):
    return make_user("root", superuser=True)


@pytest.fixture
def api_client():
    """api_client(user) -> a DRF APIClient logged in as user (None: anonymous)."""
    from rest_framework.test import APIClient

    def make(user=None):
        client = APIClient()
        if user is not None:
            client.force_login(user)
        return client

    return make


@pytest.fixture
def page_client(client):
    """page_client(user) -> Django's test client logged in as user."""

    def make(user=None):
        if user is not None:
            client.force_login(user)
        return client

    return make
