"""What the accounts commands share."""
from django.contrib.auth import get_user_model
from django.core.management.base import CommandError


def existing_user(username: str):
    """The user named ``username``, or a CommandError."""
    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        raise CommandError(f"No user named '{username}'.")
    return user
