"""Signals for access changes that Django's model signals do not see.

Revoking a token is a queryset update (no ``post_save``), so the service sends
``api_token_revoked`` itself, inside its transaction. Listeners (the live sockets, in
``apps.live``, which accounts must not import) act after the commit.
"""
from django.dispatch import Signal

# sender=ApiToken, token_id=<int>
api_token_revoked = Signal()
