"""Whatever the Kubernetes client raised, as a typed GatewayError with a message a person can act on."""
from __future__ import annotations

import json
import ssl

import urllib3
from kubernetes.client.exceptions import ApiException

from ..gateway import (
    ClusterForbidden,
    ClusterTimeout,
    ClusterTLSError,
    ClusterUnauthorized,
    ClusterUnreachable,
    GatewayError,
    ObjectConflict,
    ObjectInvalid,
    ObjectNotFound,
)

_TIMEOUTS = (urllib3.exceptions.ConnectTimeoutError, urllib3.exceptions.ReadTimeoutError,
             urllib3.exceptions.TimeoutError, TimeoutError)


def _api_message(exc: ApiException) -> str:
    try:
        body = json.loads(exc.body or "")
        if isinstance(body, dict) and body.get("message"):
            return str(body["message"])
    except (TypeError, ValueError):
        pass
    return (exc.reason or "").strip() or f"HTTP {exc.status}"


def _status_error(exc: ApiException, url: str, doing: str) -> GatewayError:
    status = exc.status or 0
    detail = _api_message(exc)
    if status == 401:
        return ClusterUnauthorized(
            f"The API server at {url} rejected the credentials (401 Unauthorized){doing}. "
            "The token or certificate is wrong or expired: update the cluster's credentials."
        )
    if status == 403:
        return ClusterForbidden(
            f"The cluster's credentials are not allowed to do this (403 Forbidden){doing}: {detail}. "
            "Grant the service account the needed RBAC role."
        )
    if status == 404:
        return ObjectNotFound(f"Not found{doing}: {detail}")
    if status == 409:
        return ObjectConflict(f"Conflict{doing}: {detail}. Somebody changed the object first; reload and try again.")
    if status in (400, 422):
        return ObjectInvalid(f"The API server refused the object{doing}: {detail}")
    if status == 0:
        return ClusterUnreachable(f"No answer from the API server at {url}{doing}: {exc.reason}")
    return GatewayError(f"The API server at {url} answered {status}{doing}: {detail}")


def _timeout_error(url: str, doing: str, waited: float | None) -> ClusterTimeout:
    limit = f" (waited {waited:g} s; MESHDECK_KUBE_TIMEOUT sets the limit)" if waited else ""
    return ClusterTimeout(
        f"The API server at {url} did not answer in time{doing}{limit}. "
        "Check the address, firewalls and the server's load."
    )


def _unreachable(url: str, doing: str, text: str) -> ClusterUnreachable:
    if "refused" in text.lower():
        return ClusterUnreachable(
            f"Connection to {url} was refused{doing}: nothing listens there. Check the API server address and port."
        )
    return ClusterUnreachable(f"Cannot reach the API server at {url}{doing}: {text}")


def translate_error(
    exc: BaseException, url: str, what: str = "", timeout: tuple[float, float] | None = None
) -> GatewayError:
    """A typed, human-readable GatewayError for anything the client raised.

    ``timeout`` is the gateway's (connect, read) limit, named in a timeout's message.
    """
    if isinstance(exc, GatewayError):
        return exc
    doing = f" while {what}" if what else ""
    if isinstance(exc, ApiException):
        return _status_error(exc, url, doing)
    reason = exc
    if isinstance(exc, urllib3.exceptions.MaxRetryError) and exc.reason is not None:
        reason = exc.reason
    if isinstance(reason, (urllib3.exceptions.SSLError, ssl.SSLError)):
        return ClusterTLSError(
            f"TLS failed talking to {url}{doing}: {reason}. Check the CA certificate "
            "(the server's certificate must be signed by it) and the server address."
        )
    connect_timeout, read_timeout = timeout or (None, None)
    text = str(reason)
    if isinstance(reason, urllib3.exceptions.NewConnectionError):
        # (checked before the timeouts: urllib3 2 makes it a subclass of ConnectTimeoutError)
        if not isinstance(reason, urllib3.exceptions.NameResolutionError) and "timed out" in text.lower():
            return _timeout_error(url, doing, connect_timeout)
        return _unreachable(url, doing, text)
    if isinstance(reason, urllib3.exceptions.ConnectTimeoutError):
        return _timeout_error(url, doing, connect_timeout)
    if isinstance(reason, _TIMEOUTS):
        return _timeout_error(url, doing, read_timeout)
    if isinstance(reason, (ConnectionError, urllib3.exceptions.HTTPError, OSError)):
        if "timed out" in text.lower() and "refused" not in text.lower():
            return _timeout_error(url, doing, read_timeout)
        return _unreachable(url, doing, text)
    return GatewayError(f"Unexpected error talking to {url}{doing}: {exc}")
