"""AuthorizationPolicy rule checks (Kiali: business/checkers/authorization)."""
from __future__ import annotations

import re
from collections.abc import Iterator

from .. import hosts
from .base import ERROR, WARNING, Finding, MeshIndex, as_dict, as_list, check

HTTP_METHODS = {"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"}
GRPC_METHOD = re.compile(r"^/[A-Za-z_][\w.]*\.[A-Za-z_]\w*/[A-Za-z_]\w*$")


def _rule_parts(ap, section: str, inner: str):
    for r, rule in enumerate(as_list(ap.spec.get("rules"))):
        for p, part in enumerate(as_list(as_dict(rule).get(section))):
            yield f"spec.rules[{r}].{section}[{p}].{inner}", as_dict(as_dict(part).get(inner))


@check("AP-NAMESPACE-NOT-FOUND", kiali="KIA0101", severity=WARNING, kind="AuthorizationPolicy",
       title="A rule's source namespace does not exist")
def ap_source_namespace_not_found(index: MeshIndex) -> Iterator[Finding]:
    for ap in index.objects("AuthorizationPolicy"):
        for path, source in _rule_parts(ap, "from", "source"):
            for k, ns in enumerate(as_list(source.get("namespaces"))):
                if isinstance(ns, str) and "*" not in ns and ns not in index.namespaces:
                    yield Finding(ap, f"{path}.namespaces[{k}]", f"Namespace {ns!r} does not exist.")


@check("AP-METHOD-INVALID", kiali="KIA0102", severity=WARNING, kind="AuthorizationPolicy",
       title="A rule names something that is neither an HTTP method nor a gRPC method")
def ap_wrong_method(index: MeshIndex) -> Iterator[Finding]:
    for ap in index.objects("AuthorizationPolicy"):
        for path, op in _rule_parts(ap, "to", "operation"):
            for k, method in enumerate(as_list(op.get("methods"))):
                if not isinstance(method, str):
                    continue
                if method == "*" or method.upper() in HTTP_METHODS and method == method.upper():
                    continue
                if GRPC_METHOD.match(method):
                    continue
                yield Finding(ap, f"{path}.methods[{k}]",
                              f"{method!r} is not an HTTP method (upper case) or a fully-qualified gRPC "
                              "method (/package.Service/Method).")


@check("AP-HOST-NOT-FOUND", kiali="KIA0104", severity=ERROR, kind="AuthorizationPolicy",
       title="A rule's destination host is not in the service registry")
def ap_host_not_found(index: MeshIndex) -> Iterator[Finding]:
    for ap in index.objects("AuthorizationPolicy"):
        for path, op in _rule_parts(ap, "to", "operation"):
            for k, host in enumerate(as_list(op.get("hosts"))):
                if not isinstance(host, str) or "*" in host:
                    continue
                name = host.rsplit(":", 1)[0] if re.search(r":\d+$", host) else host
                if not index.host_known(hosts.resolve(name, ap.namespace)):
                    yield Finding(ap, f"{path}.hosts[{k}]",
                                  f"Host {host!r} matches no Service or ServiceEntry.")
