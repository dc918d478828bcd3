"""Cluster credentials are encrypted at rest and unreadable without the key."""
import pytest
from cryptography.fernet import Fernet
from django.db import connection

from apps.clusters.crypto import CredentialsUnreadable
from apps.clusters.models import Cluster
from apps.clusters.services import cluster_create

pytestmark = pytest.mark.django_db

TOKEN = "eyJhbGciOiJSUzI1NiJ9.super-secret-service-account-token"


def new_key() -> str:
    return Fernet.generate_key().decode()


def add_prod(name="prod", **extra):
    """A Kubernetes cluster with a bearer token, encrypted with whatever key is set now."""
    return cluster_create(name=name, kind="kubernetes", api_server_url="https://127.0.0.1:6443", token=TOKEN, **extra)


def add_unreadable(settings, name="prod", **extra):
    """A cluster whose key was rotated away: no key set now can read its stored credentials."""
    settings.MESHDECK_ENCRYPTION_KEYS = [new_key()]
    add_prod(name, **extra)
    settings.MESHDECK_ENCRYPTION_KEYS = [new_key()]


def _raw_credentials(name):
    with connection.cursor() as cursor:
        cursor.execute("SELECT credentials_encrypted FROM clusters_cluster WHERE name = %s", [name])
        return cursor.fetchone()[0]


def test_token_is_not_in_the_database_in_clear(settings):
    settings.MESHDECK_ENCRYPTION_KEYS = [new_key()]
    add_prod()
    raw = _raw_credentials("prod")
    assert TOKEN not in raw and "super-secret" not in raw
    assert Cluster.objects.get(name="prod").credentials["token"] == TOKEN


def test_unreadable_without_the_key(settings):
    add_unreadable(settings)
    with pytest.raises(CredentialsUnreadable, match="cannot be decrypted"):
        _ = Cluster.objects.get(name="prod").credentials


def test_rotation_old_key_still_decrypts(settings):
    old = new_key()
    settings.MESHDECK_ENCRYPTION_KEYS = [old]
    add_prod()
    settings.MESHDECK_ENCRYPTION_KEYS = [new_key(), old]
    assert Cluster.objects.get(name="prod").credentials["token"] == TOKEN


def test_unreadable_credentials_show_a_message_on_the_overview_not_a_500(settings, superuser, page_client):
    add_unreadable(settings)
    response = page_client(superuser).get("/")
    assert response.status_code == 200
    assert "cannot be decrypted" in response.content.decode()


def test_a_bad_key_in_the_environment_is_a_clear_configuration_error(settings):
    from django.core.exceptions import ImproperlyConfigured

    settings.MESHDECK_ENCRYPTION_KEYS = ["not-a-fernet-key"]
    with pytest.raises(ImproperlyConfigured, match="not a valid Fernet key"):
        add_prod()


def test_rekey_moves_every_cluster_to_the_new_key_so_the_old_one_can_go(settings):
    from django.core.management import call_command

    old, new = new_key(), new_key()
    settings.MESHDECK_ENCRYPTION_KEYS = [old]
    add_prod()
    settings.MESHDECK_ENCRYPTION_KEYS = [new, old]
    call_command("cluster", "rekey")
    settings.MESHDECK_ENCRYPTION_KEYS = [new]  # the old key is gone
    assert Cluster.objects.get(name="prod").credentials["token"] == TOKEN


def test_rekey_names_the_clusters_no_key_can_read(settings):
    from django.core.management import CommandError, call_command

    add_unreadable(settings, "lost")
    with pytest.raises(CommandError, match="credentials of: lost"):
        call_command("cluster", "rekey")


# Every read of a cluster whose stored credentials no key can read answers with what to do, not a 500.
UNREADABLE_PAGES = [
    "/clusters/prod/namespaces/",
    "/clusters/prod/namespaces/-/workloads/",
    "/clusters/prod/namespaces/-/services/",
    "/clusters/prod/namespaces/default/workloads/web/",
    "/clusters/prod/istio/",
]
UNREADABLE_APIS = [
    "/api/clusters/prod/namespaces/",
    "/api/clusters/prod/namespaces/-/workloads/",
    "/api/clusters/prod/namespaces/-/services/",
    "/api/clusters/prod/istio/",
    "/api/clusters/prod/graph?namespaces=default",
]


@pytest.fixture
def unreadable_cluster(settings):
    add_unreadable(settings, prometheus_url="http://127.0.0.1:9")


@pytest.mark.parametrize("url", UNREADABLE_PAGES)
def test_pages_of_a_cluster_with_unreadable_credentials_say_what_to_do(unreadable_cluster, superuser, page_client,
                                                                        url):
    response = page_client(superuser).get(url)
    assert response.status_code == 503
    text = response.content.decode()
    assert "cannot be decrypted" in text and "enter the credentials again" in text


def test_the_graph_page_of_such_a_cluster_loads_and_says_why_there_is_no_graph(unreadable_cluster, superuser,
                                                                               page_client):
    response = page_client(superuser).get("/clusters/prod/graph/")
    assert response.status_code == 200 and "cannot be decrypted" in response.content.decode()


@pytest.mark.parametrize("url", UNREADABLE_APIS)
def test_apis_of_a_cluster_with_unreadable_credentials_answer_503_with_the_reason(unreadable_cluster, superuser,
                                                                                   api_client, url):
    response = api_client(superuser).get(url)
    assert response.status_code == 503, response.content[:300]
    body = response.json()
    assert body["code"] == "credentials_unreadable" and "Restore the key" in body["detail"]
    assert body["request_id"] == response["X-Request-ID"]


def test_the_kiali_endpoint_says_it_in_kialis_shape(unreadable_cluster, superuser, api_client):
    response = api_client(superuser).get("/api/namespaces/graph?cluster=prod&namespaces=default")
    assert response.status_code == 503 and "cannot be decrypted" in response.json()["error"]
