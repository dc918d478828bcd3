from dataclasses import replace

from django.utils import timezone
from rest_framework import authentication, exceptions
from rest_framework.permissions import SAFE_METHODS

from .models import ApiToken

READ_ONLY_MESSAGE = (
    "This API token is read-only: it may only read (GET). Create a token with the write scope "
    "(profile page, POST /api/auth/token/ with \"scope\": \"write\", or manage.py token create --scope write)."
)


def read_only_token_refused(*, token: ApiToken, request) -> None:
    """A read-only token tried to write: a denied audit event naming the token and the request."""
    from apps.audit.actor import TOKEN, actor_from_request
    from apps.audit.services import Target, audit_denied

    http_request = getattr(request, "_request", request)  # DRF's request is mid-authentication
    actor = replace(actor_from_request(http_request, user=token.user), auth=TOKEN, token_id=token.pk)
    audit_denied("token.write_refused", actor=actor,
                 target=Target(type="token", name=f"{token.user.get_username()}/{token.name}", id=token.pk),
                 after={"method": request.method, "path": request.path[:200]}, message="read-only token")


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
        if request.method not in SAFE_METHODS and not token.can_write:
            read_only_token_refused(token=token, request=request)
            raise exceptions.PermissionDenied(READ_ONLY_MESSAGE)
        return user, token

    def authenticate_header(self, request):
        return 'Bearer realm="meshdeck"'
