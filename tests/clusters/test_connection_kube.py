"""'Test connection' against the real kube-apiserver (v1.20.2 with Istio CRDs)."""
import pytest

from apps.clusters.models import Cluster
from apps.clusters.services import cluster_create, cluster_test_connection
from tests.support.localservers import closed_port

pytestmark = [pytest.mark.kube, pytest.mark.django_db]


def _kube_check(report):
    return next(c for c in report["checks"] if c["name"] == "kubernetes")


def test_kubeconfig_cluster_reports_version_and_crds(kube_apiserver):
    cluster = cluster_create(name="real", kind=Cluster.Kind.KUBERNETES, kubeconfig=kube_apiserver.kubeconfig_text())
    check = _kube_check(cluster_test_connection(cluster))
    assert check["ok"] is True, check
    assert check["version"].startswith("v1.20")
    assert check["istio_crds"] == "all present"
    assert check["namespaces"] >= 4  # default, kube-system, kube-public, kube-node-lease


def test_token_cluster_with_a_bad_token_is_unauthorized(kube_apiserver):
    cluster = cluster_create(name="real", kind=Cluster.Kind.KUBERNETES, api_server_url=kube_apiserver.url,
                             token="not-a-valid-token", ca_pem=kube_apiserver.ca_pem)
    check = _kube_check(cluster_test_connection(cluster))
    assert check["ok"] is False and check["code"] == "unauthorized", check
    assert "401" in check["error"] or "token" in check["error"].lower()


def test_refused_port(kube_apiserver):
    url = f"https://127.0.0.1:{closed_port()}"
    cluster = cluster_create(name="real", kind=Cluster.Kind.KUBERNETES, api_server_url=url,
                             token=kube_apiserver.admin_token, ca_pem=kube_apiserver.ca_pem)
    check = _kube_check(cluster_test_connection(cluster))
    assert check["ok"] is False and check["code"] == "unreachable", check


def test_wrong_ca_is_a_tls_error(kube_apiserver, tmp_path):
    from tests.support.localservers import self_signed_cert

    other_ca = self_signed_cert(tmp_path)[0].read_text()
    cluster = cluster_create(name="real", kind=Cluster.Kind.KUBERNETES, api_server_url=kube_apiserver.url,
                             token=kube_apiserver.admin_token, ca_pem=other_ca)
    check = _kube_check(cluster_test_connection(cluster))
    assert check["ok"] is False and check["code"] == "tls", check


def test_management_command_end_to_end(kube_apiserver, tmp_path, capsys):
    from django.core.management import call_command

    path = tmp_path / "kubeconfig"
    path.write_text(kube_apiserver.kubeconfig_text())
    from django.core.management.base import CommandError

    call_command("cluster", "add", "real", "--kubeconfig", str(path))
    with pytest.raises(CommandError, match="Connection test failed"):
        call_command("cluster", "test", "real")  # no Prometheus URL given: the graph would be empty
    out = capsys.readouterr().out
    assert "ok   kubernetes: version=v1.20" in out
    assert "FAIL prometheus: code=not_configured" in out


def test_management_command_adds_a_minikube_style_kubeconfig_with_certificate_files(kube_apiserver, tmp_path,
                                                                                    capsys):
    from django.core.management import call_command
    from django.core.management.base import CommandError

    path = kube_apiserver.write_file_kubeconfig(tmp_path)
    call_command("cluster", "add", "files", "--kubeconfig", str(path))
    out = capsys.readouterr().out
    for field, name in [("certificate-authority", "ca.crt"), ("client-certificate", "client.crt"),
                        ("client-key", "client.key")]:
        assert f"({field}) into the stored kubeconfig" in out and name in out
    for pem in tmp_path.rglob("*.*"):
        pem.unlink()  # the portal keeps working without them: they were embedded
    with pytest.raises(CommandError, match="Connection test failed"):
        call_command("cluster", "test", "files")  # (no Prometheus URL given)
    assert "ok   kubernetes: version=v1.20" in capsys.readouterr().out
