"""Production settings pass `check --deploy` with zero warnings; refuse without keys."""
import base64
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[2]

PRODUCTION_ENV = {
    "DJANGO_SETTINGS_MODULE": "portal.production",
    "DJANGO_SECRET_KEY": "k" * 20 + "-production-secret-" + "z" * 30,
    "DJANGO_ALLOWED_HOSTS": "meshdeck.example.com",
    "DATABASE_URL": "postgres://meshdeck@127.0.0.1:5432/meshdeck",
    "REDIS_URL": "redis://127.0.0.1:6379/0",
    "MESHDECK_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
    "MESHDECK_AUDIT_KEY": base64.urlsafe_b64encode(os.urandom(32)).decode(),
}


def _run(env):
    base = {k: v for k, v in os.environ.items() if k not in PRODUCTION_ENV}
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT, env={**base, **env}, capture_output=True, text=True, timeout=120,
    )


def test_check_deploy_has_zero_warnings():
    result = _run(PRODUCTION_ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


@pytest.mark.parametrize("key", ["MESHDECK_ENCRYPTION_KEYS", "MESHDECK_AUDIT_KEY"])
def test_production_refuses_to_start_without_its_keys(key):
    env = dict(PRODUCTION_ENV)
    del env[key]
    result = _run(env)
    assert result.returncode != 0
    assert key in result.stderr


def test_a_malformed_audit_key_stops_start_up():
    result = _run({**PRODUCTION_ENV, "MESHDECK_AUDIT_KEY": base64.urlsafe_b64encode(b"short").decode()})
    assert result.returncode != 0
    assert "MESHDECK_AUDIT_KEY must be 32 bytes" in result.stderr
