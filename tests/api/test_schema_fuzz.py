"""The OpenAPI schema describes what the API really answers: schemathesis against a live portal.

The portal runs as ``make run`` runs it (``manage.py runportal`` on SQLite with
the demo seed). Every operation of ``/api/schema/`` gets generated requests as
the demo superuser (a bearer token from ``POST /api/auth/token/``): valid ones,
invalid ones, and valid ones aimed at objects that exist (cluster ``demo``, its
namespaces, workloads, services, Istio objects), so the success bodies are
checked too. Each answer must be no 5xx, a declared status, the declared
content type, and a body that validates against the declared schema.

Generated cluster settings never name a host (``offline_guard``), and the
portal's HTTP clients get a proxy that is a closed loopback port.
"""
from __future__ import annotations

import os
import time
from collections.abc import Callable

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.support.portal_process import PortalProcess

from .offline_guard import CLOSED, offline_body, spare_the_caller

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
# Cases per operation and generation mode (valid, invalid, aimed at real objects): 10 gives
# 30 requests per operation, over 1,000 in all (the hardening issue's floor).
EXAMPLES = int(os.environ.get("MESHDECK_FUZZ_EXAMPLES", "10"))
MINIMUM_TOTAL = 1000 if EXAMPLES >= 10 else 0  # a smaller MESHDECK_FUZZ_EXAMPLES is a quick local run

# Objects that exist in the demo cluster, so generated requests reach the views' success paths.
REAL = {
    "cluster": ["demo"],
    "name": ["demo", "reviews-v2", "productpage-v1", "reviews", "details", "httpbin-ext"],
    "namespace": ["bookinfo", "grpc-demo", "-"],
    "kind": ["ServiceEntry", "virtualservices", "Deployment"],
}
REAL_QUERY = {
    "namespaces": st.sampled_from(["bookinfo", "bookinfo,grpc-demo", "grpc-demo"]),
    "namespace": st.sampled_from(["bookinfo", "grpc-demo"]),
    "workload": st.sampled_from(["details-v1", "reviews-v3", "grpc-server-v1"]),
    "graphType": st.sampled_from(["app", "versionedApp", "workload", "service"]),
    "duration": st.sampled_from(["60s", "5m", "1h"]),
    "responseTime": st.sampled_from(["50", "95", "avg"]),
    "cluster": st.just("demo"),
}


@pytest.fixture(scope="module")
def portal(tmp_path_factory):
    proc = PortalProcess(tmp_path_factory.mktemp("fuzz-portal"))
    # Second guard: anything the portal fetches over HTTP(S) off loopback goes to a closed port.
    proc.env.update(HTTP_PROXY=f"http://{CLOSED}", HTTPS_PROXY=f"http://{CLOSED}", NO_PROXY="127.0.0.1,localhost")
    proc.start()
    yield proc
    proc.stop()


@pytest.fixture(scope="module")
def token(portal) -> str:
    response = requests.post(portal.url + "/api/auth/token/",
                             json={"username": "admin", "password": portal.passwords["admin"], "scope": "write"},
                             timeout=30)
    assert response.status_code == 201, response.text
    return response.json()["token"]


@pytest.fixture(scope="module")
def api_schema(portal, token):
    return schemathesis.openapi.from_url(portal.url + "/api/schema/?format=json",
                                         headers={"Authorization": f"Bearer {token}"}, timeout=30)


def _real_values(operation) -> dict[str, Callable]:
    """Strategies for this operation's path and query parameters that name existing objects."""
    path = {p.name: st.sampled_from(REAL[p.name]) for p in operation.path_parameters if p.name in REAL}
    query = {p.name: REAL_QUERY[p.name] for p in operation.query if p.name in REAL_QUERY}
    return {"path": path, "query": query}


def _strategy(operation):
    """Valid and invalid requests, and valid ones for existing objects."""
    real = _real_values(operation)
    aimed = st.fixed_dictionaries(real["path"]).flatmap(
        lambda path: st.fixed_dictionaries(real["query"]).flatmap(
            lambda query: operation.as_strategy(path_parameters=path or None, query=query or None)))
    return st.one_of(
        operation.as_strategy(GenerationMode.POSITIVE),
        operation.as_strategy(GenerationMode.NEGATIVE),
        aimed,
    )


def _run(operation, base_url: str, token: str) -> int:
    """Fuzz one operation; returns how many requests were sent (raises on the first bad answer)."""
    sent = 0

    @settings(max_examples=EXAMPLES * 3, deadline=None, database=None, derandomize=True,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    @given(case=_strategy(operation))
    def check(case):
        nonlocal sent
        if isinstance(case.body, (dict, list)):
            case.body = offline_body(case.body)
        spare_the_caller(case, "admin")
        response = case.call(base_url=base_url, headers={"Authorization": f"Bearer {token}"}, timeout=60)
        sent += 1
        case.validate_response(response, checks=CHECKS)

    check()
    return sent


def _describe(exc: BaseException) -> str:
    """The failure, with what a group (or Hypothesis's FlakyFailure) holds inside."""
    text = f"{type(exc).__name__}: {exc}"
    for inner in getattr(exc, "exceptions", ()):
        text += "\n  -> " + _describe(inner).replace("\n", "\n     ")
    return text


# Not a speed requirement: pytest's default 300 s would interrupt a run on a busy machine half way, and
# Hypothesis reports that interruption as a flaky failure of whichever operation was running.
@pytest.mark.timeout(1200)
def test_every_operation_answers_as_its_schema_says(api_schema, portal, token):
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 17, [op.label for op in operations]
    only = os.environ.get("MESHDECK_FUZZ_ONLY", "")  # a local run of some operations: "graph/series"
    operations = [op for op in operations if only in op.label]
    failures, sent, seconds = {}, {}, {}
    started = time.monotonic()
    for operation in operations:
        begun = time.monotonic()
        try:
            sent[operation.label] = _run(operation, portal.url, token)
        except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - a report for every operation, not the first
            failures[operation.label] = _describe(exc)
        seconds[operation.label] = time.monotonic() - begun
    assert not failures, "\n\n".join(f"== {label}\n{text}" for label, text in failures.items())
    total = sum(sent.values())
    show = int(os.environ.get("MESHDECK_FUZZ_SHOW_SLOWEST", "3"))
    slowest = ", ".join(f"{label} {seconds[label]:.1f}s" for label in sorted(seconds, key=seconds.get)[-show:])
    print(f"{total} requests over {len(sent)} operations in {time.monotonic() - started:.0f}s (slowest: {slowest})")
    assert only or total >= MINIMUM_TOTAL, f"only {total} generated requests; the floor is {MINIMUM_TOTAL}"
    thin = {label: n for label, n in sent.items() if n < EXAMPLES}
    assert not thin, f"operations that got fewer than {EXAMPLES} requests: {thin}"
