"""One authorization matrix over every route of the portal.

Every URL pattern the project serves must appear in ROUTES (or PUBLIC) below:
a new endpoint without a declared access rule fails
``test_every_route_is_in_the_matrix``. Each route is then requested by
anonymous, outsider (no grant), viewer (grant on ``bookinfo`` only) and a
cluster admin, for an object the viewer may see and one it may not
(``grpc-demo``), against the simulated demo cluster.

Expected: anonymous -> login redirect (pages) or 401/403 (API); outsider ->
404 on anything cluster-scoped (no existence leak); viewer -> 200 on bookinfo,
and on grpc-demo either 404 (objects) or, for lists filtered by namespace, a 200
that holds nothing of grpc-demo (``FILTERED``); cluster admin -> its declared
status (200 unless stated) on both, and the grpc-demo data the viewer is denied.
A 302 is only ever expected together with where it must lead (``redirect``).
"""
from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

pytestmark = pytest.mark.django_db

G = "namespaces={ns}&graphType=workload&duration=60s"


T = 4102444800  # 2100-01-01: "the latest snapshot" for the history routes
FILTERED = 200  # hidden_status of a list filtered by namespace: 200, and none of grpc-demo's objects in it


@dataclass(frozen=True)
class Route:
    visible: str  # URL with {ns} = bookinfo for the viewer
    api: bool = False
    method: str = "get"
    hidden_status: int | None = 404  # viewer on grpc-demo (FILTERED for lists); None only without {ns}
    viewer_status: int = 200  # viewer on bookinfo
    cluster_scoped: bool = True
    admin_status: int = 200  # cluster admin, on bookinfo and on grpc-demo
    redirect: str = ""  # where an expected 302 leads (its Location starts with this)


ROUTES: dict[str, Route] = {
    # core / accounts (authenticated, not cluster-scoped)
    "": Route("/", hidden_status=None, cluster_scoped=False),
    "accounts/profile/": Route("/accounts/profile/", hidden_status=None, cluster_scoped=False),
    "api/me/": Route("/api/me/", api=True, hidden_status=None, cluster_scoped=False),
    "api/schema/": Route("/api/schema/", api=True, hidden_status=None, cluster_scoped=False),
    "api/docs/": Route("/api/docs/", api=True, hidden_status=None, cluster_scoped=False),
    "api/redoc/": Route("/api/redoc/", api=True, hidden_status=None, cluster_scoped=False),
    "accounts/tokens/<int:token_id>/revoke/": Route(
        "/accounts/tokens/999999/revoke/", method="post", hidden_status=None, viewer_status=302,
        redirect="/accounts/profile/", cluster_scoped=False),
    # clusters
    "clusters/new/": Route("/clusters/new/", hidden_status=None, viewer_status=302,
                           redirect="/accounts/login/?next=/clusters/new/", cluster_scoped=False),
    "api/^clusters/$": Route("/api/clusters/", api=True, hidden_status=None, cluster_scoped=False),
    "api/^clusters/(?P<name>[-a-zA-Z0-9_]+)/$": Route("/api/clusters/demo/", api=True, hidden_status=None),
    "api/^clusters/(?P<name>[-a-zA-Z0-9_]+)/test/$": Route(
        "/api/clusters/demo/test/", api=True, method="post", hidden_status=None, viewer_status=403),
    "clusters/<slug:cluster>/": Route("/clusters/demo/", hidden_status=None),
    "clusters/<slug:cluster>/test/": Route("/clusters/demo/test/", method="post", hidden_status=None,
                                           viewer_status=403, admin_status=302, redirect="/clusters/demo/"),
    # inventory
    "clusters/<slug:cluster>/namespaces/": Route("/clusters/demo/namespaces/", hidden_status=None),
    "api/clusters/<slug:cluster>/namespaces/": Route("/api/clusters/demo/namespaces/", api=True, hidden_status=None),
    "clusters/<slug:cluster>/namespaces/<str:namespace>/workloads/": Route(
        "/clusters/demo/namespaces/{ns}/workloads/"),
    "clusters/<slug:cluster>/namespaces/<str:namespace>/workloads/<str:name>/": Route(
        "/clusters/demo/namespaces/{ns}/workloads/{workload}/"),
    "clusters/<slug:cluster>/namespaces/<str:namespace>/services/": Route("/clusters/demo/namespaces/{ns}/services/"),
    "clusters/<slug:cluster>/namespaces/<str:namespace>/services/<str:name>/": Route(
        "/clusters/demo/namespaces/{ns}/services/{service}/"),
    "api/clusters/<slug:cluster>/namespaces/<str:namespace>/workloads/": Route(
        "/api/clusters/demo/namespaces/{ns}/workloads/", api=True),
    "api/clusters/<slug:cluster>/namespaces/<str:namespace>/workloads/<str:name>/": Route(
        "/api/clusters/demo/namespaces/{ns}/workloads/{workload}/", api=True),
    "api/clusters/<slug:cluster>/namespaces/<str:namespace>/services/": Route(
        "/api/clusters/demo/namespaces/{ns}/services/", api=True),
    "api/clusters/<slug:cluster>/namespaces/<str:namespace>/services/<str:name>/": Route(
        "/api/clusters/demo/namespaces/{ns}/services/{service}/", api=True),
    # Istio config
    "clusters/<slug:cluster>/istio/": Route("/clusters/demo/istio/?namespace={ns}", hidden_status=FILTERED),
    "api/clusters/<slug:cluster>/istio/": Route("/api/clusters/demo/istio/?namespace={ns}", api=True,
                                                hidden_status=FILTERED),
    "clusters/<slug:cluster>/istio/<str:namespace>/<str:kind>/<str:name>/": Route(
        "/clusters/demo/istio/{ns}/{istio_kind}/{istio_name}/"),
    "api/clusters/<slug:cluster>/istio/<str:namespace>/<str:kind>/<str:name>/": Route(
        "/api/clusters/demo/istio/{ns}/{istio_kind}/{istio_name}/", api=True),
    # graphs
    "clusters/<slug:name>/graph/": Route("/clusters/demo/graph/?namespaces={ns}", hidden_status=FILTERED),
    "api/clusters/<slug:name>/graph": Route("/api/clusters/demo/graph?" + G, api=True),
    "api/clusters/<slug:name>/graph/series": Route(
        "/api/clusters/demo/graph/series?namespace={ns}&workload={workload}&duration=60s", api=True),
    "api/^namespaces/graph/?$": Route("/api/namespaces/graph?cluster=demo&" + G, api=True),
    # audit history (everyone reads what their grants allow; tests/auditreview checks the narrowing)
    "audit/": Route("/audit/?namespace={ns}", hidden_status=FILTERED, cluster_scoped=False),
    "api/audit/events/": Route("/api/audit/events/?namespace={ns}", api=True, hidden_status=FILTERED,
                               cluster_scoped=False),
    "api/audit/events/export": Route("/api/audit/events/export?format=jsonl&namespace={ns}", api=True,
                                     hidden_status=FILTERED, cluster_scoped=False),
    "api/audit/chain/": Route("/api/audit/chain/", api=True, hidden_status=None, cluster_scoped=False),
    # history (apps.history): snapshots, diff, timeline; T = a time after every snapshot (the latest)
    "api/clusters/<slug:cluster>/snapshots/": Route("/api/clusters/demo/snapshots/", api=True, hidden_status=None),
    "api/clusters/<slug:cluster>/diff": Route(f"/api/clusters/demo/diff?from={T}&to={T}&namespaces={{ns}}",
                                              api=True),
    "api/clusters/<slug:cluster>/timeline": Route("/api/clusters/demo/timeline?namespaces={ns}", api=True),
    "clusters/<slug:cluster>/history/": Route("/clusters/demo/history/?namespaces={ns}", hidden_status=FILTERED),
    "clusters/<slug:cluster>/history/diff/": Route(
        f"/clusters/demo/history/diff/?from={T}&to={T}&namespaces={{ns}}", hidden_status=FILTERED),
    # a cluster's grants: its admins (viewers 403, outsiders 404)
    "api/clusters/<slug:cluster>/grants/": Route("/api/clusters/demo/grants/", api=True, hidden_status=None,
                                                 viewer_status=403),
    "api/clusters/<slug:cluster>/grants/<int:grant_id>/": Route(
        "/api/clusters/demo/grants/{grant_id}/", api=True, hidden_status=None, viewer_status=403),
    # users and teams: superusers
    "api/users/": Route("/api/users/", api=True, hidden_status=None, viewer_status=403, cluster_scoped=False),
    "api/users/<str:username>/": Route("/api/users/viewer/", api=True, hidden_status=None, viewer_status=403,
                                       cluster_scoped=False),
    "api/teams/": Route("/api/teams/", api=True, hidden_status=None, viewer_status=403, cluster_scoped=False),
    "api/teams/<str:name>/": Route("/api/teams/ops/", api=True, hidden_status=None, viewer_status=403,
                                   cluster_scoped=False),
    "api/teams/<str:name>/members/": Route("/api/teams/ops/members/", api=True, method="post", hidden_status=None,
                                           viewer_status=403, cluster_scoped=False),
    "api/teams/<str:name>/members/<str:username>/": Route(
        "/api/teams/ops/members/viewer/", api=True, method="delete", hidden_status=None, viewer_status=403,
        cluster_scoped=False),
}

HISTORY_ROUTES = {p for p in ROUTES if "/snapshots/" in p or "/diff" in p or "/timeline" in p or "/history/" in p}

# Reachable without logging in, by design.
PUBLIC = {"accounts/login/", "accounts/logout/", "api/auth/token/"}

# Objects per namespace used to fill the URLs.
OBJECTS = {
    "bookinfo": {"workload": "reviews-v2", "service": "reviews", "istio_kind": "ServiceEntry",
                 "istio_name": "httpbin-ext"},
    "grpc-demo": {"workload": "grpc-server-v1", "service": "grpc-server", "istio_kind": "DestinationRule",
                  "istio_name": "grpc-server"},
}


def _walk(patterns, prefix=""):
    for p in patterns:
        if isinstance(p, URLResolver):
            if prefix == "" and str(p.pattern) == "admin/":
                continue  # Django admin: staff-only by Django's own checks
            yield from _walk(p.url_patterns, prefix + str(p.pattern))
        elif isinstance(p, URLPattern):
            yield prefix + str(p.pattern)


def test_every_route_is_in_the_matrix():
    routes = set(_walk(get_resolver().url_patterns))
    missing = routes - set(ROUTES) - PUBLIC
    assert not missing, f"routes without an access rule in the matrix: {sorted(missing)}"
    stale = set(ROUTES) - routes
    assert not stale, f"matrix entries for routes that no longer exist: {sorted(stale)}"


def test_every_route_declares_its_hidden_variant_and_redirects():
    """A URL that names a namespace is also requested for the hidden one; a 302 says where it leads."""
    for pattern, route in ROUTES.items():
        if "{ns}" in route.visible:
            assert route.hidden_status is not None, f"{pattern}: declare hidden_status (404, or FILTERED for a list)"
        if 302 in (route.viewer_status, route.admin_status):
            assert route.redirect, f"{pattern}: a 302 needs redirect= (where it must lead)"


def _url(route: Route, ns: str) -> str:
    extra = {}
    if "{grant_id}" in route.visible:  # a real grant of the demo cluster
        from apps.accounts.models import Grant

        extra["grant_id"] = Grant.objects.filter(cluster__name="demo").values_list("pk", flat=True).first() or 0
    return route.visible.format(ns=ns, **extra, **OBJECTS[ns])


def _call(client, route: Route, url: str):
    return getattr(client, route.method)(url)


def _body(response) -> str:
    return (b"".join(response.streaming_content) if response.streaming else response.content).decode()


def _assert_status(response, expected: int, route: Route, who: str) -> None:
    assert response.status_code == expected, (who, response.status_code, response.content[:300])
    if expected == 302:
        assert response["Location"].startswith(route.redirect), (who, response["Location"], route.redirect)


@pytest.fixture
def grpc_config(sim_cluster, request):
    """A DestinationRule in grpc-demo, so the hidden Istio-object URLs name a real object."""
    gateway = sim_cluster.gateway()
    gateway.apply_istio_object({
        "apiVersion": "networking.istio.io/v1", "kind": "DestinationRule",
        "metadata": {"name": "grpc-server", "namespace": "grpc-demo"},
        "spec": {"host": "grpc-server", "subsets": [{"name": "v1", "labels": {"version": "v1"}}]},
    })
    pattern = getattr(getattr(request.node, "callspec", None), "params", {}).get("pattern", "")
    if pattern in HISTORY_ROUTES:  # the history routes read a snapshot of the cluster
        from apps.history.services import snapshot_take

        snapshot_take(sim_cluster)


ROUTE_IDS = sorted(ROUTES)


@pytest.mark.parametrize("pattern", ROUTE_IDS)
def test_anonymous_is_sent_to_login_or_refused(pattern, client, sim_cluster):
    route = ROUTES[pattern]
    response = _call(client, route, _url(route, "bookinfo"))
    if route.api:
        assert response.status_code in (401, 403), response.status_code
    else:
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]


@pytest.mark.parametrize("pattern", [p for p in ROUTE_IDS if ROUTES[p].cluster_scoped])
def test_outsider_gets_404_for_anything_cluster_scoped(pattern, outsider, page_client, grpc_config):
    route = ROUTES[pattern]
    client = page_client(outsider)
    for ns in ("bookinfo", "grpc-demo"):
        response = _call(client, route, _url(route, ns))
        assert response.status_code == 404, (ns, response.status_code)


@pytest.mark.parametrize("pattern", ROUTE_IDS)
def test_viewer_sees_bookinfo_and_nothing_of_grpc_demo(pattern, viewer, page_client, grpc_config):
    route = ROUTES[pattern]
    client = page_client(viewer)
    response = _call(client, route, _url(route, "bookinfo"))
    _assert_status(response, route.viewer_status, route, "viewer")
    if route.hidden_status is not None:
        hidden = _call(client, route, _url(route, "grpc-demo"))
        assert hidden.status_code == route.hidden_status, hidden.content[:500]
        if hidden.status_code == 200:  # FILTERED: an answer with none of grpc-demo's objects in it
            body = _body(hidden)  # (the namespace's name may come back as the viewer's own filter)
            assert "grpc-server" not in body and "grpc-client" not in body, body[:500]
    if response.status_code == 200 and pattern not in ("api/schema/", "api/docs/", "api/redoc/"):
        body = _body(response)
        assert "grpc-server" not in body and "grpc-demo" not in body


@pytest.mark.parametrize("pattern", [p for p in ROUTE_IDS if ROUTES[p].cluster_scoped])
def test_cluster_admin_sees_both(pattern, cluster_admin, page_client, grpc_config):
    route = ROUTES[pattern]
    client = page_client(cluster_admin)
    for ns in ("bookinfo", "grpc-demo"):
        response = _call(client, route, _url(route, ns))
        _assert_status(response, route.admin_status, route, f"cluster admin on {ns}")
    if route.hidden_status == FILTERED:
        # the filtered variant does select data: what the viewer got without it exists
        assert "grpc-" in _body(response), f"{pattern}: the admin's grpc-demo answer shows nothing of grpc-demo"


# --- WebSocket routes (portal/routing.py) ----------------------------------------------------
# Anonymous -> 4401 and outsider -> 4404 at the handshake; viewer accepted on bookinfo; on
# grpc-demo alone either refused (``hidden_close``) or accepted with grpc-demo in ``refused``
# (None); the cluster admin accepted on both.


@dataclass(frozen=True)
class SocketRoute:
    path: str  # with {ns}
    hidden_close: int | None


SOCKET_ROUTES: dict[str, SocketRoute] = {
    "ws/clusters/<slug:cluster>/events/": SocketRoute("/ws/clusters/demo/events/?namespaces={ns}", hidden_close=None),
    "ws/clusters/<slug:cluster>/graph/": SocketRoute(
        "/ws/clusters/demo/graph/?namespaces={ns}&graphType=workload", hidden_close=4403),
}
SOCKET_IDS = sorted(SOCKET_ROUTES)


def test_every_socket_route_is_in_the_matrix():
    from portal.routing import websocket_urlpatterns

    assert {str(p.pattern) for p in websocket_urlpatterns} == set(SOCKET_ROUTES)


async def _socket(path: str, user=None):
    """(communicator, accepted, close code, first message or None)"""
    from channels.db import database_sync_to_async
    from channels.testing import WebsocketCommunicator

    from apps.accounts.services import api_token_create
    from portal.asgi import application

    headers = [(b"origin", b"http://testserver")]
    if user is not None:
        _, secret = await database_sync_to_async(api_token_create)(user=user, name="matrix")
        headers.append((b"authorization", f"Bearer {secret}".encode()))
    ws = WebsocketCommunicator(application, path, headers=headers)
    accepted, code = await ws.connect(timeout=10)
    first = await ws.receive_json_from(timeout=10) if accepted else None
    return ws, accepted, code, first


@pytest.fixture
async def _socket_db_closed(settings):
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    yield
    from asgiref.sync import sync_to_async
    from django.db import connections

    await sync_to_async(connections.close_all)()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("pattern", SOCKET_IDS)
async def test_sockets_follow_the_same_rules(pattern, _socket_db_closed, viewer, outsider, cluster_admin):
    route = SOCKET_ROUTES[pattern]
    bookinfo, hidden = route.path.format(ns="bookinfo"), route.path.format(ns="grpc-demo")
    _, accepted, code, _ = await _socket(bookinfo)
    assert (accepted, code) == (False, 4401), "anonymous"
    _, accepted, code, _ = await _socket(bookinfo, outsider)
    assert (accepted, code) == (False, 4404), "outsider"
    ws, accepted, code, hello = await _socket(bookinfo, viewer)
    assert accepted and hello["namespaces"] == ["bookinfo"], ("viewer on bookinfo", code, hello)
    await ws.disconnect()
    ws, accepted, code, hello = await _socket(hidden, viewer)
    if route.hidden_close is None:
        assert accepted and hello["namespaces"] == [] and hello["refused"] == ["grpc-demo"], hello
        await ws.disconnect()
    else:
        assert (accepted, code) == (False, route.hidden_close), "viewer on grpc-demo"
    for path, ns in ((bookinfo, "bookinfo"), (hidden, "grpc-demo")):
        ws, accepted, code, hello = await _socket(path, cluster_admin)
        assert accepted and hello["namespaces"] == [ns], ("cluster admin", ns, code)
        await ws.disconnect()
