"""Every API error has the one shape, and its request_id is the request's X-Request-ID.

One request per status the API answers, each through the path that produces it
in real use: input validation, authentication, permissions, routing, method,
media type, lockout, Prometheus down or silent, a crash; and Kiali's own shape
on the Kiali-compatible endpoint.
"""
from __future__ import annotations

import socket

import pytest
from rest_framework.test import APIClient

from tests.support.net import free_port

pytestmark = pytest.mark.django_db

SHAPE = {"detail", "code", "request_id", "errors"}


def assert_error(response, status: int, code: str | None = None):
    assert response.status_code == status, (response.status_code, response.content[:300])
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    body = response.json()
    assert set(body) <= SHAPE and {"detail", "code", "request_id"} <= set(body), body
    assert body["detail"] and body["code"], body
    if code is not None:
        assert body["code"] == code, body
    assert body["request_id"] == response["X-Request-ID"], (body, response["X-Request-ID"])
    return body


def test_400_names_each_bad_field(api_client, superuser, sim_cluster):
    response = api_client(superuser).post("/api/clusters/", {"name": "no spaces", "kind": "moon"}, format="json")
    body = assert_error(response, 400, "invalid")
    assert set(body["errors"]) == {"name", "kind"} and all(body["errors"].values())


def test_400_for_a_bad_graph_parameter(api_client, viewer, sim_cluster):
    assert_error(api_client(viewer).get("/api/clusters/demo/graph", {"duration": "7h"}), 400, "bad_request")


def test_401_anonymous_and_bad_token(sim_cluster):
    response = APIClient().get("/api/me/")
    assert_error(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"].startswith("Bearer")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer mdk_not-a-token")
    assert_error(client.get("/api/clusters/"), 401, "authentication_failed")


def test_401_wrong_password_on_token_issue(viewer):
    response = APIClient().post("/api/auth/token/", {"username": "viewer", "password": "nope"}, format="json")
    assert_error(response, 401, "invalid_credentials")


def test_403_not_allowed(api_client, viewer, sim_cluster):
    assert_error(api_client(viewer).post("/api/clusters/demo/test/"), 403, "permission_denied")


def test_403_session_without_csrf_token(viewer, sim_cluster):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(viewer)
    body = assert_error(client.patch("/api/clusters/demo/", {}, format="json"), 403, "permission_denied")
    assert "CSRF" in body["detail"]


def test_404_unknown_object_and_unknown_url(api_client, viewer, sim_cluster):
    client = api_client(viewer)
    assert_error(client.get("/api/clusters/nope/"), 404, "not_found")
    assert_error(client.get("/api/clusters/demo/namespaces/grpc-demo/workloads/"), 404, "not_found")
    # no route matches: Django answers, in the same shape
    body = assert_error(client.get("/api/no-such-thing/"), 404, "not_found")
    assert "/api/docs/" in body["detail"]


def test_405_method_not_allowed(api_client, viewer):
    response = api_client(viewer).delete("/api/me/")
    assert_error(response, 405, "method_not_allowed")
    assert "GET" in response["Allow"]


def test_415_not_json(viewer):
    response = APIClient().post("/api/auth/token/", "username=viewer", content_type="text/plain")
    assert_error(response, 415, "unsupported_media_type")


def test_429_locked_out_on_token_issue(viewer, settings):
    client = APIClient()
    for _ in range(settings.LOCKOUT_THRESHOLD):
        client.post("/api/auth/token/", {"username": "viewer", "password": "wrong"}, format="json")
    response = client.post("/api/auth/token/", {"username": "viewer", "password": "correct-horse-battery-staple"},
                           format="json")
    body = assert_error(response, 429, "locked_out")
    assert "Try again" in body["detail"]


def test_503_prometheus_down_and_504_prometheus_silent(api_client, viewer, sim_cluster, settings):
    sim_cluster.prometheus_url = f"http://127.0.0.1:{free_port()}"
    sim_cluster.save()
    client = api_client(viewer)
    assert_error(client.get("/api/clusters/demo/graph", {"namespaces": "bookinfo"}), 503, "telemetry_unavailable")
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)  # accepts, never answers
    settings.GRAPH_PROMETHEUS_TIMEOUT = 0.3
    sim_cluster.prometheus_url = f"http://127.0.0.1:{listener.getsockname()[1]}"
    sim_cluster.save()
    try:
        response = client.get("/api/clusters/demo/graph", {"namespaces": "bookinfo"})
    finally:
        listener.close()
    assert_error(response, 504, "telemetry_timeout")


def test_500_a_crash_is_shaped_too(api_client, viewer, monkeypatch):
    from apps.accounts.api import views

    def crash(self, request):
        raise RuntimeError("a bug")

    monkeypatch.setattr(views.MeView, "get", crash)
    client = api_client(viewer)
    client.raise_request_exception = False
    body = assert_error(client.get("/api/me/"), 500, "server_error")
    assert "a bug" not in body["detail"]  # no internals


def test_a_request_id_sent_by_the_client_is_the_one_in_the_body(api_client, viewer):
    response = api_client(viewer).get("/api/clusters/nope/", HTTP_X_REQUEST_ID="trace-abc.123")
    assert response["X-Request-ID"] == "trace-abc.123"
    assert assert_error(response, 404)["request_id"] == "trace-abc.123"


@pytest.mark.parametrize("params,status", [
    ({"namespaces": "bookinfo", "duration": "7h", "cluster": "demo"}, 400),
    ({"namespaces": "grpc-demo", "cluster": "demo"}, 404),
    ({"namespaces": "bookinfo", "cluster": "nope"}, 404),
])
def test_kiali_endpoint_errors_in_kialis_shape(api_client, viewer, sim_cluster, params, status):
    response = api_client(viewer).get("/api/namespaces/graph", params)
    assert response.status_code == status
    body = response.json()
    assert set(body) == {"error", "request_id"} and body["error"]
    assert body["request_id"] == response["X-Request-ID"]
    anonymous = APIClient().get("/api/namespaces/graph", params)
    assert anonymous.status_code == 401 and set(anonymous.json()) == {"error", "request_id"}


@pytest.mark.parametrize("path", ["/api/users/", "/api/teams/", "/api/clusters/"])
def test_a_body_that_is_not_an_object_is_a_400_or_403_never_a_500(api_client, superuser, viewer, path):
    """Found by the fuzzer: naming the target of a refused write read request.data as a dict."""
    assert_error(api_client(superuser).post(path, [None, None], format="json"), 400, "invalid")
    assert_error(api_client(viewer).post(path, [None, None], format="json"), 403, "permission_denied")
