"""KubernetesGateway pieces that need no API server: kubeconfig parsing, ownership, errors."""
from __future__ import annotations

import base64
import glob
import os
import socket
import ssl
import tempfile

import pytest
import urllib3
import yaml
from kubernetes.client.exceptions import ApiException

from apps.clusters import gateway as errors
from apps.clusters.kube import KubernetesGateway, pod_has_sidecar, probe, translate_error, workloads_from_json
from apps.clusters.kubeconfig import KubeconfigError, KubeconfigUnsupported, parse_kubeconfig

URL = "https://127.0.0.1:6443"


def kubeconfig(user: dict, cluster: dict | None = None, **extra) -> str:
    doc = {
        "apiVersion": "v1", "kind": "Config",
        "clusters": [{"name": "c", "cluster": cluster or {"server": URL}}],
        "users": [{"name": "u", "user": user}],
        "contexts": [{"name": "ctx", "context": {"cluster": "c", "user": "u"}},
                     {"name": "other", "context": {"cluster": "c", "user": "u"}}],
        "current-context": "ctx",
    }
    doc.update(extra)
    return yaml.safe_dump(doc)


def test_token_kubeconfig_parses():
    ca = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
    found = parse_kubeconfig(kubeconfig(
        {"token": "abc"}, {"server": URL + "/", "certificate-authority-data": base64.b64encode(ca.encode()).decode()}))
    assert found.server == URL and found.token == "abc" and found.ca_pem == ca and found.verify


def test_context_is_selectable_and_unknown_context_is_explained():
    assert parse_kubeconfig(kubeconfig({"token": "t"}), "other").context == "other"
    with pytest.raises(KubeconfigError, match="Context 'nope' is not in the kubeconfig"):
        parse_kubeconfig(kubeconfig({"token": "t"}), "nope")


@pytest.mark.parametrize("text, message", [
    ("clusters: [", "not valid YAML"),
    ("", "empty"),
    ("- a\n- b\n", "not a kubeconfig"),
    ("apiVersion: v1\nkind: Config\n", "has no contexts"),
    (kubeconfig({"token": "t"}, {"insecure-skip-tls-verify": True}), "no usable 'server' URL"),
    (kubeconfig({"token": "t"}, {"server": URL, "certificate-authority-data": "%%%"}), "not valid base64"),
    (kubeconfig({"token": "t"}, {"server": URL, "certificate-authority": "/etc/ca.pem"}),
     "certificate-authority points at a file"),
    (kubeconfig({"tokenFile": "/var/run/token"}), "points at a file"),
    (kubeconfig({"client-certificate-data": "QQ=="}), "both client-certificate-data and client-key-data"),
])
def test_malformed_kubeconfig_gives_a_clear_error(text, message):
    with pytest.raises(KubeconfigError, match=message):
        KubernetesGateway.from_kubeconfig(text)


def test_exec_plugin_kubeconfig_is_refused():
    text = kubeconfig({"exec": {"apiVersion": "client.authentication.k8s.io/v1beta1", "command": "aws",
                                "args": ["eks", "get-token"]}})
    with pytest.raises(KubeconfigUnsupported, match=r"exec plugin \('aws'\).*does not run programs"):
        KubernetesGateway.from_kubeconfig(text)


def test_auth_provider_kubeconfig_is_refused():
    with pytest.raises(KubeconfigUnsupported, match="'gcp' auth-provider"):
        KubernetesGateway.from_kubeconfig(kubeconfig({"auth-provider": {"name": "gcp", "config": {}}}))


def test_kubeconfig_errors_are_gateway_errors():
    assert issubclass(KubeconfigUnsupported, KubeconfigError) and issubclass(KubeconfigError, errors.GatewayError)


def _self_signed() -> tuple[str, str]:
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "meshdeck-test")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now)
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(__import__("ipaddress").ip_address("127.0.0.1"))]),
                           critical=False)
            .sign(key, hashes.SHA256()))
    return (cert.public_bytes(serialization.Encoding.PEM).decode(),
            key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption()).decode())


def test_client_certificate_leaves_no_file_behind():
    cert, key = _self_signed()
    before = set(glob.glob(os.path.join(tempfile.gettempdir(), "meshdeck-clientcert-*")))
    text = kubeconfig({"client-certificate-data": base64.b64encode(cert.encode()).decode(),
                       "client-key-data": base64.b64encode(key.encode()).decode()},
                      {"server": URL, "certificate-authority-data": base64.b64encode(cert.encode()).decode()})
    gw = KubernetesGateway.from_kubeconfig(text)
    assert gw.url == URL
    assert set(glob.glob(os.path.join(tempfile.gettempdir(), "meshdeck-clientcert-*"))) == before


def test_invalid_ca_pem_is_a_kubeconfig_error():
    with pytest.raises(KubeconfigError, match="CA certificate is not valid"):
        KubernetesGateway.from_token(URL, "t", ca_pem="not a certificate")


def test_url_must_be_http_or_https():
    with pytest.raises(KubeconfigError, match="must start with https://"):
        KubernetesGateway.from_token("127.0.0.1:6443", "t")


@pytest.mark.parametrize("status, cls, words", [
    (401, errors.ClusterUnauthorized, "rejected the credentials"),
    (403, errors.ClusterForbidden, "not allowed"),
    (404, errors.ObjectNotFound, "Not found"),
    (409, errors.ObjectConflict, "changed the object first"),
    (422, errors.ObjectInvalid, "refused the object"),
    (500, errors.GatewayError, "answered 500"),
])
def test_http_statuses_become_typed_errors(status, cls, words):
    exc = ApiException(status=status, reason="x")
    exc.body = '{"kind":"Status","message":"the detail"}'
    err = translate_error(exc, URL, "doing it")
    assert type(err) is cls and words in err.message and "doing it" in err.message


def test_transport_errors_become_typed_errors():
    pool = urllib3.HTTPSConnectionPool("127.0.0.1", 1)
    refused = urllib3.exceptions.NewConnectionError(pool, "[Errno 111] Connection refused")
    unreachable = translate_error(urllib3.exceptions.MaxRetryError(pool, "/", refused), URL)
    assert isinstance(unreachable, errors.ClusterUnreachable)
    tls = urllib3.exceptions.SSLError(ssl.SSLCertVerificationError("certificate verify failed"))
    assert isinstance(translate_error(urllib3.exceptions.MaxRetryError(pool, "/", tls), URL), errors.ClusterTLSError)
    timeout = urllib3.exceptions.ReadTimeoutError(pool, "/", "read timed out")
    assert isinstance(translate_error(urllib3.exceptions.MaxRetryError(pool, "/", timeout), URL), errors.ClusterTimeout)


def _obj(kind, name, uid, owner=None, **extra):
    meta = {"name": name, "namespace": "ns", "uid": uid, "resourceVersion": "1"}
    if owner:
        meta["ownerReferences"] = [{"kind": owner[0], "name": owner[1], "uid": owner[2], "controller": True}]
    return {"kind": kind, "metadata": meta, **extra}


def test_pods_are_matched_to_workloads_through_owner_references():
    tmpl = {"template": {"metadata": {"labels": {"app": "a", "version": "v1"}}}, "replicas": 2}
    deploy = _obj("Deployment", "a-v1", "d1", spec=tmpl, status={"readyReplicas": 1})
    rs = _obj("ReplicaSet", "a-v1-123", "rs1", owner=("Deployment", "a-v1", "d1"))
    orphan_rs = _obj("ReplicaSet", "lonely", "rs2", spec=tmpl)
    sts = _obj("StatefulSet", "db", "s1", spec=tmpl)
    ds = _obj("DaemonSet", "agent", "ds1", spec=tmpl, status={"desiredNumberScheduled": 3, "numberReady": 3})
    pods = [
        _obj("Pod", "a-v1-123-x", "p1", owner=("ReplicaSet", "a-v1-123", "rs1"),
             spec={"containers": [{"name": "app"}, {"name": "istio-proxy"}]}),
        _obj("Pod", "a-v1-123-y", "p2", owner=("ReplicaSet", "a-v1-123", "rs1"),
             spec={"containers": [{"name": "app"}]}),
        _obj("Pod", "db-0", "p3", owner=("StatefulSet", "db", "s1")),
        _obj("Pod", "agent-1", "p4", owner=("DaemonSet", "agent", "ds1")),
        _obj("Pod", "lonely-z", "p5", owner=("ReplicaSet", "lonely", "rs2")),
        _obj("Pod", "bare", "p6", status={"phase": "Running", "podIP": "10.0.0.9",
                                          "conditions": [{"type": "Ready", "status": "True"}]}),
    ]
    wls = {(w.kind, w.name): w for w in workloads_from_json([deploy], [sts], [ds], [rs, orphan_rs], pods)}
    assert set(wls) == {("Deployment", "a-v1"), ("StatefulSet", "db"), ("DaemonSet", "agent"),
                        ("ReplicaSet", "lonely"), ("Pod", "bare")}
    a = wls[("Deployment", "a-v1")]
    assert [p.name for p in a.pods] == ["a-v1-123-x", "a-v1-123-y"]
    assert [p.has_sidecar for p in a.pods] == [True, False] and a.has_sidecar is False
    assert (a.replicas, a.ready_replicas, a.app, a.version) == (2, 1, "a", "v1")
    assert wls[("DaemonSet", "agent")].replicas == 3
    bare = wls[("Pod", "bare")]
    assert bare.pods[0].ip == "10.0.0.9" and bare.ready_replicas == 1


def test_sidecar_from_annotation_or_native_sidecar_init_container():
    assert pod_has_sidecar({"metadata": {"annotations": {"sidecar.istio.io/status": "{}"}}, "spec": {}})
    assert pod_has_sidecar({"metadata": {}, "spec": {"initContainers": [{"name": "istio-proxy"}]}})
    assert not pod_has_sidecar({"metadata": {}, "spec": {"containers": [{"name": "app"}]}})


def test_istio_versions_fall_back_to_v1beta1(monkeypatch):
    gw = KubernetesGateway.from_token(URL, "t")
    served = {("networking.istio.io", "v1beta1"): {"virtualservices", "destinationrules"},
              ("security.istio.io", "v1"): {"peerauthentications"}}
    monkeypatch.setattr(gw, "_resources_of", lambda g, v: served.get((g, v)))
    assert gw.served_version("VirtualService") == "v1beta1"
    assert gw.served_version("PeerAuthentication") == "v1"
    assert gw.served_version("Sidecar") is None
    with pytest.raises(errors.ObjectNotFound, match="CRD for Sidecar is not installed"):
        gw.get_istio_object("Sidecar", "ns", "x")


def test_probe_reports_a_refused_port_precisely():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    report = probe({"url": f"https://127.0.0.1:{port}", "token": "t"})
    assert report["ok"] is False and report["error"] == "unreachable" and "refused" in report["message"]


def test_probe_reports_missing_istio_crds():
    class Fake:
        url = "https://fake"

        def server_version(self):
            return "v1.20.2"

        def served_version(self, kind):
            return None if kind == "Sidecar" else "v1"

        def list_namespaces(self):
            return []

    report = probe(Fake())
    assert report["ok"] and report["server_version"] == "v1.20.2"
    assert report["istio_crds"]["missing"] == ["Sidecar"]
    assert report["istio_crds"]["present"]["VirtualService"] == "networking.istio.io/v1"


def test_probe_reports_a_malformed_kubeconfig():
    report = probe({"kubeconfig": "users: ["})
    assert report == {"ok": False, "error": "kubeconfig", "message": report["message"], "api_server": ""}


def test_istio_discovery_is_remembered_for_a_while_then_asked_again():
    from apps.clusters.kube.discovery import DISCOVERY_TTL_SECONDS, IstioDiscovery

    now, asked = [0.0], []
    served = {("networking.istio.io", "v1"): {"virtualservices", "destinationrules", "gateways", "serviceentries",
                                              "sidecars"}}

    def resources_of(group, version):
        asked.append((group, version))
        return served.get((group, version))

    discovery = IstioDiscovery(resources_of, clock=lambda: now[0])
    assert discovery.served_version("VirtualService") == "v1"
    assert discovery.served_version("PeerAuthentication") is None  # security.istio.io not installed yet
    first = len(asked)
    assert discovery.served_version("Sidecar") == "v1" and len(asked) == first  # remembered

    served[("security.istio.io", "v1")] = {"peerauthentications", "authorizationpolicies", "requestauthentications"}
    now[0] += DISCOVERY_TTL_SECONDS + 1
    assert discovery.served_version("PeerAuthentication") == "v1"  # Istio installed since: seen after the TTL
    again = len(asked)
    assert again > first
    discovery.forget()
    discovery.served_version("VirtualService")
    assert len(asked) > again  # asked afresh after forget(), as the connection test does
