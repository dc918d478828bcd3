from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied

from .lockout import client_ip, is_locked_out


class LockoutModelBackend(ModelBackend):
    """ModelBackend that refuses locked-out (username, IP) pairs.

    Every entry point (login page, admin, API token issue) authenticates
    through Django's ``authenticate()``, so all of them are covered here.
    PermissionDenied stops Django from trying other backends.
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        if username is None:
            username = kwargs.get("username")
        if username and is_locked_out(username, client_ip(request)):
            raise PermissionDenied("locked out")
        return super().authenticate(request, username=username, password=password, **kwargs)
