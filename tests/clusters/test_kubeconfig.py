"""Malformed and exec-plugin kubeconfigs get clear errors everywhere, never a 500."""
import textwrap

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError

from apps.clusters.kubeconfig import KubeconfigError, parse_kubeconfig
from apps.clusters.models import Cluster

GOOD = textwrap.dedent("""\
    apiVersion: v1
    kind: Config
    current-context: test
    clusters:
    - name: c
      cluster: {server: "https://127.0.0.1:6443", certificate-authority-data: AAAA}
    users:
    - name: u
      user: {token: abc}
    contexts:
    - name: test
      context: {cluster: c, user: u}
""")
EXEC = GOOD.replace("user: {token: abc}",
                    "user:\n    exec: {apiVersion: client.authentication.k8s.io/v1beta1, command: aws}")

CASES = [
    ("", "empty"),
    ("clusters: [\n  - name: x\n", "not valid YAML"),
    ("- just\n- a list\n", "not a kubeconfig"),
    (GOOD.replace("current-context: test", "current-context: nope"), "Context 'nope' is not in the kubeconfig"),
    (GOOD.replace("cluster: c, user: u", "cluster: missing, user: u"), "does not define"),
    (GOOD.replace('server: "https://127.0.0.1:6443", ', ""), "no usable 'server'"),
    (EXEC, "exec plugin ('aws')"),
    (GOOD.replace("user: {token: abc}", "user: {auth-provider: {name: gcp}}"), "auth-provider"),
    (GOOD.replace("user: {token: abc}", "user: {}"), "no credentials"),
    (GOOD.replace("user: {token: abc}", "user: {client-certificate: /home/me/cert.pem, client-key: /k}"), "embed"),
]


@pytest.mark.parametrize("text,message", CASES)
def test_parse_errors_are_specific(text, message):
    with pytest.raises(KubeconfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_kubeconfig(text)


def test_good_kubeconfig_summary():
    summary = parse_kubeconfig(GOOD)
    assert (summary.context, summary.server, summary.auth) == ("test", "https://127.0.0.1:6443", "token")


@pytest.mark.django_db
def test_api_returns_400_with_the_reason(superuser, api_client):
    response = api_client(superuser).post(
        "/api/clusters/", {"name": "prod", "kind": "kubernetes", "kubeconfig": EXEC}, format="json"
    )
    assert response.status_code == 400
    assert "exec plugin" in response.json()["errors"]["kubeconfig"][0]
    assert not Cluster.objects.filter(name="prod").exists()


@pytest.mark.django_db
def test_ui_upload_shows_the_reason_on_the_form(superuser, page_client):
    upload = SimpleUploadedFile("kubeconfig", b"clusters: [\n  - name: x\n")
    response = page_client(superuser).post("/clusters/new/", {
        "name": "prod", "kind": "kubernetes", "kubeconfig_file": upload, "istio_namespace": "istio-system",
    })
    assert response.status_code == 200
    assert "not valid YAML" in response.content.decode()
    assert not Cluster.objects.filter(name="prod").exists()


@pytest.mark.django_db
def test_ui_adds_a_cluster_from_an_uploaded_kubeconfig(superuser, page_client):
    upload = SimpleUploadedFile("kubeconfig", GOOD.encode())
    response = page_client(superuser).post("/clusters/new/", {
        "name": "prod", "kind": "kubernetes", "kubeconfig_file": upload, "istio_namespace": "istio-system",
        "prometheus_url": "http://127.0.0.1:9090",
    })
    assert response.status_code == 302
    cluster = Cluster.objects.get(name="prod")
    assert cluster.api_server_url == "https://127.0.0.1:6443"
    assert cluster.auth_method == "kubeconfig"


@pytest.mark.django_db
def test_management_command_refuses_exec_plugin(tmp_path):
    path = tmp_path / "config"
    path.write_text(EXEC)
    with pytest.raises(CommandError, match="exec plugin"):
        call_command("cluster", "add", "prod", "--kubeconfig", str(path), "--prometheus", "http://127.0.0.1:9090")
    with pytest.raises(CommandError, match="Cannot read kubeconfig"):
        call_command("cluster", "add", "prod", "--kubeconfig", str(tmp_path / "missing"))


@pytest.mark.django_db
def test_only_superusers_add_clusters(cluster_admin, api_client, page_client):
    response = api_client(cluster_admin).post("/api/clusters/", {"name": "x", "kind": "simulated"}, format="json")
    assert response.status_code == 403
    assert page_client(cluster_admin).get("/clusters/new/").status_code == 302  # to login: not allowed


# -- kubeconfigs that name files (minikube, kind, most cloud CLIs write them) --

CA_PEM = "-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n"
WITH_FILES = GOOD.replace("certificate-authority-data: AAAA", "certificate-authority: CA_PATH").replace(
    "user: {token: abc}", "user: {tokenFile: secrets/token}")


def _files_kubeconfig(tmp_path):
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "token").write_text("sa-token-from-file\n")
    ca = tmp_path / "elsewhere-ca.crt"
    ca.write_text(CA_PEM)
    path = tmp_path / "config"
    path.write_text(WITH_FILES.replace("CA_PATH", str(ca)))
    return path, ca


@pytest.mark.django_db
def test_management_command_embeds_the_files_a_kubeconfig_names(tmp_path, capsys):
    path, ca = _files_kubeconfig(tmp_path)
    call_command("cluster", "add", "prod", "--kubeconfig", str(path), "--prometheus", "http://127.0.0.1:9090")
    out = capsys.readouterr().out
    assert f"Embedded {ca} (certificate-authority)" in out
    assert f"Embedded {tmp_path / 'secrets' / 'token'} (tokenFile)" in out  # relative: beside the kubeconfig
    stored = Cluster.objects.get(name="prod").credentials["kubeconfig"]
    assert str(tmp_path) not in stored  # no path left: the portal never reads those files
    found = parse_kubeconfig(stored)
    assert (found.token, found.ca_pem, found.server) == ("sa-token-from-file", CA_PEM, "https://127.0.0.1:6443")


@pytest.mark.django_db
def test_management_command_names_a_referenced_file_it_cannot_read(tmp_path):
    path, _ = _files_kubeconfig(tmp_path)
    (tmp_path / "secrets" / "token").unlink()
    with pytest.raises(CommandError, match=r"Cannot read .*secrets/token \(tokenFile of user 'u' in the kubeconfig\)"
                                           r": No such file or directory"):
        call_command("cluster", "add", "prod", "--kubeconfig", str(path))
    assert not Cluster.objects.filter(name="prod").exists()


def test_embedding_keeps_an_inline_value_over_a_path_and_leaves_a_self_contained_kubeconfig_alone(tmp_path):
    from apps.clusters.kubeconfig import embed_referenced_files

    both = GOOD.replace("certificate-authority-data: AAAA", "certificate-authority-data: AAAA, "
                        "certificate-authority: /nowhere/ca.crt")
    text, embedded = embed_referenced_files(both, base_dir=tmp_path)
    assert embedded == [] and parse_kubeconfig(text).server == "https://127.0.0.1:6443"
    assert embed_referenced_files(GOOD, base_dir=tmp_path) == (GOOD, [])


FLATTEN = "kubectl config view --raw --flatten --minify"


@pytest.mark.django_db
def test_an_upload_naming_files_is_refused_with_the_way_out(superuser, api_client, page_client):
    text = WITH_FILES.replace("CA_PATH", "/home/me/.minikube/ca.crt").replace("{tokenFile: secrets/token}",
                                                                              "{token: abc}")
    response = api_client(superuser).post("/api/clusters/", {"name": "prod", "kind": "kubernetes",
                                                             "kubeconfig": text}, format="json")
    assert response.status_code == 400
    message = response.json()["errors"]["kubeconfig"][0]
    assert "certificate-authority points at a file (/home/me/.minikube/ca.crt)" in message and FLATTEN in message
    page = page_client(superuser).post("/clusters/new/", {
        "name": "prod", "kind": "kubernetes", "kubeconfig_file": SimpleUploadedFile("config", text.encode()),
        "istio_namespace": "istio-system",
    })
    assert page.status_code == 200 and FLATTEN in page.content.decode()
    assert not Cluster.objects.filter(name="prod").exists()


@pytest.mark.parametrize("user", ["{tokenFile: /var/run/token}", "{client-certificate: /c.pem, client-key: /k.pem}"])
def test_every_file_reference_names_the_way_out(user):
    with pytest.raises(KubeconfigError, match=FLATTEN):
        parse_kubeconfig(GOOD.replace("user: {token: abc}", f"user: {user}"))
