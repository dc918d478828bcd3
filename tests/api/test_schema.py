"""The OpenAPI schema generates cleanly and declares, for every operation, the statuses it answers."""
from __future__ import annotations

import pytest
from django.core.management import call_command

pytestmark = pytest.mark.django_db

CLUSTER_READS = ("/namespaces/", "/istio/", "/graph")


@pytest.fixture(scope="module")
def schema(django_db_blocker):
    from drf_spectacular.generators import SchemaGenerator

    with django_db_blocker.unblock():
        return SchemaGenerator().get_schema(request=None, public=True)


def _operations(schema):
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            yield path, method.upper(), operation


def _error_ref(operation, status: int) -> str:
    content = operation["responses"][str(status)]["content"]["application/json"]["schema"]
    return content["$ref"].rsplit("/", 1)[-1]


def test_schema_generates_without_warnings(tmp_path):
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml"))


def test_every_operation_declares_its_errors_with_the_error_body(schema):
    for path, method, op in _operations(schema):
        statuses = {int(s) for s in op["responses"]}
        label = f"{method} {path}"
        anonymous = path == "/api/auth/token/"  # no authentication, so no session and no CSRF check either
        if not anonymous:
            assert 401 in statuses, label
        if method != "GET" and not anonymous:
            assert 403 in statuses, label
        if "requestBody" in op:
            assert {400, 415} <= statuses, label
        if "{" in path:
            assert 404 in statuses, label
        if path.startswith("/api/clusters/{") and any(part in path for part in CLUSTER_READS):
            assert {502, 503, 504} <= statuses, label
        body = "KialiError" if path == "/api/namespaces/graph/" else "Error"
        for status in statuses:
            if status >= 400:
                assert _error_ref(op, status) == body, (label, status)


@pytest.mark.parametrize("path,method,expected", [
    ("/api/auth/token/", "post", {201, 400, 401, 415, 429}),
    ("/api/clusters/", "post", {201, 400, 401, 403, 415}),
    ("/api/clusters/{name}/", "patch", {200, 400, 401, 403, 404, 415}),
    ("/api/clusters/{name}/test/", "post", {200, 401, 403, 404}),
    ("/api/me/", "get", {200, 401}),
    ("/api/namespaces/graph/", "get", {200, 400, 401, 404, 502, 503, 504}),
])
def test_statuses_of_each_kind_of_operation(schema, path, method, expected):
    assert {int(s) for s in schema["paths"][path][method]["responses"]} == expected


def test_success_bodies_are_real_components(schema):
    """No free-form objects: each answer names its fields."""
    for path, method, op in _operations(schema):
        ok = op["responses"].get("200") or op["responses"].get("201")
        if ok is None:  # 204: no body
            assert "204" in op["responses"], (method, path)
            continue
        if "application/json" not in ok["content"]:  # a file (an export): its media types name it
            continue
        body = ok["content"]["application/json"]["schema"]
        assert "$ref" in body or "$ref" in body.get("items", {}), (method, path, body)
    components = schema["components"]["schemas"]
    edge = components["GraphEdgeData"]
    assert "responseTime" in edge["properties"] and "responseTime" not in edge["required"]
    assert edge["properties"]["isMTLS"].get("nullable") is True
    assert components["KialiEdgeData"]["properties"]["responseTime"]["type"] == "string"
