"""Cluster credentials are encrypted at rest and unreadable without the key."""
import pytest
from cryptography.fernet import Fernet
from django.db import connection

from apps.clusters.crypto import CredentialsUnreadable
from apps.clusters.models import Cluster
from apps.clusters.services import cluster_create

pytestmark = pytest.mark.django_db

TOKEN = "eyJhbGciOiJSUzI1NiJ9.super-secret-service-account-token"


def _raw_credentials(name):
    with connection.cursor() as cursor:
        cursor.execute("SELECT credentials_encrypted FROM clusters_cluster WHERE name = %s", [name])
        return cursor.fetchone()[0]


def test_token_is_not_in_the_database_in_clear(settings):
    settings.MESHDECK_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    cluster_create(name="prod", kind="kubernetes", api_server_url="https://127.0.0.1:6443", token=TOKEN)
    raw = _raw_credentials("prod")
    assert TOKEN not in raw and "super-secret" not in raw
    assert Cluster.objects.get(name="prod").credentials["token"] == TOKEN


def test_unreadable_without_the_key(settings):
    settings.MESHDECK_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    cluster_create(name="prod", kind="kubernetes", api_server_url="https://127.0.0.1:6443", token=TOKEN)
    settings.MESHDECK_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    with pytest.raises(CredentialsUnreadable, match="cannot be decrypted"):
        Cluster.objects.get(name="prod").credentials


def test_rotation_old_key_still_decrypts(settings):
    old = Fernet.generate_key().decode()
    settings.MESHDECK_ENCRYPTION_KEYS = [old]
    cluster_create(name="prod", kind="kubernetes", api_server_url="https://127.0.0.1:6443", token=TOKEN)
    settings.MESHDECK_ENCRYPTION_KEYS = [Fernet.generate_key().decode(), old]
    assert Cluster.objects.get(name="prod").credentials["token"] == TOKEN


def test_unreadable_credentials_show_a_message_on_the_overview_not_a_500(settings, superuser, page_client):
    settings.MESHDECK_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    cluster_create(name="prod", kind="kubernetes", api_server_url="https://127.0.0.1:6443", token=TOKEN)
    settings.MESHDECK_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    response = page_client(superuser).get("/")
    assert response.status_code == 200
    assert "cannot be decrypted" in response.content.decode()


def test_a_bad_key_in_the_environment_is_a_clear_configuration_error(settings):
    from django.core.exceptions import ImproperlyConfigured

    settings.MESHDECK_ENCRYPTION_KEYS = ["not-a-fernet-key"]
    with pytest.raises(ImproperlyConfigured, match="not a valid Fernet key"):
        cluster_create(name="prod", kind="kubernetes", api_server_url="https://127.0.0.1:6443", token=TOKEN)
