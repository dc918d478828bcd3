"""Request timeouts and retries for a service's HTTP requests.

Input: ``{"timeout": "2s", "retries": {"attempts": 3, "per_try_timeout": "2s",
"retry_on": "gateway-error,connect-failure,refused-stream"}}`` (either or both; Kiali's
defaults), or ``{"remove": true}``. Set on every HTTP route of the service's
VirtualService (routes kept), or on one route to the whole service.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from apps.clusters.inventory import Inventory

from ..fields import FieldErrors, duration, duration_ms, reject_unknown, whole_number
from ..rendered import RenderedChange
from .route_settings import RouteSettings, parse_route_settings, render_route_settings

KIND = "request_timeouts"
DEFAULT_RETRY_ON = "gateway-error,connect-failure,refused-stream"
# Envoy's retry conditions (x-envoy-retry-on and x-envoy-retry-grpc-on), which Istio's retryOn takes.
RETRY_CONDITIONS = (
    "5xx", "gateway-error", "reset", "reset-before-request", "connect-failure", "envoy-ratelimited",
    "retriable-4xx", "refused-stream", "retriable-status-codes", "retriable-headers", "http3-post-connect-failure",
    "cancelled", "deadline-exceeded", "internal", "resource-exhausted", "unavailable",
)
MAX_ATTEMPTS = 100


@dataclass(frozen=True)
class Retries:
    attempts: int
    per_try_timeout: str | None
    retry_on: str

    def istio(self) -> dict[str, Any]:
        out: dict[str, Any] = {"attempts": self.attempts, "retryOn": self.retry_on}
        if self.per_try_timeout:
            out["perTryTimeout"] = self.per_try_timeout
        return out

    def as_dict(self) -> dict[str, Any]:
        return {"attempts": self.attempts, "per_try_timeout": self.per_try_timeout, "retry_on": self.retry_on}

    def describe(self) -> str:
        each = f", {self.per_try_timeout} each" if self.per_try_timeout else ""
        return f"retry up to {self.attempts} times{each} on {self.retry_on}"


@dataclass(frozen=True)
class RequestTimeouts(RouteSettings):
    timeout: str | None = None
    retries: Retries | None = None
    kind = KIND
    route_keys = ("timeout", "retries")

    def fields_dict(self) -> dict[str, Any]:
        return {"timeout": self.timeout, "retries": self.retries.as_dict() if self.retries else None}

    def settings(self) -> dict[str, Any]:
        settings: dict[str, Any] = {}
        if self.timeout:
            settings["timeout"] = self.timeout
        if self.retries:
            settings["retries"] = self.retries.istio()
        return settings

    def warnings(self) -> list[str]:
        if self.timeout and self.retries and self.retries.per_try_timeout and self.retries.attempts:
            total, per_try = duration_ms(self.timeout), duration_ms(self.retries.per_try_timeout)
            if total is not None and per_try is not None and per_try >= total:
                return [f"The time per try ({self.retries.per_try_timeout}) is not shorter than the "
                        f"timeout ({self.timeout}): no retry can happen before the request times out."]
        return []

    def summary(self, service: str) -> str:
        if self.remove:
            return f"Remove the timeout and retries of requests to {service}."
        parts = [f"time out after {self.timeout}"] if self.timeout else []
        if self.retries:
            parts.append(self.retries.describe())
        return f"Requests to {service}: " + "; ".join(parts) + "."


def _parse_timeout(value: Any, errors: FieldErrors) -> str | None:
    return duration(value, "timeout", errors, "timeout")


def _parse_retry_on(value: Any, errors: FieldErrors) -> str | None:
    if not isinstance(value, str) or not value.strip():
        errors.add("retries.retry_on", f"Give the retry conditions, comma-separated (e.g. \"{DEFAULT_RETRY_ON}\").")
        return None
    parts = [p.strip() for p in value.split(",")]
    bad = [p for p in parts if not (p in RETRY_CONDITIONS or (p.isdigit() and 100 <= int(p) <= 599))]
    if bad:
        errors.add("retries.retry_on", f"Unknown retry condition {', '.join(repr(b) for b in bad)}: use "
                                       f"{', '.join(RETRY_CONDITIONS)} or HTTP status codes.")
        return None
    return ",".join(parts)


def _parse_retries(raw: Any, errors: FieldErrors) -> Retries | None:
    if not isinstance(raw, Mapping):
        errors.add("retries", 'Give retries as {"attempts": 3, "per_try_timeout": "2s", "retry_on": "5xx"}.')
        return None
    reject_unknown(raw, ("attempts", "per_try_timeout", "retry_on"), errors, prefix="retries.")
    attempts = whole_number(raw.get("attempts"))
    if attempts is None or not 0 <= attempts <= MAX_ATTEMPTS:
        errors.add("retries.attempts", f"Attempts must be a whole number from 0 (no retries) to {MAX_ATTEMPTS}, "
                                       f"not {raw.get('attempts')!r}.")
    per_try = None
    if raw.get("per_try_timeout") not in (None, ""):
        per_try = duration(raw["per_try_timeout"], "retries.per_try_timeout", errors, "time per try")
    retry_on = _parse_retry_on(raw.get("retry_on", DEFAULT_RETRY_ON), errors)
    if attempts is None or retry_on is None or errors.has("retries.per_try_timeout"):
        return None
    return Retries(attempts, per_try, retry_on)


def parse_request_timeouts(data: Mapping[str, Any], inventory: Inventory) -> RequestTimeouts:
    return parse_route_settings(RequestTimeouts, data, inventory,
                                fields={"timeout": _parse_timeout, "retries": _parse_retries},
                                what="timeout or retries", give="a timeout, retries or both")


def render_request_timeouts(params: RequestTimeouts, inventory: Inventory,
                            change_id: str | None = None) -> RenderedChange:
    return render_route_settings(params, inventory, change_id)
