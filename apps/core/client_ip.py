"""The client's IP address, honouring only the reverse proxies we trust.

Shared by lockout (accounts) and the audit trail, so both name the same
address for the same request. ``MESHDECK_TRUSTED_PROXY_COUNT`` proxies append
to ``X-Forwarded-For``; the address they saw is the N-th from the right, and
anything further left was written by the client and is not believed.
"""
from __future__ import annotations

from django.conf import settings


def client_ip(request) -> str | None:
    if request is None:
        return None
    proxies = getattr(settings, "MESHDECK_TRUSTED_PROXY_COUNT", 0)
    meta = getattr(request, "META", {}) or {}
    if proxies > 0:
        forwarded = [p.strip() for p in meta.get("HTTP_X_FORWARDED_FOR", "").split(",") if p.strip()]
        if len(forwarded) >= proxies:
            return forwarded[-proxies]
    return meta.get("REMOTE_ADDR") or None
