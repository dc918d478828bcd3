from django.utils import timezone
from rest_framework import authentication, exceptions

from .models import ApiToken


def user_for_token(raw: str):
    """The active user owning this token, or None (revoked/expired/unknown)."""
    token = (
        ApiToken.objects.select_related("user")
        .filter(key_hash=ApiToken.hash(raw), revoked_at__isnull=True)
        .first()
    )
    if token is None or not token.user.is_active:
        return None, None
    if token.expires_at and token.expires_at <= timezone.now():
        return None, token
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now())
    return token.user, token


class BearerTokenAuthentication(authentication.BaseAuthentication):
    """``Authorization: Bearer <token>``, as Kiali clients send it."""

    keyword = "bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1").strip()
        if not header:
            return None
        parts = header.split()
        if parts[0].lower() != self.keyword:
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed("Malformed Authorization header: use 'Bearer <token>'.")
        user, token = user_for_token(parts[1])
        if user is None:
            if token is not None:
                raise exceptions.AuthenticationFailed("This API token has expired; create a new one.")
            raise exceptions.AuthenticationFailed("Invalid or revoked API token.")
        return user, token

    def authenticate_header(self, request):
        return 'Bearer realm="meshdeck"'
