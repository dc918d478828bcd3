"""The new endpoints are in the OpenAPI schema with the statuses they really answer."""
import pytest

pytestmark = pytest.mark.django_db

EXPECTED = {
    ("/api/audit/events/", "get"): {"200", "400", "401", "403"},
    ("/api/audit/events/export", "get"): {"200", "400", "401", "403"},
    ("/api/audit/chain/", "get"): {"200", "401", "403"},
    ("/api/clusters/{cluster}/grants/", "get"): {"200", "401", "403", "404"},
    # 415 with every request body (apps.core.openapi): a body that is not JSON
    ("/api/clusters/{cluster}/grants/", "post"): {"201", "400", "401", "403", "404", "415"},
    # 409: deleting the cluster's last admin grant (tests/security/test_last_admin.py)
    ("/api/clusters/{cluster}/grants/{grant_id}/", "delete"): {"204", "400", "401", "403", "404", "409"},
    ("/api/users/", "post"): {"201", "400", "401", "403", "404", "415"},
    ("/api/teams/{name}/members/", "post"): {"200", "400", "401", "403", "404", "415"},
}


def test_new_endpoints_declare_their_statuses_and_the_error_shape(api_client, superuser):
    schema = api_client(superuser).get("/api/schema/?format=json").json()
    for (path, method), statuses in EXPECTED.items():
        responses = schema["paths"][path][method]["responses"]
        assert set(responses) == statuses, (path, method, sorted(responses))
        for status in statuses - {"200", "201", "204"}:
            ref = responses[status]["content"]["application/json"]["schema"]["$ref"]
            assert ref.endswith("/Error"), (path, status)
    export = schema["paths"]["/api/audit/events/export"]["get"]
    assert {p["name"] for p in export["parameters"]} >= {"format", "actor", "action", "cluster", "namespace"}
