"""A cluster's health tolerances are checked on every write path, and a bad stored value breaks no page.

Write paths: the admin's change form, ``PATCH /api/clusters/<name>/`` and
``manage.py cluster set``. Each refuses a bad value with a message naming the
item and the key, and stores nothing. A value stored before these checks (or
written around them) falls back to Kiali's defaults, and the cluster page says so.
"""
from __future__ import annotations

import json

import pytest
from django.core.management import CommandError, call_command

from apps.clusters.models import Cluster

pytestmark = pytest.mark.django_db

GOOD = [{"code": "5XX", "protocol": "http", "direction": ".*", "degraded": 0, "failure": 1}]
BAD = [GOOD[0], {"code": "5[", "protocol": "http", "degraded": 0, "failure": 10}]
BAD_MESSAGE = "health_tolerances item 2: code '5[' is not a regular expression"


@pytest.mark.parametrize("value,message", [
    ({"code": "5XX"}, "health_tolerances must be a list of"),
    (["5XX"], "health_tolerances item 1 must be an object"),
    (BAD, BAD_MESSAGE),
    ([{"code": "5XX", "protocol": "(http"}], "health_tolerances item 1: protocol '(http' is not a regular expression"),
    ([{"code": 500}], "health_tolerances item 1: code must be text (a regular expression)"),
    ([{"code": "5XX", "failure": "ten"}], "health_tolerances item 1: failure must be a number (percent), got 'ten'"),
    ([{"code": "5XX", "degraded": True}], "health_tolerances item 1: degraded must be a number (percent), got True"),
    ([{"code": "5XX", "failure": 150}], "health_tolerances item 1: failure must be between 0 and 100, got 150"),
    ([{"code": "5XX", "degraded": 20, "failure": 10}],
     "health_tolerances item 1: degraded (20) must not be above failure (10)"),
    ([{"code": "5XX", "degradd": 5}],
     "health_tolerances item 1: unknown key 'degradd' (known: code, protocol, direction, degraded, failure)"),
])
def test_each_problem_is_named(value, message):
    from apps.clusters.tolerances import tolerance_problems

    problems = tolerance_problems(value)
    assert any(p.startswith(message) for p in problems), problems


@pytest.mark.parametrize("value", [None, [], GOOD, [{"code": "^-$", "protocol": "http|grpc"}]])
def test_good_values_have_no_problem(value):
    from apps.clusters.tolerances import DEFAULT_TOLERANCES, tolerance_problems

    assert tolerance_problems(value) == []
    assert tolerance_problems(DEFAULT_TOLERANCES) == []


# -- the admin ----------------------------------------------------------------
def _admin_post(client, cluster, tolerances):
    data = {
        "name": cluster.name, "kind": cluster.kind, "simulator_topology": cluster.simulator_topology,
        "api_server_url": "", "kube_context": "", "prometheus_url": "", "grafana_url": "", "tracing_url": "",
        "istio_namespace": cluster.istio_namespace, "health_tolerances": json.dumps(tolerances),
        "kubeconfig": "", "token": "", "ca_pem": "", "_save": "Save",
    }
    return client.post(f"/admin/clusters/cluster/{cluster.pk}/change/", data)


def test_admin_refuses_a_bad_value_and_names_it(client, superuser, sim_cluster):
    client.force_login(superuser)
    response = _admin_post(client, sim_cluster, BAD)
    assert response.status_code == 200  # the form again, with the error
    assert BAD_MESSAGE.replace("'", "&#x27;") in response.content.decode()
    sim_cluster.refresh_from_db()
    assert sim_cluster.health_tolerances is None


def test_admin_saves_a_good_value(client, superuser, sim_cluster):
    client.force_login(superuser)
    response = _admin_post(client, sim_cluster, GOOD)
    assert response.status_code == 302, response.content.decode()[-2000:]
    sim_cluster.refresh_from_db()
    assert sim_cluster.health_tolerances == GOOD


# -- the API --------------------------------------------------------------------
def test_api_refuses_a_bad_value_and_names_it(api_client, cluster_admin, sim_cluster):
    response = api_client(cluster_admin).patch("/api/clusters/demo/", {"health_tolerances": BAD}, format="json")
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"] == "invalid" and body["request_id"] == response["X-Request-ID"]
    assert any(m.startswith(BAD_MESSAGE) for m in body["errors"]["health_tolerances"]), body
    sim_cluster.refresh_from_db()
    assert sim_cluster.health_tolerances is None


def test_api_saves_a_good_value_and_health_follows_it(api_client, cluster_admin, sim_cluster):
    client = api_client(cluster_admin)
    url, params = "/api/clusters/demo/graph", {"namespaces": "bookinfo", "graphType": "workload",
                                              "injectServiceNodes": "false"}

    def details_edge():
        body = client.get(url, params).json()
        nodes = {n["data"]["id"]: n["data"] for n in body["elements"]["nodes"]}
        return next(e["data"] for e in body["elements"]["edges"]
                    if nodes[e["data"]["target"]].get("workload") == "details-v1")

    assert details_edge()["healthStatus"] == "Degraded"  # 2% 503s, Kiali's defaults
    response = client.patch("/api/clusters/demo/", {"health_tolerances": GOOD, "grafana_url": "http://127.0.0.1:3000"},
                            format="json")
    assert response.status_code == 200, response.content
    assert response.json()["health_tolerances"] == GOOD and response.json()["grafana_url"] == "http://127.0.0.1:3000"
    assert details_edge()["healthStatus"] == "Failure"  # failure from 1% 5xx
    # back to the defaults
    assert client.patch("/api/clusters/demo/", {"health_tolerances": None}, format="json").status_code == 200
    assert details_edge()["healthStatus"] == "Degraded"


def test_api_update_is_for_the_clusters_admins(api_client, viewer, outsider, sim_cluster):
    body = {"health_tolerances": GOOD}
    response = api_client(viewer).patch("/api/clusters/demo/", body, format="json")
    assert response.status_code == 403 and response.json()["code"] == "permission_denied"
    assert api_client(outsider).patch("/api/clusters/demo/", body, format="json").status_code == 404
    sim_cluster.refresh_from_db()
    assert sim_cluster.health_tolerances is None


def test_api_update_refuses_fields_it_does_not_change(api_client, cluster_admin, sim_cluster):
    response = api_client(cluster_admin).patch("/api/clusters/demo/", {"kind": "kubernetes"}, format="json")
    assert response.status_code == 400 and "kind" in response.json()["errors"], response.content
    assert Cluster.objects.get(pk=sim_cluster.pk).kind == "simulated"


# -- the command ----------------------------------------------------------------
def test_command_refuses_a_bad_value_and_names_it(sim_cluster, tmp_path):
    with pytest.raises(CommandError, match=r"health_tolerances item 2: code '5\[' is not a regular expression"):
        call_command("cluster", "set", "demo", "--health-tolerances", json.dumps(BAD))
    path = tmp_path / "tolerances.json"
    path.write_text("[{not json")
    with pytest.raises(CommandError, match="is not JSON"):
        call_command("cluster", "set", "demo", "--health-tolerances", f"@{path}")
    sim_cluster.refresh_from_db()
    assert sim_cluster.health_tolerances is None


def test_command_saves_from_a_file_and_back_to_default(sim_cluster, tmp_path, capsys):
    path = tmp_path / "tolerances.json"
    path.write_text(json.dumps(GOOD))
    call_command("cluster", "set", "demo", "--health-tolerances", f"@{path}")
    sim_cluster.refresh_from_db()
    assert sim_cluster.health_tolerances == GOOD
    call_command("cluster", "set", "demo", "--health-tolerances", "default")
    sim_cluster.refresh_from_db()
    assert sim_cluster.health_tolerances is None
    assert "demo" in capsys.readouterr().out


# -- a bad value stored before the checks ---------------------------------------
def test_a_bad_stored_value_falls_back_to_the_defaults_and_the_cluster_page_says_so(
        api_client, page_client, cluster_admin, sim_cluster):
    Cluster.objects.filter(pk=sim_cluster.pk).update(health_tolerances=BAD)  # around every check, as old data
    response = api_client(cluster_admin).get("/api/clusters/demo/graph", {"namespaces": "bookinfo"})
    assert response.status_code == 200, response.content
    assert "Degraded" in response.content.decode()  # Kiali's defaults still judge health
    pages = page_client(cluster_admin)
    for url in ("/clusters/demo/namespaces/", "/clusters/demo/namespaces/bookinfo/workloads/", "/"):
        assert pages.get(url).status_code == 200, url
    page = pages.get("/clusters/demo/").content.decode()
    assert BAD_MESSAGE.replace("'", "&#x27;") in page
    assert "Kiali&#x27;s default tolerances are used" in page
    detail = api_client(cluster_admin).get("/api/clusters/demo/").json()
    assert detail["health_tolerances_problems"] and detail["health_tolerances_problems"][0].startswith(BAD_MESSAGE)
