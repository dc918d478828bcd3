from django.db import models


class Role(models.IntegerChoices):
    """Each role includes every one below it."""

    VIEWER = 10, "viewer"
    OPERATOR = 20, "operator"
    APPROVER = 30, "approver"
    ADMIN = 40, "admin"
