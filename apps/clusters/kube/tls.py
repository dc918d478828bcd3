"""The connection pool a gateway talks through: TLS set up in memory, no retries.

Credentials never touch the disk for longer than a constructor: the CA goes to
the ``SSLContext`` as data, and a client certificate, which ``load_cert_chain``
only reads from a file, goes through a temporary file removed before this
returns.
"""
from __future__ import annotations

import os
import ssl
import tempfile
from typing import Any

import urllib3

from ..kubeconfig import KubeconfigError

# Connections kept open per API server. The inventory runs 4 list calls at once
# (gateway.INVENTORY_CONCURRENCY); the gateway is shared by every request of
# the process, so two page loads at once still find a connection each.
KUBE_POOL_SIZE = 8


def ssl_context(ca_pem: str | None, verify: bool, cert_pem: str | None, key_pem: str | None) -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    if not verify:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    elif ca_pem:
        try:
            ctx.load_verify_locations(cadata=ca_pem)
        except (ssl.SSLError, ValueError) as exc:
            raise KubeconfigError(f"The CA certificate is not valid PEM: {exc}") from exc
    if cert_pem and key_pem:
        fd, path = tempfile.mkstemp(prefix="meshdeck-clientcert-", suffix=".pem")
        try:
            with os.fdopen(fd, "w") as fh:
                fh.write(cert_pem.rstrip() + "\n" + key_pem.rstrip() + "\n")
            ctx.load_cert_chain(path)
        except ssl.SSLError as exc:
            raise KubeconfigError(f"The client certificate or key is not valid: {exc}") from exc
        finally:
            os.unlink(path)
    return ctx


def pool_manager(
    url: str,
    *,
    ca_pem: str | None = None,
    verify: bool = True,
    client_cert_pem: str | None = None,
    client_key_pem: str | None = None,
    tls_server_name: str | None = None,
) -> urllib3.PoolManager:
    """A thread-safe urllib3 pool for one API server.

    No retries, so a refused port or a TLS failure surfaces at once with its
    real cause instead of after three silent attempts.
    """
    pool_args: dict[str, Any] = {
        "retries": urllib3.Retry(total=0, redirect=0, raise_on_redirect=False),
        "maxsize": KUBE_POOL_SIZE,
    }
    if url.startswith("https://"):
        pool_args["ssl_context"] = ssl_context(ca_pem, verify, client_cert_pem, client_key_pem)
        pool_args["cert_reqs"] = ssl.CERT_REQUIRED if verify else ssl.CERT_NONE
        if not verify:
            pool_args["assert_hostname"] = False
        if tls_server_name:
            pool_args["server_hostname"] = tls_server_name
    return urllib3.PoolManager(**pool_args)
