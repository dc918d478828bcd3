"""apps/audit is a leaf every service calls: it imports only apps.core."""
from tests.test_architecture import package_graph


def test_audit_imports_only_core():
    assert package_graph()["audit"] <= {"core"}


def test_the_review_sits_above_accounts_and_clusters_and_nothing_imports_it():
    graph = package_graph()
    assert {"audit", "accounts", "clusters"} <= graph["auditreview"]
    assert not [name for name, deps in graph.items() if "auditreview" in deps]
