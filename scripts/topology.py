#!/usr/bin/env python3
"""Meshdeck's production topology as local processes: what docker-compose.yml and
deploy/kubernetes/ run, on this machine's PostgreSQL and Redis.

    .venv/bin/python scripts/topology.py --web 2          # until Ctrl-C
    .venv/bin/python scripts/topology.py --print-commands  # the commands, as compose runs them

Processes (each logs to <run-dir>/<name>.log):

* ``migrate``: ``manage.py migrate`` once, then ``collectstatic`` (cached by the content of
  static/) and, with ``--seed-demo`` (the default here), ``seed_demo``: the simulated cluster
  ``demo`` and the demo users, whose passwords are printed.
* ``web-a``, ``web-b``, ...: N ASGI servers (uvicorn, HTTP + WebSocket), each on its own port.
* a local TCP load balancer in front of them (round robin per connection, so a WebSocket stays
  on the process it reached), the one URL users get.
* ``worker``: one Celery worker on the ``meshdeck`` queue.
* ``beat``: exactly one Celery beat (the schedule in settings).
* ``exporter`` (``--exporter``): the simulator's Istio metrics for a demo Prometheus.

Settings are ``portal.production`` (``--settings`` to change): secure cookies, HSTS, SSL
redirect. A TCP balancer cannot add ``X-Forwarded-Proto``, so where compose and Kubernetes put
TLS on the load balancer, here each web process serves TLS itself with a throw-away certificate
(``<run-dir>/tls/ca.crt``); that and the ports are the only differences from compose's commands
(``tests/deploy/test_consistency.py`` holds them to that). Secrets the caller does not set
(``DJANGO_SECRET_KEY``, ``MESHDECK_ENCRYPTION_KEYS``, ``MESHDECK_AUDIT_KEY``) are generated
for the run and kept in ``<run-dir>/env.json``, so a restart of the runner on the same run
directory reads its own data.

Imported by the tests (``Topology``) and by benchmarks/load/run.py. Loopback only.
"""
from __future__ import annotations

import argparse
import asyncio
import base64
import ctypes
import datetime as _dt
import hashlib
import ipaddress
import itertools
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Self

ROOT = Path(__file__).resolve().parents[1]
LOOPBACK = "127.0.0.1"

# ---------------------------------------------------------------------------------------------
# The commands. docker-compose.yml, the Dockerfile and deploy/kubernetes/ run exactly these
# (tests/deploy/test_consistency.py compares them), with the image's values below.
IMAGE_HOST = "0.0.0.0"
IMAGE_WEB_PORT = 8000
IMAGE_EXPORTER_PORT = 9464
IMAGE_BEAT_SCHEDULE = "/tmp/celerybeat-schedule"
IMAGE_WORKER_CONCURRENCY = 4
QUEUE = "meshdeck"
KEEP_ALIVE_SECONDS = 75  # more than haproxy's and most ingresses' idle timeout (60 s)
DEMO_CLUSTER = "demo"
# A page that answers 200 without a login and touches no database: probes and healthchecks.
HEALTH_PATH = "/accounts/login/"

# Every process of the image needs these (production settings refuse to start without them,
# except DJANGO_SETTINGS_MODULE and DJANGO_ALLOWED_HOSTS, which the image must set on purpose).
REQUIRED_ENV = (
    "DJANGO_SETTINGS_MODULE",
    "DJANGO_SECRET_KEY",
    "DJANGO_ALLOWED_HOSTS",
    "DATABASE_URL",
    "REDIS_URL",
    "MESHDECK_ENCRYPTION_KEYS",
    "MESHDECK_AUDIT_KEY",
)
# Of those, the ones that are secrets: compose takes them from the operator's environment,
# Kubernetes from a Secret (by reference), the runner generates them.
SECRET_ENV = ("DJANGO_SECRET_KEY", "DATABASE_URL", "MESHDECK_ENCRYPTION_KEYS", "MESHDECK_AUDIT_KEY")


def migrate_command() -> list[str]:
    return ["python", "manage.py", "migrate", "--noinput"]


def collectstatic_command() -> list[str]:
    return ["python", "manage.py", "collectstatic", "--noinput"]


def web_command(host: str = IMAGE_HOST, port: int = IMAGE_WEB_PORT) -> list[str]:
    # --proxy-headers: the client address and scheme come from the load balancer's
    # X-Forwarded-For / X-Forwarded-Proto (MESHDECK_TRUSTED_PROXY_COUNT says how many hops).
    # --timeout-keep-alive above the balancer's idle time (uvicorn's default is 5 s): otherwise a
    # client or balancer reusing a connection the server is just closing gets a reset, not an answer.
    return ["uvicorn", "portal.asgi:application", "--host", host, "--port", str(port),
            "--proxy-headers", "--forwarded-allow-ips", "*", "--timeout-keep-alive", str(KEEP_ALIVE_SECONDS)]


def worker_command(concurrency: int = IMAGE_WORKER_CONCURRENCY, queues: str = QUEUE) -> list[str]:
    return ["celery", "-A", "portal", "worker", "-Q", queues, "--concurrency", str(concurrency), "-l", "INFO"]


def beat_command(schedule: str = IMAGE_BEAT_SCHEDULE) -> list[str]:
    return ["celery", "-A", "portal", "beat", "-l", "INFO", "--schedule", schedule]


def exporter_command(host: str = IMAGE_HOST, port: int = IMAGE_EXPORTER_PORT,
                     cluster: str = DEMO_CLUSTER) -> list[str]:
    return ["python", "manage.py", "simulator_exporter", "--cluster", cluster, "--host", host, "--port", str(port)]


def image_commands() -> dict[str, list[str]]:
    """Every service's command with the image's values (what compose and Kubernetes run)."""
    return {
        "migrate": migrate_command(),
        "web": web_command(),
        "worker": worker_command(),
        "beat": beat_command(),
        "exporter": exporter_command(),
    }


def tls_args(cert: Path, key: Path) -> list[str]:
    """What the runner adds to web_command() (no TLS-terminating balancer here)."""
    return ["--ssl-certfile", str(cert), "--ssl-keyfile", str(key)]


# ---------------------------------------------------------------------------------------------
# Processes

_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:  # in the child, between fork and exec
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except Exception:  # noqa: BLE001, S110 - best effort; stop() still ends every child
        pass


def _resolve(argv: list[str]) -> list[str]:
    """`python`, `uvicorn`, `celery` of the image -> this interpreter and its virtualenv's scripts."""
    head, rest = argv[0], argv[1:]
    if head == "python":
        return [sys.executable, *rest]
    script = Path(sys.executable).parent / head
    if script.exists():
        return [str(script), *rest]
    return [sys.executable, "-m", head, *rest]


class Process:
    def __init__(self, name: str, argv: list[str], env: dict[str, str], log_dir: Path):
        self.name = name
        self.argv = argv
        self.log_path = log_dir / f"{name}.log"
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - open while the process runs
        self.popen = subprocess.Popen(
            _resolve(argv), cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=self._log,
            stderr=subprocess.STDOUT, start_new_session=True,
            preexec_fn=_die_with_parent,  # noqa: PLW1509 - prctl only, no locks taken
        )

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def signal(self, sig: int) -> None:
        """To this process's own process group only (the children it forked, e.g. Celery's pool)."""
        if self.alive():
            try:
                os.killpg(self.popen.pid, sig)
            except ProcessLookupError:
                pass

    def stop(self, timeout: float = 20.0) -> None:
        self.signal(signal.SIGTERM)
        try:
            self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            self.signal(signal.SIGKILL)
            self.popen.wait(10)
        self._log.close()


class StartupError(RuntimeError):
    """A process of the topology did not come up; the message carries its log's tail."""


def _tail(text: str, lines: int = 40) -> str:
    return "\n".join(text.splitlines()[-lines:])


# ---------------------------------------------------------------------------------------------
# The load balancer: round robin per TCP connection (TLS and WebSocket pass through untouched).

class RoundRobinBalancer:
    def __init__(self, backends: list[int], port: int = 0):
        self.backends = backends
        self.port = port
        self.connections = [0] * len(backends)
        self._next = itertools.cycle(range(len(backends)))
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._server: asyncio.base_events.Server | None = None
        self._thread = threading.Thread(target=self._run, name="topology-balancer", daemon=True)

    def start(self) -> RoundRobinBalancer:
        self._thread.start()
        self._ready.wait(10)
        if self._server is None:
            raise StartupError(f"the load balancer could not listen on {LOOPBACK}:{self.port}")
        return self

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)

        async def listen():
            try:
                self._server = await asyncio.start_server(self._handle, LOOPBACK, self.port, backlog=512)
                self.port = self._server.sockets[0].getsockname()[1]
            finally:
                self._ready.set()

        self._loop.run_until_complete(listen())
        if self._server is not None:
            self._loop.run_forever()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        index = next(self._next)
        self.connections[index] += 1
        try:
            up_reader, up_writer = await asyncio.open_connection(LOOPBACK, self.backends[index])
        except OSError:
            writer.close()
            return

        async def pump(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            except (ConnectionError, OSError):
                pass
            finally:  # one side hung up: hang up the other, as a TCP balancer does
                try:
                    dst.close()
                except (ConnectionError, OSError, RuntimeError):
                    pass

        await asyncio.gather(pump(reader, up_writer), pump(up_reader, writer))

    def stop(self) -> None:
        if self._server is not None:
            def shutdown():
                self._server.close()
                self._loop.stop()
            self._loop.call_soon_threadsafe(shutdown)
            self._thread.join(10)


# ---------------------------------------------------------------------------------------------
# Certificates and secrets for a run

def _make_tls(directory: Path) -> tuple[Path, Path, Path]:
    """A throw-away CA and a serving certificate for 127.0.0.1 / localhost: (ca, cert, key)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    directory.mkdir(parents=True, exist_ok=True)
    ca_path, cert_path, key_path = directory / "ca.crt", directory / "server.crt", directory / "server.key"
    if ca_path.exists() and cert_path.exists() and key_path.exists():
        return ca_path, cert_path, key_path
    now = _dt.datetime.now(_dt.UTC) - _dt.timedelta(minutes=5)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "meshdeck-topology-ca")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now)
          .not_valid_after(now + _dt.timedelta(days=30))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now).not_valid_after(now + _dt.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address(LOOPBACK))]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    ca_path.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    key_path.chmod(0o600)
    return ca_path, cert_path, key_path


def generated_secrets() -> dict[str, str]:
    """What `manage.py cluster genkey` / `audit genkey` make, without starting Django."""
    return {
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(64),
        # Fernet: 32 random bytes, url-safe base64 with padding.
        "MESHDECK_ENCRYPTION_KEYS": base64.urlsafe_b64encode(os.urandom(32)).decode(),
        # Ed25519: any 32 bytes are a private key; url-safe base64 without padding.
        "MESHDECK_AUDIT_KEY": base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("="),
    }


def _static_fingerprint() -> str:
    """Changes when anything collectstatic copies from the repository changes."""
    digest = hashlib.sha256()
    for path in sorted((ROOT / "static").rglob("*")):
        if path.is_file():
            stat = path.stat()
            digest.update(f"{path.relative_to(ROOT)}:{stat.st_size}:{stat.st_mtime_ns}\n".encode())
    import django  # the venv's: admin and the API docs' files come from installed packages
    digest.update(django.__version__.encode())
    return digest.hexdigest()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        return sock.getsockname()[1]


# ---------------------------------------------------------------------------------------------

class Topology:
    """N web processes behind a balancer, a worker and beat, on the given PostgreSQL and Redis.

    ``start()`` migrates, collects static files, seeds the demo (optional) and starts every
    process; ``stop()`` ends the processes it started. ``url`` is the balancer, ``web_urls``
    each web process directly (tests talk to one on purpose), ``ca_path`` the CA to trust.
    """

    def __init__(
        self,
        *,
        run_dir: Path,
        database_url: str,
        redis_url: str,
        web: int = 2,
        worker_concurrency: int = 2,
        beat: bool = True,
        exporter: bool = False,
        seed_demo: bool = True,
        settings: str = "portal.production",
        port: int = 0,
        static_root: Path | None = None,
        env: dict[str, str] | None = None,
    ):
        if not database_url.startswith(("postgres://", "postgresql://")):
            raise ValueError("The topology runs on PostgreSQL: give a postgres:// DATABASE_URL.")
        if not redis_url.startswith("redis://"):
            raise ValueError("The topology runs on Redis: give a redis:// REDIS_URL.")
        self.run_dir = Path(run_dir)
        self.database_url = database_url
        self.redis_url = redis_url
        self.web_count = web
        self.worker_concurrency = worker_concurrency
        self.with_beat = beat
        self.with_exporter = exporter
        self.seed_demo = seed_demo
        self.settings = settings
        self.port = port
        self.static_root = Path(static_root) if static_root else ROOT / "var" / "topology-static"
        self.extra_env = dict(env or {})
        self.processes: dict[str, Process] = {}
        self.web_ports: list[int] = []
        self.exporter_port: int | None = None
        self.balancer: RoundRobinBalancer | None = None
        self.passwords: dict[str, str] = {}
        self.env: dict[str, str] = {}
        self.ca_path: Path | None = None

    # ------------------------------------------------------------------ addresses ----
    @property
    def url(self) -> str:
        assert self.balancer is not None, "not started"
        return f"https://{LOOPBACK}:{self.balancer.port}"

    @property
    def web_urls(self) -> list[str]:
        return [f"https://{LOOPBACK}:{port}" for port in self.web_ports]

    @staticmethod
    def web_name(index: int) -> str:
        return f"web-{chr(ord('a') + index)}"

    # ---------------------------------------------------------------- environment ----
    def _environment(self) -> dict[str, str]:
        saved = self.run_dir / "env.json"
        run_secrets = json.loads(saved.read_text()) if saved.exists() else {}
        for name, value in generated_secrets().items():
            # Kept from an earlier start of this run directory, else the caller's, else new.
            run_secrets.setdefault(name, self.extra_env.get(name) or os.environ.get(name) or value)
        saved.write_text(json.dumps(run_secrets))
        saved.chmod(0o600)
        skip = {"DJANGO_SETTINGS_MODULE", "CELERY_TASK_ALWAYS_EAGER", "MESHDECK_INPROCESS_SCHEDULER",
                "PYTEST_CURRENT_TEST", "PYTEST_XDIST_WORKER"}
        env = {k: v for k, v in os.environ.items() if k not in skip}
        env.update(run_secrets)
        prefix = "meshdeck-" + hashlib.sha256(str(self.run_dir.resolve()).encode()).hexdigest()[:8]
        env.update({
            "DJANGO_SETTINGS_MODULE": self.settings,
            "DJANGO_ALLOWED_HOSTS": f"{LOOPBACK},localhost",
            "DATABASE_URL": self.database_url,
            "REDIS_URL": self.redis_url,
            "MESHDECK_DATA_DIR": str(self.run_dir / "data"),
            "STATIC_ROOT": str(self.static_root),
            # The balancer is TCP: no X-Forwarded-For to trust (compose's load balancer: 1).
            "MESHDECK_TRUSTED_PROXY_COUNT": "0",
            # Two runs on one Redis database must not hear each other's sockets or cache.
            "CHANNELS_PREFIX": prefix,
            "CACHE_PREFIX": prefix,
            "PYTHONUNBUFFERED": "1",
        })
        env.update(self.extra_env)
        return env

    def manage(self, *args: str, timeout: float = 600) -> str:
        """Run ``manage.py`` with the topology's environment; its output (raises on failure)."""
        result = subprocess.run(_resolve(["python", "manage.py", *args]), check=False, cwd=ROOT, env=self.env,
                                capture_output=True, text=True, timeout=timeout)
        if result.returncode != 0:
            raise StartupError(f"manage.py {' '.join(args)} failed:\n{_tail(result.stdout)}\n{_tail(result.stderr)}")
        return result.stdout

    def _collectstatic(self) -> None:
        stamp = self.static_root / ".meshdeck-fingerprint"
        want = _static_fingerprint()
        if stamp.exists() and stamp.read_text() == want and (self.static_root / "staticfiles.json").exists():
            return
        if not (ROOT / "static" / "vendor").is_dir():
            raise StartupError("static/vendor/ is missing: run `bash scripts/vendor.sh` first.")
        self.manage(*collectstatic_command()[2:], "-v0")
        stamp.write_text(want)

    # ------------------------------------------------------------------ lifecycle ----
    def start(self) -> Topology:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        (self.run_dir / "data").mkdir(exist_ok=True)
        self.env = self._environment()
        self.ca_path, cert, key = _make_tls(self.run_dir / "tls")
        try:
            self.manage(*migrate_command()[2:], "-v0")
            self._collectstatic()
            if self.seed_demo:
                out = self.manage("seed_demo")
                self.passwords = dict(re.findall(r"^\s+(admin|operator|approver|viewer)\s+(\S+)", out, re.MULTILINE))
            for index in range(self.web_count):
                port = self._start_web(index, cert, key)
                self.web_ports.append(port)
            self._start("worker", worker_command(self.worker_concurrency))
            if self.with_beat:
                self._start("beat", beat_command(str(self.run_dir / "celerybeat-schedule")))
            if self.with_exporter:
                self.exporter_port = free_port()
                self._start("exporter", exporter_command(LOOPBACK, self.exporter_port))
            self._wait_worker_ready()
            self.balancer = RoundRobinBalancer(self.web_ports, self.port).start()
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self, name: str, argv: list[str]) -> Process:
        process = Process(name, argv, self.env, self.run_dir)
        self.processes[name] = process
        return process

    def _start_web(self, index: int, cert: Path, key: Path, attempts: int = 5) -> int:
        import requests

        name = self.web_name(index)
        for _ in range(attempts):
            port = free_port()
            process = self._start(name, web_command(LOOPBACK, port) + tls_args(cert, key))
            deadline = time.monotonic() + 90
            while time.monotonic() < deadline:
                if not process.alive():
                    break
                try:
                    r = requests.get(f"https://{LOOPBACK}:{port}{HEALTH_PATH}", verify=str(self.ca_path), timeout=5)
                    if r.status_code == 200:
                        return port
                    raise StartupError(f"{name} answered {r.status_code} on {HEALTH_PATH}:\n{_tail(process.log())}")
                except requests.ConnectionError:
                    time.sleep(0.3)
            log = process.log()
            process.stop()
            if "address already in use" not in log:
                raise StartupError(f"{name} did not come up:\n{_tail(log)}")
        raise StartupError(f"{name}: no free port after {attempts} attempts")

    def _wait_worker_ready(self, timeout: float = 90) -> None:
        worker = self.processes["worker"]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if " ready." in worker.log():
                return
            if not worker.alive():
                break
            time.sleep(0.3)
        raise StartupError(f"the Celery worker did not become ready:\n{_tail(worker.log())}")

    def stop(self) -> None:
        if self.balancer is not None:
            self.balancer.stop()
            self.balancer = None
        for process in reversed(list(self.processes.values())):
            process.stop()

    def check_alive(self) -> None:
        """Raise if a process of the topology has exited (with its log's tail)."""
        for process in self.processes.values():
            if not process.alive():
                raise StartupError(f"{process.name} exited ({process.popen.returncode}):\n{_tail(process.log())}")

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--web", type=int, default=2, help="ASGI web processes (default 2)")
    parser.add_argument("--port", type=int, default=8443, help="the balancer's port on 127.0.0.1 (default 8443)")
    parser.add_argument("--worker-concurrency", type=int, default=2)
    parser.add_argument("--no-beat", action="store_true")
    parser.add_argument("--exporter", action="store_true", help="also serve the demo cluster's /metrics")
    parser.add_argument("--no-seed-demo", action="store_true")
    parser.add_argument("--settings", default="portal.production")
    parser.add_argument("--run-dir", default=str(ROOT / "var" / "topology"))
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", ""))
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL", ""))
    parser.add_argument("--print-commands", action="store_true", help="print the image's commands (JSON) and exit")
    args = parser.parse_args(argv)
    if args.print_commands:
        print(json.dumps(image_commands(), indent=2))
        return 0
    if not args.database_url or not args.redis_url:
        parser.error("set DATABASE_URL and REDIS_URL (or --database-url / --redis-url)")
    topology = Topology(run_dir=Path(args.run_dir), database_url=args.database_url, redis_url=args.redis_url,
                        web=args.web, worker_concurrency=args.worker_concurrency, beat=not args.no_beat,
                        exporter=args.exporter, seed_demo=not args.no_seed_demo, settings=args.settings,
                        port=args.port)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    topology.start()
    print(f"Meshdeck on {topology.url}/  (CA: {topology.ca_path}; Ctrl-C to stop)")
    for name, process in topology.processes.items():
        print(f"  {name:8} pid {process.pid:<7} log {process.log_path}")
    for index, url in enumerate(topology.web_urls):
        print(f"  {topology.web_name(index)} directly: {url}")
    if topology.passwords:
        print("Demo logins:", ", ".join(f"{u} {p}" for u, p in topology.passwords.items()))
    sys.stdout.flush()
    try:
        while not stop.wait(1):
            topology.check_alive()
    finally:
        topology.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
