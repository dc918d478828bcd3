"""Start-up checks: a signing key that cannot sign is found before the first event."""
from django.core.checks import Error, register
from django.core.exceptions import ImproperlyConfigured


@register()
def audit_key_check(app_configs, **kwargs):
    from .signing import signing_key, verify_keys

    try:
        signing_key()
        verify_keys()
    except ImproperlyConfigured as exc:
        return [Error(str(exc), hint="Make a key with `python manage.py audit genkey`.", id="audit.E001")]
    except ValueError as exc:
        return [Error(f"MESHDECK_AUDIT_KEY is not a valid Ed25519 key: {exc}", id="audit.E001")]
    return []
