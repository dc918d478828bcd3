"""A real, throw-away Kubernetes control plane for tests.

:class:`KubeAPIServer` starts, on free 127.0.0.1 ports inside a temp dir:

* ``etcd`` (Debian ``etcd-server``; data on /dev/shm when available),
* ``kube-apiserver`` v1.20.2 (built by ``scripts/kube/build.sh``) with a
  self-made CA + serving cert (127.0.0.1 / localhost), a static token file,
  service-account signing keys and ``--authorization-mode=RBAC``,
* ``kube-controller-manager`` (all non-cloud controllers: Deployments ->
  ReplicaSets -> Pods, Endpoints, namespace deletion, garbage collection,
  ServiceAccounts/tokens ...),

waits for ``/readyz``, loads the Istio 1.30.3 CRDs from
``tests/fixtures/istio/crds-1.30.3-k8s120.yaml`` and waits until they are
Established. Startup takes a few seconds.

Users (static bearer tokens, random per server, see :meth:`token_for`):

==========  =======================  ===============================================
user        groups                   RBAC
==========  =======================  ===============================================
``admin``   ``system:masters``       everything
``viewer``  ``meshdeck:viewers``     ClusterRole ``view`` + read on all Istio groups
``editor``  ``meshdeck:editors``     ClusterRole ``edit`` + write on all Istio groups
``nobody``  (none besides the usual  nothing: authenticated, but 403 on every API
            ``system:authenticated``) call
==========  =======================  ===============================================

An unknown token gets 401.

Known v1.20 quirks (this is a v1.20.2 server, older than most real clusters):

* Server-side apply of a Service (or of container ports) whose ports have no
  explicit ``protocol`` returns HTTP 500 ("failed to create typed patch
  object: .spec.ports: element 0: associative list with keys has an element
  that omits key field "protocol""). Always write ``protocol: TCP`` in
  manifests applied with SSA.
* When SSA *creates* a custom object, the Python client's
  ``CustomObjectsApi.patch_*`` returns ``None`` (the server answers 201 and
  the client only decodes a 200 body for patches); read the object back with
  ``get_*``. Applying an existing object returns the object as usual.
* Not served: ``policy/v1`` (only ``policy/v1beta1``), ``batch/v1`` CronJob
  (only ``batch/v1beta1``), ``discovery.k8s.io/v1`` (only ``v1beta1``).
* CRDs must not use ``x-kubernetes-validations`` or ``selectableFields``
  (hence the stripped fixture).
* There is no kubelet and no scheduler: pods stay ``Pending`` (unbound)
  unless a test marks them running with :meth:`KubeAPIServer.mark_pod_running`,
  which binds the pod (``pods/binding``) to the one fake Node,
  ``meshdeck-test-node`` (Ready, 127.0.0.1), and writes the ``status``
  subresource (phase Running, a pod IP, Ready condition). Endpoints and
  EndpointSlices then pick the pod up (they need a pod IP *and* a
  ``nodeName`` of an existing Node). The ``nodelifecycle`` controller is
  disabled so the fake node, which never heartbeats, stays Ready and its
  pods are never marked NotReady or evicted.
* The ``ServiceAccount`` admission plugin is disabled (it would reject pods
  created in a fresh namespace until the token controller caught up), so
  ``spec.serviceAccountName`` is not defaulted; the ServiceAccount and token
  controllers still run.

Every process logs to ``<workdir>/<name>.log``; a startup failure raises
:class:`KubeStartupError` with the tail of the relevant log.

Child processes get ``PR_SET_PDEATHSIG`` so they die with the Python process
that started them (start the server from the main thread), and an ``atexit``
hook stops any server that was not stopped.
"""

from __future__ import annotations

import base64
import datetime as _dt
import ipaddress
import itertools
import os
import secrets
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import weakref
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import requests
import urllib3
import yaml

from tests.support import binaries
from tests.support.net import LOOPBACK, free_port
from tests.support.processes import LoopbackServer, die_with_parent, log_tail, rss_kib, stopped_at_exit

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_CRDS = REPO_ROOT / "tests" / "fixtures" / "istio" / "crds-1.30.3-k8s120.yaml"

SERVICE_CIDR = "10.96.0.0/16"
NODE_NAME = "meshdeck-test-node"
ISTIO_GROUPS = (
    "networking.istio.io",
    "security.istio.io",
    "telemetry.istio.io",
    "extensions.istio.io",
)

# user -> groups. "admin" is always present.
DEFAULT_USERS: dict[str, tuple[str, ...]] = {
    "admin": ("system:masters",),
    "viewer": ("meshdeck:viewers",),
    "editor": ("meshdeck:editors",),
    "nobody": (),
}


class KubeStartupError(RuntimeError):
    """The control plane did not come up; the message carries the log tail."""


_LIVE: weakref.WeakSet[KubeAPIServer] = stopped_at_exit()


def _remove_orphaned_etcd_dirs(parent: Path) -> None:
    """Remove meshdeck-etcd-* dirs whose owner process no longer exists.

    Conservative: a dir without a readable owner.pid, or whose pid is alive
    (even if reused by another process), is left alone.
    """
    for d in parent.glob("meshdeck-etcd-*"):
        try:
            pid = int((d / "owner.pid").read_text().strip())
        except (OSError, ValueError):
            continue
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            shutil.rmtree(d, ignore_errors=True)
        except PermissionError:
            continue


class _Proc:
    def __init__(self, name: str, argv: list[str], log_path: Path, env: dict | None = None):
        self.name = name
        self.log_path = log_path
        self._log = open(log_path, "ab")
        self.popen = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
            preexec_fn=die_with_parent,
        )

    def alive(self) -> bool:
        return self.popen.poll() is None

    def stop(self, timeout: float = 10.0) -> None:
        if self.popen.poll() is None:
            try:
                os.killpg(self.popen.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(self.popen.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.popen.wait(5)
        self._log.close()

    def rss_kib(self) -> int | None:
        return rss_kib(self.popen.pid)


# ------------------------------------------------------------------ certs ----


def _make_pki(directory: Path) -> dict[str, Path]:
    """CA, apiserver serving cert (127.0.0.1/localhost/service IP) and SA keys."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec, rsa
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = _dt.datetime.now(_dt.UTC) - _dt.timedelta(minutes=5)
    later = now + _dt.timedelta(days=7)

    def pem_key(key) -> bytes:
        return key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "meshdeck-test-ca")])

    def issued_by_ca(subject: x509.Name, key, *, ca: bool) -> x509.CertificateBuilder:
        """What both certificates have: the test CA as issuer, valid from now to later."""
        return (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(ca_name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now)
            .not_valid_after(later)
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        )

    ca_cert = (
        issued_by_ca(ca_name, ca_key, ca=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, key_cert_sign=True, crl_sign=True,
                content_commitment=False, key_encipherment=False, data_encipherment=False,
                key_agreement=False, encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )

    srv_key = ec.generate_private_key(ec.SECP256R1())
    service_ip = next(ipaddress.ip_network(SERVICE_CIDR).hosts())  # 10.96.0.1
    srv_cert = (
        issued_by_ca(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kube-apiserver")]), srv_key, ca=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.SubjectAlternativeName(
                [
                    x509.DNSName("localhost"),
                    x509.DNSName("kubernetes"),
                    x509.DNSName("kubernetes.default"),
                    x509.DNSName("kubernetes.default.svc"),
                    x509.DNSName("kubernetes.default.svc.cluster.local"),
                    x509.IPAddress(ipaddress.ip_address(LOOPBACK)),
                    x509.IPAddress(service_ip),
                ]
            ),
            critical=False,
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )

    sa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    paths = {
        "ca_crt": directory / "ca.crt",
        "ca_key": directory / "ca.key",
        "server_crt": directory / "apiserver.crt",
        "server_key": directory / "apiserver.key",
        "sa_key": directory / "sa.key",
        "sa_pub": directory / "sa.pub",
    }
    paths["ca_crt"].write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    paths["ca_key"].write_bytes(pem_key(ca_key))
    paths["server_crt"].write_bytes(srv_cert.public_bytes(serialization.Encoding.PEM))
    paths["server_key"].write_bytes(pem_key(srv_key))
    paths["sa_key"].write_bytes(pem_key(sa_key))
    paths["sa_pub"].write_bytes(
        sa_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    for key in ("ca_key", "server_key", "sa_key"):
        paths[key].chmod(0o600)
    return paths


# ----------------------------------------------------------------- server ----


class KubeAPIServer(LoopbackServer):
    """etcd + kube-apiserver + kube-controller-manager on loopback.

    Usage::

        server = KubeAPIServer().start()
        try:
            api = kubernetes.client.CoreV1Api(server.api_client())
            ...
        finally:
            server.stop()

    or ``with KubeAPIServer() as server: ...``.
    """

    scheme = "https"

    def __init__(
        self,
        *,
        crds: str | Path | None = DEFAULT_CRDS,
        controller_manager: bool = True,
        users: dict[str, Iterable[str]] | None = None,
        startup_timeout: float = 90.0,
        keep_workdir: bool | None = None,
        extra_apiserver_args: Iterable[str] = (),
    ):
        self.crds_path = Path(crds) if crds else None
        self.with_controller_manager = controller_manager
        self.users: dict[str, tuple[str, ...]] = dict(DEFAULT_USERS)
        for name, groups in (users or {}).items():
            self.users[name] = tuple(groups)
        self.startup_timeout = startup_timeout
        if keep_workdir is None:
            keep_workdir = bool(os.environ.get("MESHDECK_KEEP_KUBE_TMP"))
        self.keep_workdir = keep_workdir
        self.extra_apiserver_args = list(extra_apiserver_args)

        self.workdir: Path | None = None
        self._etcd_data: Path | None = None
        self._procs: dict[str, _Proc] = {}
        self._tokens: dict[str, str] = {}
        self._pki: dict[str, Path] = {}
        self.port: int | None = None
        self.etcd_port: int | None = None
        self.startup_seconds: float | None = None
        self._pod_ip_counter = itertools.count(10)
        self._pod_ip_lock = threading.Lock()
        self._stopped = False

    # -------------------------------------------------------- properties ----
    @property
    def ca_path(self) -> str:
        return str(self._pki["ca_crt"])

    @property
    def ca_pem(self) -> str:
        return self._pki["ca_crt"].read_text()

    @property
    def admin_token(self) -> str:
        return self._tokens["admin"]

    def token_for(self, user: str) -> str:
        """Bearer token of ``user`` (``admin``, ``viewer``, ``editor``, ``nobody`` or
        one passed as ``users=`` to the constructor)."""
        try:
            return self._tokens[user]
        except KeyError:
            raise KeyError(f"no token for user {user!r}; known: {sorted(self._tokens)}") from None

    def user_for_token(self, token: str) -> str | None:
        for user, tok in self._tokens.items():
            if tok == token:
                return user
        return None

    def log_path(self, name: str) -> Path:
        """Log file of ``etcd``, ``kube-apiserver`` or ``kube-controller-manager``."""
        assert self.workdir is not None
        return self.workdir / f"{name}.log"

    # ----------------------------------------------------------- lifecycle ----
    def start(self) -> KubeAPIServer:
        """Start everything, wait until ready; returns self. Retries port clashes."""
        if self.workdir is not None:
            raise RuntimeError("KubeAPIServer already started")
        paths = {n: binaries.find(n) for n in ("etcd", "kube-apiserver", "kube-controller-manager")}
        for name, path in paths.items():
            if path is None and (name != "kube-controller-manager" or self.with_controller_manager):
                raise KubeStartupError(binaries.missing_message(name))
        t0 = time.monotonic()
        self.workdir = Path(tempfile.mkdtemp(prefix="meshdeck-kube-"))
        _LIVE.add(self)
        try:
            self._pki = _make_pki(self.workdir)
            self._write_tokens()
            for attempt in range(3):
                try:
                    self._start_etcd(paths["etcd"])
                    self._start_apiserver(paths["kube-apiserver"])
                    break
                except _PortClash:
                    self._stop_procs()
                    if attempt == 2:
                        raise
            self._wait_apiserver_ready(t0)
            if self.with_controller_manager:
                self._start_controller_manager(paths["kube-controller-manager"])
            self._bootstrap_rbac()
            self._create_node()
            if self.crds_path:
                self._load_crds()
            if self.with_controller_manager:
                self._wait_controller_manager_ready(t0)
        except BaseException:
            self.stop()
            raise
        self.startup_seconds = time.monotonic() - t0
        return self

    def stop(self) -> None:
        """Kill every process and remove the temp dir (idempotent)."""
        if self._stopped:
            return
        self._stopped = True
        self._stop_procs()
        if self._etcd_data is not None:
            shutil.rmtree(self._etcd_data, ignore_errors=True)
        if self.workdir is not None and not self.keep_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)
        _LIVE.discard(self)

    def _stop_procs(self) -> None:
        for name in ("kube-controller-manager", "kube-apiserver", "etcd"):
            proc = self._procs.pop(name, None)
            if proc is not None:
                proc.stop()

    def rss_kib(self) -> dict[str, int | None]:
        """Resident memory (KiB) of each running process."""
        return {name: proc.rss_kib() for name, proc in self._procs.items()}

    # ---------------------------------------------------------- internals ----
    def _write_tokens(self) -> None:
        assert self.workdir is not None
        lines = []
        for i, (user, groups) in enumerate(self.users.items()):
            token = f"{user}-{secrets.token_hex(16)}"
            self._tokens[user] = token
            line = f'{token},{user},uid-{i}-{user}'
            if groups:
                line += ',"' + ",".join(groups) + '"'
            lines.append(line)
        (self.workdir / "tokens.csv").write_text("\n".join(lines) + "\n")

    def _fail(self, what: str, proc_name: str) -> KubeStartupError:
        log = self.log_path(proc_name)
        return KubeStartupError(f"{what}\n---- tail of {log} ----\n{log_tail(log)}")

    def _check_alive(self, proc_name: str) -> None:
        proc = self._procs.get(proc_name)
        if proc is not None and not proc.alive():
            tail = log_tail(proc.log_path)
            if "address already in use" in tail:
                raise _PortClash(proc_name)
            raise self._fail(
                f"{proc_name} exited with code {proc.popen.returncode} during startup", proc_name
            )

    def _start_etcd(self, etcd: Path) -> None:
        assert self.workdir is not None
        shm = Path("/dev/shm")
        if self._etcd_data is not None:
            shutil.rmtree(self._etcd_data, ignore_errors=True)
        if shm.is_dir() and os.access(shm, os.W_OK):
            _remove_orphaned_etcd_dirs(shm)
            self._etcd_data = Path(tempfile.mkdtemp(prefix="meshdeck-etcd-", dir=shm))
        else:
            self._etcd_data = Path(tempfile.mkdtemp(prefix="etcd-", dir=self.workdir))
        # owner.pid lets a later run remove this RAM-backed dir if this Python
        # process dies without stop() (SIGKILL): see _remove_orphaned_etcd_dirs.
        (self._etcd_data / "owner.pid").write_text(str(os.getpid()))
        etcd_dir = self._etcd_data / "data"
        self.etcd_port = free_port()
        peer_port = free_port()
        client = f"http://{LOOPBACK}:{self.etcd_port}"
        peer = f"http://{LOOPBACK}:{peer_port}"
        argv = [
            str(etcd),
            "--name=meshdeck-test",
            f"--data-dir={etcd_dir}",
            f"--listen-client-urls={client}",
            f"--advertise-client-urls={client}",
            f"--listen-peer-urls={peer}",
            f"--initial-advertise-peer-urls={peer}",
            f"--initial-cluster=meshdeck-test={peer}",
            "--initial-cluster-state=new",
            "--snapshot-count=100000",
            "--quota-backend-bytes=2147483648",
            "--log-level=warn",
            "--logger=zap",
        ]
        env = {k: v for k, v in os.environ.items() if not k.startswith("ETCD")}
        self._spawn("etcd", argv, env=env)
        deadline = time.monotonic() + 20
        session = requests.Session()
        session.trust_env = False
        while time.monotonic() < deadline:
            self._check_alive("etcd")
            try:
                r = session.get(f"{client}/health", timeout=1)
                if r.status_code == 200 and '"true"' in r.text:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.05)
        raise self._fail("etcd did not become healthy within 20s", "etcd")

    def _start_apiserver(self, apiserver: Path) -> None:
        assert self.workdir is not None
        self.port = free_port()
        p = self._pki
        argv = [
            str(apiserver),
            f"--etcd-servers=http://{LOOPBACK}:{self.etcd_port}",
            "--etcd-prefix=/registry",
            f"--bind-address={LOOPBACK}",
            f"--advertise-address={LOOPBACK}",
            f"--secure-port={self.port}",
            "--insecure-port=0",
            f"--cert-dir={self.workdir / 'apiserver-certs'}",
            f"--tls-cert-file={p['server_crt']}",
            f"--tls-private-key-file={p['server_key']}",
            f"--client-ca-file={p['ca_crt']}",
            f"--token-auth-file={self.workdir / 'tokens.csv'}",
            "--authorization-mode=RBAC",
            "--anonymous-auth=true",
            "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
            f"--service-account-key-file={p['sa_pub']}",
            f"--service-account-signing-key-file={p['sa_key']}",
            f"--service-cluster-ip-range={SERVICE_CIDR}",
            "--enable-admission-plugins=NamespaceLifecycle,LimitRanger,DefaultTolerationSeconds,"
            "Priority,ResourceQuota,MutatingAdmissionWebhook,ValidatingAdmissionWebhook",
            "--disable-admission-plugins=ServiceAccount",
            "--allow-privileged=true",
            "--profiling=false",
            "--watch-cache=true",
            "--endpoint-reconciler-type=lease",
            "--event-ttl=10m",
            "--v=1",
            *self.extra_apiserver_args,
        ]
        self._spawn("kube-apiserver", argv)

    def _spawn(self, name: str, argv: list[str], env: dict | None = None) -> None:
        self._procs[name] = _Proc(name, argv, self.log_path(name), env=env)

    def _session(self, token: str | None = None) -> requests.Session:
        s = requests.Session()
        s.trust_env = False
        s.verify = self.ca_path
        s.headers["Authorization"] = f"Bearer {token or self.admin_token}"
        return s

    def _wait_apiserver_ready(self, t0: float) -> None:
        self._wait_for_200(self._session(), self.url, "/readyz", t0, watch=("etcd", "kube-apiserver"),
                           not_yet="not ready", tail=500)

    def _wait_for_200(self, session: requests.Session, base: str, path: str, t0: float, *,
                      watch: tuple[str, ...], not_yet: str, tail: int) -> None:
        """Poll ``base + path`` until it answers 200, failing early if a watched process dies."""
        last = ""
        while time.monotonic() - t0 < self.startup_timeout:
            for name in watch:
                self._check_alive(name)
            try:
                r = session.get(f"{base}{path}", timeout=2)
                if r.status_code == 200:
                    return
                last = f"{path} {r.status_code}: {r.text[-tail:]}"
            except requests.RequestException as exc:
                last = f"{path}: {exc}"
            time.sleep(0.1)
        raise self._fail(f"{watch[-1]} {not_yet} within {self.startup_timeout:.0f}s (last: {last})", watch[-1])

    def kubeconfig_path_for(self, token: str | None = None, name: str = "kubeconfig") -> Path:
        """Write :meth:`kubeconfig_text` into the workdir and return its path."""
        assert self.workdir is not None
        path = self.workdir / name
        path.write_text(self.kubeconfig_text(token))
        path.chmod(0o600)
        return path

    def _start_controller_manager(self, kcm: Path) -> None:
        assert self.workdir is not None
        kubeconfig = self.kubeconfig_path_for(self.admin_token, "controller-manager.kubeconfig")
        self.kcm_port = free_port()
        p = self._pki
        argv = [
            str(kcm),
            f"--kubeconfig={kubeconfig}",
            f"--authentication-kubeconfig={kubeconfig}",
            f"--authorization-kubeconfig={kubeconfig}",
            f"--bind-address={LOOPBACK}",
            f"--secure-port={self.kcm_port}",
            "--port=0",
            f"--cert-dir={self.workdir / 'kcm-certs'}",
            "--leader-elect=false",
            # nodelifecycle off: the fake node never heartbeats (see module doc)
            "--controllers=*,-cloud-node-lifecycle,-route,-service,-nodeipam,-csrsigning,-nodelifecycle",
            "--use-service-account-credentials=false",
            f"--service-account-private-key-file={p['sa_key']}",
            f"--root-ca-file={p['ca_crt']}",
            f"--service-cluster-ip-range={SERVICE_CIDR}",
            "--concurrent-deployment-syncs=5",
            "--concurrent-replicaset-syncs=5",
            "--concurrent-gc-syncs=5",
            "--concurrent-namespace-syncs=5",
            "--namespace-sync-period=30s",
            "--profiling=false",
            "--v=1",
        ]
        self._spawn("kube-controller-manager", argv)

    def _wait_controller_manager_ready(self, t0: float) -> None:
        s = requests.Session()
        s.trust_env = False
        s.verify = False
        with _QuietInsecure():
            self._wait_for_200(s, f"https://{LOOPBACK}:{self.kcm_port}", "/healthz", t0,
                               watch=("kube-controller-manager",), not_yet="not healthy", tail=300)

    def _bootstrap_rbac(self) -> None:
        """ClusterRoles/Bindings for the viewer and editor users."""
        from kubernetes import client

        rbac = client.RbacAuthorizationV1Api(self.api_client())
        istio_read = ["get", "list", "watch"]
        istio_write = istio_read + ["create", "update", "patch", "delete", "deletecollection"]
        objects = [
            (
                "meshdeck-test:istio-view",
                [{"apiGroups": list(ISTIO_GROUPS), "resources": ["*"], "verbs": istio_read}],
            ),
            (
                "meshdeck-test:istio-edit",
                [{"apiGroups": list(ISTIO_GROUPS), "resources": ["*"], "verbs": istio_write}],
            ),
        ]
        for name, rules in objects:
            rbac.create_cluster_role({"metadata": {"name": name}, "rules": rules})
        bindings = [
            ("meshdeck-test:viewers:view", "view", "meshdeck:viewers"),
            ("meshdeck-test:viewers:istio-view", "meshdeck-test:istio-view", "meshdeck:viewers"),
            ("meshdeck-test:editors:edit", "edit", "meshdeck:editors"),
            ("meshdeck-test:editors:istio-edit", "meshdeck-test:istio-edit", "meshdeck:editors"),
        ]
        for name, role, group in bindings:
            rbac.create_cluster_role_binding(
                {
                    "metadata": {"name": name},
                    "roleRef": {
                        "apiGroup": "rbac.authorization.k8s.io",
                        "kind": "ClusterRole",
                        "name": role,
                    },
                    "subjects": [
                        {"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": group}
                    ],
                }
            )

    def _create_node(self) -> None:
        """One fake, Ready node for pods to be bound to (see module doc)."""
        session = self._session()
        node = {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {
                "name": NODE_NAME,
                "labels": {
                    "kubernetes.io/hostname": NODE_NAME,
                    "kubernetes.io/os": "linux",
                    "kubernetes.io/arch": "amd64",
                    "topology.kubernetes.io/zone": "test-zone-a",
                    "topology.kubernetes.io/region": "test-region",
                },
            },
            "spec": {},
        }
        r = session.post(f"{self.url}/api/v1/nodes", json=node, timeout=10)
        if not r.ok:
            raise KubeStartupError(f"creating node {NODE_NAME}: HTTP {r.status_code}: {r.text[:500]}")
        node = r.json()
        now = _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        resources = {"cpu": "8", "memory": "32Gi", "pods": "250", "ephemeral-storage": "100Gi"}
        node["status"] = {
            "capacity": resources,
            "allocatable": resources,
            "addresses": [
                {"type": "InternalIP", "address": LOOPBACK},
                {"type": "Hostname", "address": NODE_NAME},
            ],
            "conditions": [
                {
                    "type": "Ready",
                    "status": "True",
                    "reason": "KubeletReady",
                    "message": "fake node of the Meshdeck test control plane",
                    "lastHeartbeatTime": now,
                    "lastTransitionTime": now,
                }
            ],
            "nodeInfo": {
                "machineID": "meshdeck", "systemUUID": "meshdeck", "bootID": "meshdeck",
                "kernelVersion": "", "osImage": "fake", "containerRuntimeVersion": "containerd://fake",
                "kubeletVersion": "v1.20.2", "kubeProxyVersion": "v1.20.2",
                "operatingSystem": "linux", "architecture": "amd64",
            },
        }
        r = session.put(f"{self.url}/api/v1/nodes/{NODE_NAME}/status", json=node, timeout=10)
        if not r.ok:
            raise KubeStartupError(f"setting node status: HTTP {r.status_code}: {r.text[:500]}")

    def _load_crds(self) -> None:
        from kubernetes import client

        assert self.crds_path is not None
        docs = [d for d in yaml.safe_load_all(self.crds_path.read_text()) if d]
        api = client.ApiextensionsV1Api(self.api_client())
        names = []
        for doc in docs:
            if doc.get("kind") != "CustomResourceDefinition":
                continue
            api.create_custom_resource_definition(doc)
            names.append(doc["metadata"]["name"])
        self.crd_names = names
        pending = set(names)
        session = self._session()
        deadline = time.monotonic() + 30
        while pending and time.monotonic() < deadline:
            r = session.get(
                f"{self.url}/apis/apiextensions.k8s.io/v1/customresourcedefinitions", timeout=5
            )
            r.raise_for_status()
            for item in r.json()["items"]:
                conds = {c["type"]: c["status"] for c in (item.get("status") or {}).get("conditions") or []}
                if conds.get("Established") == "True":
                    pending.discard(item["metadata"]["name"])
            if pending:
                time.sleep(0.1)
        if pending:
            raise self._fail(f"CRDs not Established within 30s: {sorted(pending)}", "kube-apiserver")
        # Established means served, but discovery can lag a moment: wait until
        # every CRD group/version shows up so clients that discover work at once.
        wanted = set()
        for doc in docs:
            if doc.get("kind") == "CustomResourceDefinition":
                for v in doc["spec"]["versions"]:
                    if v.get("served", True):
                        wanted.add((f"{doc['spec']['group']}/{v['name']}", doc["spec"]["names"]["plural"]))
        while time.monotonic() < deadline:
            missing = set()
            for gv in {gv for gv, _ in wanted}:
                r = session.get(f"{self.url}/apis/{gv}", timeout=5)
                served = {res["name"] for res in r.json().get("resources", [])} if r.ok else set()
                missing |= {(g, p) for g, p in wanted if g == gv and p not in served}
            if not missing:
                return
            time.sleep(0.1)
        raise self._fail("CRD resources not in discovery within 30s", "kube-apiserver")

    # -------------------------------------------------------- client side ----
    def kubeconfig_text(self, token: str | None = None, context_name: str = "meshdeck-test") -> str:
        """A kubeconfig (YAML) with the CA embedded and a bearer-token user
        (default: the admin token)."""
        token = token or self.admin_token
        user = self.user_for_token(token) or "user"
        ca_data = base64.b64encode(self.ca_pem.encode()).decode()
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": context_name,
                    "cluster": {"server": self.url, "certificate-authority-data": ca_data},
                }
            ],
            "users": [{"name": f"{context_name}-{user}", "user": {"token": token}}],
            "contexts": [
                {
                    "name": context_name,
                    "context": {
                        "cluster": context_name,
                        "user": f"{context_name}-{user}",
                        "namespace": "default",
                    },
                }
            ],
            "current-context": context_name,
            "preferences": {},
        }
        return yaml.safe_dump(config, sort_keys=False)

    def write_file_kubeconfig(self, directory: Path, user: str = "file-admin",
                              groups: tuple[str, ...] = ("system:masters",)) -> Path:
        """A kubeconfig as minikube writes one: the CA and a client certificate
        (signed by the server's CA, for ``user`` in ``groups``) as files beside
        it, named by relative paths. Returns the kubeconfig's path."""
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

        ca_cert = x509.load_pem_x509_certificate(self._pki["ca_crt"].read_bytes())
        ca_key = serialization.load_pem_private_key(self._pki["ca_key"].read_bytes(), password=None)
        key = ec.generate_private_key(ec.SECP256R1())
        now = _dt.datetime.now(_dt.UTC) - _dt.timedelta(minutes=5)
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, user)]
                            + [x509.NameAttribute(NameOID.ORGANIZATION_NAME, g) for g in groups])
        cert = (
            x509.CertificateBuilder().subject_name(subject).issuer_name(ca_cert.subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now).not_valid_after(now + _dt.timedelta(days=1))
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
            .sign(ca_key, hashes.SHA256())
        )
        profile = directory / "profiles" / "meshdeck"
        profile.mkdir(parents=True, exist_ok=True)
        (directory / "ca.crt").write_bytes(self._pki["ca_crt"].read_bytes())
        (profile / "client.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        (profile / "client.key").write_bytes(key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption()))
        config = {
            "apiVersion": "v1", "kind": "Config",
            "clusters": [{"name": "meshdeck-files",
                          "cluster": {"server": self.url, "certificate-authority": "ca.crt"}}],
            "users": [{"name": user, "user": {"client-certificate": "profiles/meshdeck/client.crt",
                                              "client-key": "profiles/meshdeck/client.key"}}],
            "contexts": [{"name": "meshdeck-files", "context": {"cluster": "meshdeck-files", "user": user}}],
            "current-context": "meshdeck-files",
        }
        path = directory / "config"
        path.write_text(yaml.safe_dump(config, sort_keys=False))
        return path

    def client_configuration(self, token: str | None = None):
        """A ``kubernetes.client.Configuration`` for this server and token."""
        from kubernetes import client

        cfg = client.Configuration()
        cfg.host = self.url
        cfg.ssl_ca_cert = self.ca_path
        cfg.verify_ssl = True
        cfg.api_key = {"BearerToken": token or self.admin_token}
        cfg.api_key_prefix = {"BearerToken": "Bearer"}
        return cfg

    def api_client(self, token: str | None = None):
        """A ``kubernetes.client.ApiClient`` (default: admin token)."""
        from kubernetes import client

        return client.ApiClient(self.client_configuration(token))

    def http(self, token: str | None = None) -> requests.Session:
        """A ``requests.Session`` with the CA and a bearer token (default admin);
        join paths to :attr:`url` yourself."""
        return self._session(token)

    # ------------------------------------------------------- pod helpers ----
    def _next_pod_ip(self) -> str:
        with self._pod_ip_lock:
            n = next(self._pod_ip_counter)
        return f"10.244.{(n // 250) % 250}.{n % 250 + 1}"

    def mark_pod_running(
        self,
        namespace: str,
        name: str,
        *,
        ready: bool = True,
        pod_ip: str | None = None,
        restart_count: int = 0,
    ) -> Any:
        """Make a pod look like a kubelet started it: bound to the fake node,
        phase Running, a pod IP,
        running container statuses and Ready/ContainersReady = ``ready``.
        Writes the ``status`` subresource as plain JSON (retries on conflicts)
        and returns the updated pod as a ``V1Pod``."""
        from kubernetes import client

        session = self._session()
        path = f"{self.url}/api/v1/namespaces/{namespace}/pods/{name}"
        for _ in range(10):
            r = session.get(path, timeout=10)
            r.raise_for_status()
            pod = r.json()
            if not pod["spec"].get("nodeName"):
                binding = {
                    "apiVersion": "v1",
                    "kind": "Binding",
                    "metadata": {"name": name, "namespace": namespace},
                    "target": {"apiVersion": "v1", "kind": "Node", "name": NODE_NAME},
                }
                rb = session.post(f"{path}/binding", json=binding, timeout=10)
                if not rb.ok and rb.status_code != 409:
                    raise RuntimeError(
                        f"binding pod {namespace}/{name}: HTTP {rb.status_code}: {rb.text[:500]}"
                    )
                continue  # re-read: binding changed the pod
            old = pod.get("status") or {}
            now = _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            ip = pod_ip or old.get("podIP") or self._next_pod_ip()
            flag = "True" if ready else "False"
            statuses = [
                {
                    "name": c["name"],
                    "image": c.get("image", ""),
                    "imageID": f"docker-pullable://{c.get('image', '')}@sha256:{'0' * 64}",
                    "containerID": f"containerd://{secrets.token_hex(32)}",
                    "ready": ready,
                    "started": True,
                    "restartCount": restart_count,
                    "state": {"running": {"startedAt": now}},
                }
                for c in pod["spec"]["containers"]
            ]
            pod["status"] = {
                "phase": "Running",
                "podIP": ip,
                "podIPs": [{"ip": ip}],
                "hostIP": LOOPBACK,
                "startTime": old.get("startTime") or now,
                "qosClass": old.get("qosClass") or "BestEffort",
                "conditions": [
                    {"type": t, "status": st, "lastTransitionTime": now, "lastProbeTime": None}
                    for t, st in (
                        ("Initialized", "True"),
                        ("Ready", flag),
                        ("ContainersReady", flag),
                        ("PodScheduled", "True"),
                    )
                ],
                "containerStatuses": statuses,
            }
            r = session.put(f"{path}/status", json=pod, timeout=10)
            if r.status_code == 409:
                continue
            if not r.ok:
                raise RuntimeError(
                    f"updating status of pod {namespace}/{name}: HTTP {r.status_code}: {r.text[:500]}"
                )
            return client.CoreV1Api(self.api_client()).read_namespaced_pod(name, namespace)
        raise RuntimeError(f"could not update status of pod {namespace}/{name}: conflicts")

    def mark_pods_running(
        self, namespace: str, label_selector: str | None = None, *, ready: bool = True
    ) -> list:
        """:meth:`mark_pod_running` for every (non-deleted) pod matching the selector."""
        from kubernetes import client

        core = client.CoreV1Api(self.api_client())
        pods = core.list_namespaced_pod(namespace, label_selector=label_selector or "").items
        return [
            self.mark_pod_running(namespace, p.metadata.name, ready=ready)
            for p in pods
            if p.metadata.deletion_timestamp is None
        ]

    def wait_for(self, predicate, timeout: float = 30.0, interval: float = 0.1, message: str = ""):
        """Poll ``predicate()`` until it returns something truthy; return it.
        Raises ``TimeoutError`` (with ``message``) after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        last_exc: Exception | None = None
        while True:
            try:
                value = predicate()
                if value:
                    return value
            except Exception as exc:  # noqa: BLE001 - surfaced in the timeout message
                last_exc = exc
            if time.monotonic() >= deadline:
                extra = f" (last error: {last_exc!r})" if last_exc else ""
                raise TimeoutError(f"timed out after {timeout}s waiting for {message or predicate}{extra}")
            time.sleep(interval)


class _PortClash(KubeStartupError):
    pass


class _QuietInsecure:
    def __enter__(self):
        import warnings

        self._ctx = warnings.catch_warnings()
        self._ctx.__enter__()
        warnings.simplefilter("ignore", urllib3.exceptions.InsecureRequestWarning)

    def __exit__(self, *exc):
        self._ctx.__exit__(*exc)
