"""Production settings: everything from the environment, nothing insecure.

Required: DJANGO_SECRET_KEY, DJANGO_ALLOWED_HOSTS, DATABASE_URL, REDIS_URL,
MESHDECK_ENCRYPTION_KEYS, MESHDECK_AUDIT_KEY. The portal refuses to start without them.
"""
from django.core.exceptions import ImproperlyConfigured

from apps.audit.signing import private_key_from_text  # reads no setting when imported

from .env import env_bool, env_int
from .settings import *  # noqa: F401,F403
from .settings import DATABASE_URL, DEV_SECRET_KEY, MESHDECK_AUDIT_KEY, MESHDECK_ENCRYPTION_KEYS, REDIS_URL, SECRET_KEY

DEBUG = False
MESHDECK_ALLOW_DERIVED_KEY = False

_missing = [
    name
    for name, value in (
        ("DJANGO_SECRET_KEY", SECRET_KEY != DEV_SECRET_KEY and len(SECRET_KEY) >= 50),
        ("DATABASE_URL", bool(DATABASE_URL)),
        ("REDIS_URL", bool(REDIS_URL)),
        ("MESHDECK_ENCRYPTION_KEYS", bool(MESHDECK_ENCRYPTION_KEYS)),
        ("MESHDECK_AUDIT_KEY", bool(MESHDECK_AUDIT_KEY)),  # signs audit checkpoints
    )
    if not value
]
if _missing:
    raise ImproperlyConfigured(
        "Production settings need these environment variables (see README, 'Configuration'): "
        + ", ".join(_missing)
        + ". DJANGO_SECRET_KEY must be at least 50 random characters."
    )

# A malformed audit key would fail the first checkpoint, inside someone's write: refuse it now.
private_key_from_text(MESHDECK_AUDIT_KEY)

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
CELERY_TASK_ALWAYS_EAGER = False
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
