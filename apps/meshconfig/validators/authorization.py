"""AuthorizationPolicy rule checks (Kiali: business/checkers/authorization)."""
from __future__ import annotations

import re
from collections.abc import Iterator

from .. import hosts
from .base import ERROR, WARNING, Finding, MeshIndex, as_dict, as_list, check

HTTP_METHODS = {"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"}
GRPC_METHOD = re.compile(r"^/[A-Za-z_][\w.]*\.[A-Za-z_]\w*/[A-Za-z_]\w*$")


def _rule_values(index: MeshIndex, section: str, inner: str, field: str):
    """(policy, path, value) of every entry of ``field`` in the rules' ``section`` parts, e.g. the
    hosts of every ``to[].operation``."""
    for ap in index.objects("AuthorizationPolicy"):
        for r, rule in enumerate(as_list(ap.spec.get("rules"))):
            for p, part in enumerate(as_list(as_dict(rule).get(section))):
                for k, value in enumerate(as_list(as_dict(as_dict(part).get(inner)).get(field))):
                    yield ap, f"spec.rules[{r}].{section}[{p}].{inner}.{field}[{k}]", value


@check("AP-NAMESPACE-NOT-FOUND", kiali="KIA0101", severity=WARNING, kind="AuthorizationPolicy",
       title="A rule's source namespace does not exist")
def ap_source_namespace_not_found(index: MeshIndex) -> Iterator[Finding]:
    for ap, path, ns in _rule_values(index, "from", "source", "namespaces"):
        if isinstance(ns, str) and "*" not in ns and ns not in index.namespaces:
            yield Finding(ap, path, f"Namespace {ns!r} does not exist.")


@check("AP-METHOD-INVALID", kiali="KIA0102", severity=WARNING, kind="AuthorizationPolicy",
       title="A rule names something that is neither an HTTP method nor a gRPC method")
def ap_wrong_method(index: MeshIndex) -> Iterator[Finding]:
    for ap, path, method in _rule_values(index, "to", "operation", "methods"):
        if not isinstance(method, str):
            continue
        if method == "*" or method.upper() in HTTP_METHODS and method == method.upper():
            continue
        if GRPC_METHOD.match(method):
            continue
        yield Finding(ap, path, f"{method!r} is not an HTTP method (upper case) or a fully-qualified gRPC "
                                "method (/package.Service/Method).")


@check("AP-HOST-NOT-FOUND", kiali="KIA0104", severity=ERROR, kind="AuthorizationPolicy",
       title="A rule's destination host is not in the service registry")
def ap_host_not_found(index: MeshIndex) -> Iterator[Finding]:
    for ap, path, host in _rule_values(index, "to", "operation", "hosts"):
        if not isinstance(host, str) or "*" in host:
            continue
        name = host.rsplit(":", 1)[0] if re.search(r":\d+$", host) else host
        if not index.host_known(hosts.resolve(name, ap.namespace)):
            yield Finding(ap, path, f"Host {host!r} matches no Service or ServiceEntry.")
