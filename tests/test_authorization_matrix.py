"""One authorization matrix over every route and every WebSocket route of the portal.

Every URL pattern must appear in ROUTES (or PUBLIC), and every WebSocket route in SOCKETS: a
route without a declared access rule fails ``test_every_route_is_in_the_matrix`` (and its
socket twin). Adding a route is adding one entry; the expectations for every persona follow
from it (``expected()``), so nobody writes them out by hand.

Personas (``PERSONAS``), against the simulated demo cluster, each asking about ``bookinfo`` and
``grpc-demo`` (a DestinationRule exists there):
- anonymous; a locked-out user (its login was refused after the failed attempts); an inactive
  user (logged in, then deactivated: the open session no longer counts); these three get the
  login page (pages, 302) or 401 (API), and close code 4401 (sockets);
- an outsider (no grant): 404 for anything cluster-scoped (no existence leak), 4404 on sockets;
- a user whose grant was revoked while logged in (the session still open): from then on an
  outsider; a socket of theirs that was open closes;
- viewer, operator, approver and admin, each once with a grant on ``bookinfo`` only (granted
  for bookinfo, not granted for grpc-demo) and once on ``*`` (granted for both);
- a superuser.

An entry says what a route needs; a persona that has it gets ``ok``, one that sees the object but
lacks the role gets ``denied``, one that does not see the namespace gets ``hidden`` (404, or for
lists filtered by namespace FILTERED: a 200 with nothing of grpc-demo in it). A 302 is only ever
expected together with where it must lead (``redirect``). Bodies are checked too: a persona
without grpc-demo never reads grpc-demo's objects in a 200.

For a branch that added routes to the old table (``viewer_status``/``admin_status``): the
viewer's status is ``ok`` when ``needs`` allows a viewer, else ``denied``; ``cluster_admin=True``
for what only admins over ``*`` and superusers do; ``superuser=True`` for what only superusers do.
"""
from __future__ import annotations

import fnmatch
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings as django_settings
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from apps.accounts.roles import Role
from portal.asgi import application

G = "namespaces={ns}&graphType=workload&duration=60s"
T = 4102444800  # 2100-01-01: "the latest snapshot" for the history routes
FILTERED = 200  # hidden status of a list filtered by namespace: 200, and none of grpc-demo's objects in it
LOGIN = "login"  # logged out: pages redirect to the login page, the API answers 401
NAMESPACES = ("bookinfo", "grpc-demo")
ANY = None  # needs=ANY: any persona that sees the object (a grant on the cluster, or none for global routes)


@dataclass(frozen=True)
class Route:
    url: str  # {ns} = the namespace asked about; {grant_id}, {workload}, ... filled from OBJECTS
    api: bool = False
    method: str = "get"
    needs: Role | None = ANY  # the least role on the namespace (or, without {ns}, on the cluster)
    cluster_admin: bool = False  # only admins over every namespace ('*') and superusers
    superuser: bool = False  # only superusers
    cluster_scoped: bool = True  # an outsider (no grant on the cluster) gets 404
    hidden: int | None = 404  # a persona that does not see {ns}: 404, or FILTERED
    ok: int = 200  # a persona allowed to
    denied: int = 403  # a persona that sees the object but may not do this
    redirect: str = ""  # where an expected 302 leads (its Location starts with this)
    leak_check: bool = True  # False for pages that describe the whole API (schema, docs)


ROUTES: dict[str, Route] = {
    # core / accounts (any logged-in user; not cluster-scoped)
    "": Route("/", cluster_scoped=False),
    "accounts/profile/": Route("/accounts/profile/", cluster_scoped=False),
    "api/me/": Route("/api/me/", api=True, cluster_scoped=False),
    "api/schema/": Route("/api/schema/", api=True, cluster_scoped=False, leak_check=False),
    "api/docs/": Route("/api/docs/", api=True, cluster_scoped=False, leak_check=False),
    "api/redoc/": Route("/api/redoc/", api=True, cluster_scoped=False, leak_check=False),
    "accounts/tokens/<int:token_id>/revoke/": Route(
        "/accounts/tokens/999999/revoke/", method="post", ok=302, redirect="/accounts/profile/",
        cluster_scoped=False),
    # clusters
    "clusters/new/": Route("/clusters/new/", superuser=True, denied=302,
                           redirect="/accounts/login/?next=/clusters/new/", cluster_scoped=False),
    "api/^clusters/$": Route("/api/clusters/", api=True, cluster_scoped=False),
    "api/^clusters/(?P<name>[-a-zA-Z0-9_]+)/$": Route("/api/clusters/demo/", api=True),
    "api/^clusters/(?P<name>[-a-zA-Z0-9_]+)/test/$": Route(
        "/api/clusters/demo/test/", api=True, method="post", cluster_admin=True),
    "clusters/<slug:cluster>/": Route("/clusters/demo/"),
    "clusters/<slug:cluster>/test/": Route("/clusters/demo/test/", method="post", cluster_admin=True, ok=302,
                                           redirect="/clusters/demo/"),
    # inventory
    "clusters/<slug:cluster>/namespaces/": Route("/clusters/demo/namespaces/"),
    "api/clusters/<slug:cluster>/namespaces/": Route("/api/clusters/demo/namespaces/", api=True),
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
    "clusters/<slug:cluster>/namespaces/<str:namespace>/apps/": Route("/clusters/demo/namespaces/{ns}/apps/"),
    "clusters/<slug:cluster>/namespaces/<str:namespace>/apps/<str:name>/": Route(
        "/clusters/demo/namespaces/{ns}/apps/{app}/"),
    "api/clusters/<slug:cluster>/namespaces/<str:namespace>/apps/": Route(
        "/api/clusters/demo/namespaces/{ns}/apps/", api=True),
    "api/clusters/<slug:cluster>/namespaces/<str:namespace>/apps/<str:name>/": Route(
        "/api/clusters/demo/namespaces/{ns}/apps/{app}/", api=True),
    # Istio config
    "clusters/<slug:cluster>/istio/": Route("/clusters/demo/istio/?namespace={ns}", hidden=FILTERED),
    "api/clusters/<slug:cluster>/istio/": Route("/api/clusters/demo/istio/?namespace={ns}", api=True,
                                                hidden=FILTERED),
    "clusters/<slug:cluster>/istio/<str:namespace>/<str:kind>/<str:name>/": Route(
        "/clusters/demo/istio/{ns}/{istio_kind}/{istio_name}/"),
    "api/clusters/<slug:cluster>/istio/<str:namespace>/<str:kind>/<str:name>/": Route(
        "/api/clusters/demo/istio/{ns}/{istio_kind}/{istio_name}/", api=True),
    # graphs
    "clusters/<slug:name>/graph/": Route("/clusters/demo/graph/?namespaces={ns}", hidden=FILTERED),
    "api/clusters/<slug:name>/graph": Route("/api/clusters/demo/graph?" + G, api=True),
    "api/clusters/<slug:name>/graph/series": Route(
        "/api/clusters/demo/graph/series?namespace={ns}&workload={workload}&duration=60s", api=True),
    "api/^namespaces/graph/?$": Route("/api/namespaces/graph?cluster=demo&" + G, api=True),
    # audit history (everyone reads what their grants allow; tests/auditreview checks the narrowing)
    "audit/": Route("/audit/?namespace={ns}", hidden=FILTERED, cluster_scoped=False),
    "api/audit/events/": Route("/api/audit/events/?namespace={ns}", api=True, hidden=FILTERED,
                               cluster_scoped=False),
    "api/audit/events/export": Route("/api/audit/events/export?format=jsonl&namespace={ns}", api=True,
                                     hidden=FILTERED, cluster_scoped=False),
    "api/audit/chain/": Route("/api/audit/chain/", api=True, cluster_scoped=False),
    # history (apps.history): snapshots, diff, timeline and their pages; T = after every snapshot (the latest)
    "api/clusters/<slug:cluster>/snapshots/": Route("/api/clusters/demo/snapshots/", api=True),
    "api/clusters/<slug:cluster>/diff": Route(f"/api/clusters/demo/diff?from={T}&to={T}&namespaces={{ns}}",
                                              api=True),
    "api/clusters/<slug:cluster>/timeline": Route("/api/clusters/demo/timeline?namespaces={ns}", api=True),
    "clusters/<slug:cluster>/history/": Route("/clusters/demo/history/?namespaces={ns}", hidden=FILTERED),
    "clusters/<slug:cluster>/history/diff/": Route(
        f"/clusters/demo/history/diff/?from={T}&to={T}&namespaces={{ns}}", hidden=FILTERED),
    # change requests (apps.changes): a change is seen by who sees its namespace ({change_id}: one in {ns},
    # filed by someone else); the steps run on a draft ({change_id}) or a cancelled change ({closed_id}),
    # so an allowed persona gets the step's refusal (409) and changes nothing, a role too low gets 403
    "api/clusters/<slug:cluster>/changes/": Route("/api/clusters/demo/changes/", api=True, method="post",
                                                  needs=Role.OPERATOR, ok=400),  # no body: 400 once allowed
    "api/changes/": Route("/api/changes/?namespace={ns}", api=True, hidden=FILTERED, cluster_scoped=False),
    "api/changes/<int:change_id>/": Route("/api/changes/{change_id}/", api=True),
    "api/changes/<int:change_id>/submit/": Route("/api/changes/{change_id}/submit/", api=True, method="post",
                                                 needs=Role.OPERATOR, ok=403),  # only its requester submits
    "api/changes/<int:change_id>/approve/": Route("/api/changes/{change_id}/approve/", api=True, method="post",
                                                  needs=Role.APPROVER, ok=409),
    "api/changes/<int:change_id>/reject/": Route("/api/changes/{change_id}/reject/", api=True, method="post",
                                                 needs=Role.APPROVER, ok=409),
    "api/changes/<int:change_id>/apply/": Route("/api/changes/{change_id}/apply/", api=True, method="post",
                                                needs=Role.APPROVER, ok=409),
    "api/changes/<int:change_id>/cancel/": Route("/api/changes/{closed_id}/cancel/", api=True, method="post",
                                                 cluster_admin=True, ok=409),  # its filer, or a cluster admin
    "api/changes/<int:change_id>/rollback/": Route("/api/changes/{closed_id}/rollback/", api=True, method="post",
                                                   needs=Role.OPERATOR, ok=409),
    "changes/": Route("/changes/?namespace={ns}", hidden=FILTERED, cluster_scoped=False),
    "changes/<int:change_id>/": Route("/changes/{change_id}/"),
    "changes/<int:change_id>/<slug:step>/": Route("/changes/{closed_id}/cancel/", method="post",
                                                  cluster_admin=True, ok=409),
    "clusters/<slug:cluster>/changes/new/": Route(
        "/clusters/demo/changes/new/?kind=traffic_shift&namespace={ns}&service={service}", needs=Role.OPERATOR),
    # a cluster's grants: its admins (others who see the cluster 403, outsiders 404)
    "api/clusters/<slug:cluster>/grants/": Route("/api/clusters/demo/grants/", api=True, cluster_admin=True),
    "api/clusters/<slug:cluster>/grants/<int:grant_id>/": Route(
        "/api/clusters/demo/grants/{grant_id}/", api=True, cluster_admin=True),
    # users and teams: superusers
    "api/users/": Route("/api/users/", api=True, superuser=True, cluster_scoped=False),
    "api/users/<str:username>/": Route("/api/users/viewer/", api=True, superuser=True, cluster_scoped=False),
    "api/teams/": Route("/api/teams/", api=True, superuser=True, cluster_scoped=False),
    "api/teams/<str:name>/": Route("/api/teams/ops/", api=True, superuser=True, cluster_scoped=False),
    "api/teams/<str:name>/members/": Route("/api/teams/ops/members/", api=True, method="post", superuser=True,
                                           ok=400, cluster_scoped=False),  # no body: 400 once allowed
    "api/teams/<str:name>/members/<str:username>/": Route(
        "/api/teams/ops/members/viewer/", api=True, method="delete", superuser=True, cluster_scoped=False),
}

# Reachable without logging in, by design.
PUBLIC = {"accounts/login/", "accounts/logout/", "api/auth/token/"}

# Objects per namespace used to fill the URLs.
OBJECTS = {
    "bookinfo": {"workload": "reviews-v2", "service": "reviews", "app": "reviews", "istio_kind": "ServiceEntry",
                 "istio_name": "httpbin-ext"},
    "grpc-demo": {"workload": "grpc-server-v1", "service": "grpc-server", "app": "grpc-server",
                  "istio_kind": "DestinationRule", "istio_name": "grpc-server"},
}
LEAKS = ("grpc-server", "grpc-client")  # what a persona without grpc-demo must never read


# --- personas ----------------------------------------------------------------

LOGGED_OUT = ("anonymous", "locked_out", "inactive")


@dataclass(frozen=True)
class Persona:
    name: str  # its username too
    role: Role | None = None
    pattern: str = ""  # its one grant on the demo cluster
    superuser: bool = False
    kind: str = "person"  # or one of LOGGED_OUT, or "revoked"

    def role_on(self, namespace: str) -> Role | None:
        if self.kind != "person" or self.role is None:
            return None
        return self.role if fnmatch.fnmatchcase(namespace, self.pattern) else None

    @property
    def sees_cluster(self) -> bool:
        return self.kind == "person" and (self.superuser or self.role is not None)

    @property
    def is_cluster_admin(self) -> bool:
        return self.superuser or (self.kind == "person" and self.role == Role.ADMIN and self.pattern == "*")


PERSONAS = [
    Persona("anonymous", kind="anonymous"),
    Persona("locked-out", Role.VIEWER, "*", kind="locked_out"),
    Persona("inactive", Role.ADMIN, "*", kind="inactive"),
    Persona("revoked", Role.VIEWER, "*", kind="revoked"),
    Persona("outsider"),
    Persona("viewer", Role.VIEWER, "bookinfo"),
    Persona("viewer-all", Role.VIEWER, "*"),
    Persona("operator-bookinfo", Role.OPERATOR, "bookinfo"),
    Persona("operator", Role.OPERATOR, "*"),
    Persona("approver-bookinfo", Role.APPROVER, "bookinfo"),
    Persona("approver", Role.APPROVER, "*"),
    Persona("admin-bookinfo", Role.ADMIN, "bookinfo"),
    Persona("cluster-admin", Role.ADMIN, "*"),
    Persona("root", superuser=True),  # last: superusers' writes happen after everyone else's checks
]


def _names_namespace(url: str) -> bool:
    """The URL is about one namespace: it names it, or an object in it (a change request)."""
    return "{ns}" in url or "{change_id}" in url or "{closed_id}" in url


def expected(route: Route, who: Persona, namespace: str) -> int | str:
    """What ``who`` must get from ``route`` asking about ``namespace``."""
    if who.kind in LOGGED_OUT:
        return LOGIN
    if who.superuser:
        return route.ok
    if route.cluster_scoped and not who.sees_cluster:
        return 404
    if _names_namespace(route.url) and who.role_on(namespace) is None:
        return route.hidden
    if route.superuser:
        return route.denied
    if route.cluster_admin:
        return route.ok if who.is_cluster_admin else route.denied
    if route.needs is not None:
        role = who.role_on(namespace) if _names_namespace(route.url) else who.role
        return route.ok if role is not None and role >= route.needs else route.denied
    return route.ok


def _walk(patterns, prefix=""):
    for p in patterns:
        if isinstance(p, URLResolver):
            if prefix == "" and str(p.pattern) == "admin/":
                continue  # Django admin: staff-only by Django's own checks
            yield from _walk(p.url_patterns, prefix + str(p.pattern))
        elif isinstance(p, URLPattern):
            yield prefix + str(p.pattern)


@dataclass
class People:
    """The personas' logged-in browsers (a Django test client each) on the demo cluster."""

    clients: dict[str, Client]
    revoke: Callable[[], None]
    users: dict = field(default_factory=dict)
    token_clients: dict[str, Client] = field(default_factory=dict)  # API only: a write-scope bearer token each

    def session_cookie(self, name: str) -> str | None:
        cookie = self.clients[name].cookies.get(django_settings.SESSION_COOKIE_NAME)
        return f"{django_settings.SESSION_COOKIE_NAME}={cookie.value}" if cookie else None


PASSWORD = "matrix-persona-passphrase"
# API routes are also called with a bearer token of these (write scope, so the same expectations as
# their sessions hold: the inactive user's token is refused, the revoked user's token sees nothing).
TOKEN_PERSONAS = ("inactive", "revoked", "viewer", "cluster-admin")


def build_people(cluster) -> People:
    from django.contrib.auth import get_user_model

    from apps.accounts.models import Grant, Team
    from apps.accounts.services import api_token_create, grant_delete, user_deactivate
    from apps.audit.actor import Actor
    from apps.audit.services import Target, audit_record

    User = get_user_model()
    clients, users, token_clients = {}, {}, {}
    for who in PERSONAS:
        client = Client()
        clients[who.name] = client
        if who.kind == "anonymous":
            continue
        user = User.objects.create_user(username=who.name, password=PASSWORD, is_superuser=who.superuser,
                                        is_staff=who.superuser)
        users[who.name] = user
        if who.role is not None:
            Grant.objects.create(user=user, cluster=cluster, role=who.role, namespace_pattern=who.pattern)
        if who.name in TOKEN_PERSONAS:  # made before the deactivation or revocation below
            _, secret = api_token_create(user=user, name="matrix", scope="write")
            token_clients[who.name] = Client(headers={"Authorization": f"Bearer {secret}"})
        if who.kind == "locked_out":
            for _ in range(django_settings.LOCKOUT_THRESHOLD):
                client.post("/accounts/login/", {"username": who.name, "password": "wrong"})
            refused = client.post("/accounts/login/", {"username": who.name, "password": PASSWORD})
            assert "Too many failed logins" in refused.content.decode(), "the lockout did not happen"
        else:
            client.force_login(user)
        if who.kind == "inactive":
            assert client.get("/").status_code == 200
            user_deactivate(user=user)  # the session stays; it no longer logs anyone in
    team = Team.objects.create(name="ops")
    team.members.add(users["viewer"])
    # History of grpc-demo, so its filtered audit answers have something to hide.
    audit_record("cluster.update", actor=Actor.system("matrix"),
                 target=Target(type="destinationrule", cluster=cluster.name, namespace="grpc-demo", name="grpc-server"),
                 after={"host": "grpc-server"})

    def revoke():
        assert clients["revoked"].get("/clusters/demo/").status_code == 200, "the revoked persona never had access"
        grant_delete(grant=Grant.objects.get(user=users["revoked"]))

    return People(clients=clients, revoke=revoke, users=users, token_clients=token_clients)


@pytest.fixture
def fast_passwords(settings):
    # Fourteen people log in per test: the matrix is about access, not about password hashing.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def grpc_config(sim_cluster):
    """A DestinationRule in grpc-demo, so the hidden Istio-object URLs name a real object; a snapshot
    for the history routes; a draft and a cancelled change request in each namespace, filed by
    someone who is not a persona."""
    from django.contrib.auth import get_user_model

    from apps.changes.services import change_cancel, change_create
    from apps.history.services import snapshot_take

    sim_cluster.gateway().apply_istio_object({
        "apiVersion": "networking.istio.io/v1", "kind": "DestinationRule",
        "metadata": {"name": "grpc-server", "namespace": "grpc-demo"},
        "spec": {"host": "grpc-server", "subsets": [{"name": "v1", "labels": {"version": "v1"}}]},
    })
    snapshot_take(sim_cluster)
    filer = get_user_model().objects.create_user("filer", is_superuser=True)
    for ns, service in (("bookinfo", "reviews"), ("grpc-demo", "grpc-server")):
        data = {"kind": "traffic_shift", "namespace": ns, "service": service, "weights": {"v1": 100}}
        change_cancel(change=change_create(cluster=sim_cluster, user=filer, data=data), user=filer)  # frees the lock
        change_create(cluster=sim_cluster, user=filer, data=data)


@pytest.fixture
def people(fast_passwords, sim_cluster, grpc_config) -> People:
    return build_people(sim_cluster)


# --- the HTTP matrix ------------------------------------------------------------

def test_every_route_is_in_the_matrix():
    routes = set(_walk(get_resolver().url_patterns))
    missing = routes - set(ROUTES) - PUBLIC
    assert not missing, f"routes without an access rule in the matrix: {sorted(missing)}"
    stale = set(ROUTES) - routes
    assert not stale, f"matrix entries for routes that no longer exist: {sorted(stale)}"


def test_every_route_declares_its_hidden_variant_and_redirects():
    """A URL that names a namespace declares what the hidden one answers; a 302 says where it leads."""
    for pattern, route in ROUTES.items():
        if _names_namespace(route.url):
            assert route.hidden is not None, f"{pattern}: declare hidden (404, or FILTERED for a list)"
        if 302 in (route.ok, route.denied, route.hidden):
            assert route.redirect, f"{pattern}: a 302 needs redirect= (where it must lead)"


def test_the_personas_cover_every_role_granted_and_not():
    for role in Role:
        patterns = {p.pattern for p in PERSONAS if p.role == role and p.kind == "person"}
        assert patterns == {"bookinfo", "*"}, (role, patterns)
    assert {p.kind for p in PERSONAS} == {*LOGGED_OUT, "revoked", "person"}
    assert any(p.superuser for p in PERSONAS) and any(p.role is None and p.kind == "person" for p in PERSONAS)


def _url(route: Route, namespace: str) -> str:
    extra = {}
    if "{grant_id}" in route.url:  # a real grant of the demo cluster
        from apps.accounts.models import Grant

        extra["grant_id"] = Grant.objects.filter(cluster__name="demo").values_list("pk", flat=True).first() or 0
    if "{change_id}" in route.url or "{closed_id}" in route.url:  # the fixture's change requests in {ns}
        from apps.changes.models import ChangeRequest

        changes = ChangeRequest.objects.filter(cluster__name="demo", namespace=namespace)
        for key, status in (("change_id", ChangeRequest.Status.DRAFT), ("closed_id", ChangeRequest.Status.CANCELLED)):
            extra[key] = changes.filter(status=status).values_list("pk", flat=True).first() or 0
    return route.url.format(ns=namespace, **extra, **OBJECTS[namespace])


def _body(response) -> str:
    return (b"".join(response.streaming_content) if response.streaming else response.content).decode()


def _problems(route: Route, who: Persona, namespace: str, response, label: str) -> list[str]:
    want = expected(route, who, namespace)
    got = response.status_code
    where = f"{label} on {namespace}"
    if want == LOGIN:
        if route.api:
            return [] if got == 401 else [f"{where}: {got}, expected 401"]
        ok = got == 302 and response["Location"].startswith("/accounts/login/")
        return [] if ok else [f"{where}: {got} {response.get('Location', '')}, expected the login page"]
    if got != want:
        return [f"{where}: {got}, expected {want}: {response.content[:200]!r}"]
    if got == 302 and not response["Location"].startswith(route.redirect):
        return [f"{where}: led to {response['Location']}, expected {route.redirect}"]
    if got == 200 and route.leak_check and who.role_on("grpc-demo") is None and not who.superuser:
        body = _body(response)
        leaked = [w for w in LEAKS + (("grpc-demo",) if namespace == "bookinfo" else ()) if w in body]
        if leaked:
            return [f"{where}: the answer shows {leaked}, which {who.name} may not see"]
    if got == 200 and namespace == "grpc-demo" and route.hidden == FILTERED and who.role_on("grpc-demo"):
        if "grpc-" not in _body(response):  # the filtered variant does select data
            return [f"{where}: the grpc-demo answer shows nothing of grpc-demo"]
    return []


def _in_order(patterns) -> list[str]:
    """Reads first, then writes: one route's writes never change what a later read finds."""
    return sorted(patterns, key=lambda p: (ROUTES[p].method != "get", p))


@pytest.mark.django_db
def test_every_route_answers_every_persona_as_declared(people):
    """One set-up for all routes (fourteen people, two namespaces): every failure is listed, by route."""
    people.revoke()  # from here on, the revoked persona's session is still open but its grant is gone
    problems = {}
    for pattern in _in_order(ROUTES):
        route = ROUTES[pattern]
        namespaces = NAMESPACES if _names_namespace(route.url) else ("bookinfo",)
        callers = [(who, people.clients[who.name], who.name) for who in PERSONAS]
        if route.api:
            callers += [(who, people.token_clients[who.name], f"{who.name} (token)") for who in PERSONAS
                        if who.name in people.token_clients]
        for who, client, label in callers:
            for namespace in namespaces:
                response = getattr(client, route.method)(_url(route, namespace))
                found = _problems(route, who, namespace, response, label)
                if found:
                    problems.setdefault(pattern, []).extend(found)
    assert not problems, "\n".join(f"{pattern}:\n  " + "\n  ".join(lines) for pattern, lines in problems.items())


# --- the WebSocket matrix ----------------------------------------------------------

def _events_joined(hello: dict, namespace: str) -> bool:
    assert hello["type"] == "subscribed", hello
    return namespace in hello["namespaces"]


@dataclass(frozen=True)
class Socket:
    url: str  # {ns} = the namespace subscribed to
    needs: Role | None = ANY
    hidden_close: int | None = None  # not granted the namespace: a close code, or None (accepted, not joined)
    denied_close: int = 4403  # sees it, but the role is too low
    revoked_close: int = 4404  # the grant is revoked while connected (the user's only grant on the cluster)
    joined: Callable[[dict, str], bool] = _events_joined  # reads the first message: was {ns} joined?


def _cluster_joined(hello: dict, namespace: str) -> bool:
    """A socket about the cluster, not a namespace: its hello names the cluster."""
    assert hello["type"] == "subscribed", hello
    return hello["cluster"] == "demo"


SOCKETS: dict[str, Socket] = {
    "ws/clusters/<slug:cluster>/events/": Socket("/ws/clusters/demo/events/?namespaces={ns}"),
    # graph push: a namespace the user does not see refuses the subscription (4403)
    "ws/clusters/<slug:cluster>/graph/": Socket("/ws/clusters/demo/graph/?namespaces={ns}&graphType=workload",
                                                hidden_close=4403),
    # change notifications: anyone who sees the cluster; what reaches them is decided per event
    "ws/changes/": Socket("/ws/changes/?cluster=demo", joined=_cluster_joined),
}


def _walk_sockets(patterns, prefix=""):
    for p in patterns:
        if isinstance(p, URLResolver):
            yield from _walk_sockets(p.url_patterns, prefix + str(p.pattern))
        else:
            yield prefix + str(p.pattern)


def test_every_socket_route_is_in_the_matrix():
    from portal.routing import websocket_urlpatterns

    routes = set(_walk_sockets(websocket_urlpatterns))
    assert not routes - set(SOCKETS), f"socket routes without an access rule: {sorted(routes - set(SOCKETS))}"
    assert not set(SOCKETS) - routes, f"matrix entries for socket routes that no longer exist: " \
                                      f"{sorted(set(SOCKETS) - routes)}"


def expected_socket(socket: Socket, who: Persona, namespace: str) -> int | bool:
    """A close code, or True (accepted and joined) / False (accepted, the namespace refused)."""
    if who.kind in LOGGED_OUT:
        return 4401
    if not who.sees_cluster:
        return 4404
    if "{ns}" not in socket.url:
        return True
    role = Role.ADMIN if who.superuser else who.role_on(namespace)
    if role is None:
        return False if socket.hidden_close is None else socket.hidden_close
    if socket.needs is not None and role < socket.needs:
        return socket.denied_close
    return True


WAIT = 10  # seconds to wait for what must come (not a speed requirement)
ORIGIN = (b"origin", b"http://testserver")


async def _open(url: str, cookie: str | None):
    headers = [ORIGIN] + ([(b"cookie", cookie.encode())] if cookie else [])
    ws = WebsocketCommunicator(application, url, headers=headers)
    connected, code = await ws.connect(timeout=WAIT)
    return ws, connected, code


async def _closed_with(ws, code: int) -> bool:
    """Waits for the ``closing`` message and the close frame; True if both carry ``code``."""
    while True:
        message = await ws.receive_output(timeout=WAIT)
        if message["type"] == "websocket.close":
            return message.get("code") == code
        if message["type"] == "websocket.send" and '"closing"' in (message.get("text") or ""):
            continue


@pytest.fixture
def socket_people(fast_passwords, sim_cluster, grpc_config) -> People:
    return build_people(sim_cluster)


@pytest.fixture(autouse=False)
async def _close_connections():
    yield
    from django.db import connections

    await sync_to_async(connections.close_all)()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("pattern", sorted(SOCKETS))
async def test_socket_route_answers_every_persona_as_declared(pattern, socket_people, _close_connections):
    socket = SOCKETS[pattern]
    problems = []
    for who in PERSONAS:
        if who.kind == "revoked":
            continue  # below: its socket is opened first, then the grant goes
        cookie = socket_people.session_cookie(who.name)
        for namespace in NAMESPACES:
            want = expected_socket(socket, who, namespace)
            ws, connected, code = await _open(socket.url.format(ns=namespace), cookie)
            where = f"{who.name} on {namespace}"
            if isinstance(want, bool):
                if not connected:
                    problems.append(f"{where}: refused with {code}, expected to be accepted")
                elif socket.joined(await ws.receive_json_from(timeout=WAIT), namespace) is not want:
                    problems.append(f"{where}: {'not ' if want else ''}joined, expected the opposite")
            elif connected:
                problems.append(f"{where}: accepted, expected close code {want}")
            elif code != want:
                problems.append(f"{where}: closed with {code}, expected {want}")
            await ws.disconnect()

    # Revoked while connected: the open socket is closed, with its declared code.
    ws, connected, code = await _open(socket.url.format(ns="bookinfo"), socket_people.session_cookie("revoked"))
    assert connected, code
    assert socket.joined(await ws.receive_json_from(timeout=WAIT), "bookinfo")
    await sync_to_async(socket_people.revoke)()
    try:
        if not await _closed_with(ws, socket.revoked_close):
            problems.append(f"revoked while connected: not closed with {socket.revoked_close}")
    except TimeoutError:
        problems.append("revoked while connected: the socket stayed open")
    await ws.disconnect()
    assert not problems, f"{pattern}:\n" + "\n".join(problems)
