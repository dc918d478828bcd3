"""Istio's host rules, in one place: how a host written in config is resolved and matched.

Pure (no Django). The simulator routes with these functions and the validators
judge with them, so the simulator never routes traffic the validators call
broken, nor the other way round.

The rule implemented is the one the proxy configuration is built with, not a
friendlier guess:

* **Resolution** (pilot's ``ResolveShortnameToFQDN``, and istioctl analyze's
  ``ConvertHostToFQDN``): a *short name* is a host with no dot in it (Istio's
  VirtualService reference: "short-names ... (i.e. has no dots in the name)").
  It is read relative to the namespace of the *rule*, not of the service:
  ``reviews`` in a rule in ``bookinfo`` is ``reviews.bookinfo.svc.cluster.local``.
  ``*`` and IP addresses are never expanded. Every other host, i.e. anything
  with a dot, is taken literally: ``reviews.other`` and ``reviews.other.svc``
  are *not* the Service ``reviews`` of namespace ``other``. Pilot looks them up
  as they are, finds no such service, and a route to them goes to a cluster
  that does not exist (Envoy answers 503 ``NC``); a VirtualService whose host is
  ``reviews.other`` does not apply to calls to ``reviews.other.svc.cluster.local``.
* **ServiceEntry hosts** are registered literally (pilot's ServiceEntry
  conversion uses ``host.Name(hostname)`` with no resolution).
* **Matching** (Istio's ``host.Name``): a host is wildcarded when it starts with
  ``*``; ``*.example.com`` covers ``a.example.com`` and ``*.a.example.com`` but not
  ``example.com``; ``*`` covers everything. ``covers(pattern, host)`` is
  ``Name(host).SubsetOf(pattern)`` (one direction: which rule applies to a
  call); ``overlaps(a, b)`` is ``Name.Matches`` (either covers the other: do two
  rules compete for the same traffic).
* Hosts compare case-insensitively (DNS names), after trimming white space.

Why not Kiali's reading: Kiali's validators (``kubernetes.GetHost``) accept
``name.namespace`` as that Service when the namespace exists, because in-cluster
DNS resolves it for the *application*. But the proxy matches VirtualService and
DestinationRule hosts without DNS search paths, and Kiali's own FAQ warns that
validations of the ``details.bookinfo`` format "might not be accurate". Meshdeck
reports what the mesh will do, so it follows pilot.
"""
from __future__ import annotations

import ipaddress

CLUSTER_DOMAIN = "cluster.local"  # Istio's default trust/cluster domain
SERVICE_SUFFIX = f".svc.{CLUSTER_DOMAIN}"


def normalise(host: str) -> str:
    return (host or "").strip().lower()


def is_wildcard(host: str) -> bool:
    return host.startswith("*")


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def resolve(host: str, namespace: str) -> str:
    """The host a rule in ``namespace`` means by ``host`` (pilot's short-name rule)."""
    host = normalise(host)
    if not host or host == "*" or "." in host or _is_ip(host):
        return host
    return service_host(host, namespace)


def service_host(name: str, namespace: str) -> str:
    """A Kubernetes Service's hostname in the mesh: ``name.namespace.svc.cluster.local``."""
    return f"{name}.{namespace}{SERVICE_SUFFIX}"


def service_of(host: str) -> tuple[str, str] | None:
    """(name, namespace) when ``host`` is a Kubernetes Service hostname, else None."""
    host = normalise(host)
    if not host.endswith(SERVICE_SUFFIX) or is_wildcard(host):
        return None
    parts = host[: -len(SERVICE_SUFFIX)].split(".")
    if len(parts) != 2 or not all(parts):
        return None
    return parts[0], parts[1]


def covers(pattern: str, host: str) -> bool:
    """Is every name ``host`` stands for also named by ``pattern`` (Istio's ``SubsetOf``)?"""
    pattern, host = normalise(pattern), normalise(host)
    if is_wildcard(host):
        if not is_wildcard(pattern) or len(host) < len(pattern):
            return False
        return host[1:].endswith(pattern[1:])
    if is_wildcard(pattern):
        return host.endswith(pattern[1:])
    return host == pattern


def overlaps(a: str, b: str) -> bool:
    """Do two hosts name some host in common (Istio's ``Matches``)?"""
    return covers(a, b) or covers(b, a)
