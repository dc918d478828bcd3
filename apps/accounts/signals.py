from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.dispatch import receiver

from .lockout import clear_failures, client_ip, record_failure


def _entry_point(request) -> str:
    path = getattr(request, "path", "") or ""
    if path.startswith("/admin"):
        return "admin"
    if path.startswith("/api"):
        return "api"
    return "login"


@receiver(user_login_failed)
def on_login_failed(sender, credentials, request=None, **kwargs):
    username = (credentials or {}).get("username") or ""
    if username:
        record_failure(username, client_ip(request), _entry_point(request))


@receiver(user_logged_in)
def on_logged_in(sender, request, user, **kwargs):
    clear_failures(user.get_username(), client_ip(request))
