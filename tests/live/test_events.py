"""Sending after the commit: a channel layer that is down never breaks the change that committed."""
from __future__ import annotations

import logging

import pytest

from apps.accounts.models import Grant
from tests.support.net import free_port


@pytest.mark.django_db(transaction=True)
def test_a_grant_change_commits_and_is_logged_when_the_channel_layer_is_down(viewer, settings, caplog):
    # Nothing listens on this port: every send to the layer fails.
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels_redis.core.RedisChannelLayer",
                                           "CONFIG": {"hosts": [f"redis://127.0.0.1:{free_port()}/0"]}}}
    caplog.set_level(logging.ERROR)
    Grant.objects.get(user=viewer).delete()  # raises nothing
    assert not Grant.objects.filter(user=viewer).exists()
    assert any("send_after_commit" in record.getMessage() for record in caplog.records)
