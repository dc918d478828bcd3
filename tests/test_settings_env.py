"""Settings read from the environment: a value that cannot be read stops start-up, loudly."""
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from portal.env import env_bool, env_int

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("raw,expected", [("1", True), ("true", True), ("Yes", True), (" on ", True),
                                          ("0", False), ("FALSE", False), ("no", False), ("off", False)])
def test_booleans_people_write(monkeypatch, raw, expected):
    monkeypatch.setenv("SOME_FLAG", raw)
    assert env_bool("SOME_FLAG", not expected) is expected


def test_unset_or_empty_means_the_default(monkeypatch):
    monkeypatch.delenv("SOME_FLAG", raising=False)
    assert env_bool("SOME_FLAG", True) is True
    monkeypatch.setenv("SOME_FLAG", "")
    assert env_bool("SOME_FLAG", False) is False


def test_a_typo_is_refused_with_the_variable_and_the_accepted_values(monkeypatch):
    monkeypatch.setenv("SECURE_SSL_REDIRECT", "ture")
    with pytest.raises(ImproperlyConfigured) as exc:
        env_bool("SECURE_SSL_REDIRECT", True)
    assert "SECURE_SSL_REDIRECT='ture'" in str(exc.value) and "true" in str(exc.value) and "false" in str(exc.value)


def test_numbers_are_checked(monkeypatch):
    monkeypatch.setenv("MESHDECK_KUBE_TIMEOUT", "ten")
    with pytest.raises(ImproperlyConfigured, match="MESHDECK_KUBE_TIMEOUT must be a whole number"):
        env_int("MESHDECK_KUBE_TIMEOUT", 10)
    monkeypatch.setenv("MESHDECK_KUBE_TIMEOUT", "0")
    with pytest.raises(ImproperlyConfigured, match="at least 1"):
        env_int("MESHDECK_KUBE_TIMEOUT", 10, minimum=1)


def _settings_value(name: str, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE")}
    code = f"import django, os; os.environ['DJANGO_SETTINGS_MODULE']='portal.settings'; django.setup(); " \
           f"from django.conf import settings; print(settings.{name})"
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env={**clean, **env},
                          capture_output=True, text=True, timeout=60)


def test_a_typo_stops_the_portal_from_starting():
    result = _settings_value("DEBUG", DJANGO_DEBUG="flase")
    assert result.returncode != 0
    assert "DJANGO_DEBUG='flase' is not a boolean" in result.stderr


def test_documented_timeouts_and_scheduler_switch_are_read():
    result = _settings_value("GRAPH_PROMETHEUS_TIMEOUT", GRAPH_PROMETHEUS_TIMEOUT="3")
    assert result.stdout.strip() == "3", result.stderr
    # embedded default (eager tasks): the in-process scheduler is on unless switched off
    assert _settings_value("MESHDECK_INPROCESS_SCHEDULER").stdout.strip() == "True"
    assert _settings_value("MESHDECK_INPROCESS_SCHEDULER", MESHDECK_INPROCESS_SCHEDULER="off").stdout.strip() == "False"
    # with a broker, beat does the scheduling unless the in-process scheduler is asked for
    redis = "redis://127.0.0.1:6379/9"
    assert _settings_value("MESHDECK_INPROCESS_SCHEDULER", REDIS_URL=redis).stdout.strip() == "False"
