"""Django's login signals, turned into the accounts services (lockout + audit)."""
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from .services import login_failed, login_succeeded, logout_recorded


def entry_point(request) -> str:
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
        login_failed(username=username, request=request, entry_point=entry_point(request))


@receiver(user_logged_in)
def on_logged_in(sender, request, user, **kwargs):
    login_succeeded(user=user, request=request, entry_point=entry_point(request))


@receiver(user_logged_out)
def on_logged_out(sender, request, user, **kwargs):
    if user is not None and user.is_authenticated:
        logout_recorded(user=user, request=request)
