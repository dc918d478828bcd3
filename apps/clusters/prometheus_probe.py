"""Is Prometheus there, and does it hold Istio's metrics? Precise errors."""
from __future__ import annotations

import requests


class PrometheusProbeError(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


def describe_requests_error(exc: Exception, url: str, timeout: float) -> PrometheusProbeError:
    if isinstance(exc, requests.exceptions.SSLError):
        return PrometheusProbeError("tls",
                                    f"TLS error talking to {url}: {exc.__class__.__name__}; check its certificate.")
    if isinstance(exc, requests.exceptions.Timeout):
        return PrometheusProbeError("timeout", f"No answer from {url} within {timeout:g} s.")
    if isinstance(exc, requests.exceptions.ConnectionError):
        text = str(exc)
        if "Name or service not known" in text or "NameResolutionError" in text or "getaddrinfo" in text:
            return PrometheusProbeError("dns", f"Cannot resolve the host name in {url}.")
        if "refused" in text.lower():
            return PrometheusProbeError("refused", f"Connection refused by {url}: is Prometheus running on that port?")
        return PrometheusProbeError("unreachable", f"Cannot reach {url}: {exc.__class__.__name__}.")
    return PrometheusProbeError("error", f"Request to {url} failed: {exc}")


def probe_prometheus(url: str, timeout: float = 5.0, session: requests.Session | None = None) -> dict:
    base = url.rstrip("/")
    http = session or requests
    try:
        resp = http.get(f"{base}/api/v1/query", params={"query": "count(istio_requests_total)"}, timeout=timeout)
    except requests.exceptions.RequestException as exc:
        raise describe_requests_error(exc, base, timeout) from exc
    if resp.status_code in (401, 403):
        raise PrometheusProbeError(
            "unauthorized" if resp.status_code == 401 else "forbidden",
            f"Prometheus at {base} answered {resp.status_code}: it needs credentials the portal does not have.",
        )
    if resp.status_code != 200:
        raise PrometheusProbeError("http", f"Prometheus at {base} answered HTTP {resp.status_code}.")
    try:
        body = resp.json()
    except ValueError as exc:
        raise PrometheusProbeError("not_prometheus", f"{base} did not answer like Prometheus (no JSON).") from exc
    if body.get("status") != "success":
        raise PrometheusProbeError("query", f"Prometheus refused the query: {body.get('error', 'unknown error')}.")
    result = body.get("data", {}).get("result", [])
    series = int(float(result[0]["value"][1])) if result else 0
    if not series:
        raise PrometheusProbeError(
            "no_istio_metrics",
            f"Prometheus at {base} is reachable but has no istio_requests_total series: "
            "is it scraping the Istio sidecars?",
        )
    return {"istio_requests_total_series": series}
