"""WebSocket fan-out benchmark: 1,000 graph sockets on one ASGI process, one snapshot commit.

Run: ``.venv/bin/python benchmarks/ws_fanout_bench.py [--clients 1000] [--users 10] [--rounds 5]``
with ``DATABASE_URL`` pointing at a PostgreSQL server (trust auth) and ``REDIS_URL`` at Redis,
e.g. ``postgres://postgres@127.0.0.1:5432/postgres`` and ``redis://127.0.0.1:6379/0``. It creates
(and afterwards drops) its own database ``meshdeck_ws_bench``.

Production shape on loopback: one uvicorn process (``portal.asgi``, HTTP + WebSocket) with the
Redis channel layer and PostgreSQL; this process plays the Celery worker and the browsers.
``--users`` viewers (grant on ``bookinfo`` of the simulated ``demo`` cluster) open
``--clients`` sockets between them on ``ws/clusters/demo/graph/?namespaces=bookinfo&graphType=workload``
(same view, same visibility: the process builds one graph per snapshot for all of them).

Each round: a real change of the simulated mesh (a fault on ratings toggled on or off) in a
transaction whose commit sends ``snapshot_committed`` (what the snapshot task does after its
commit); the time just before that send is the commit time. Each client notes when its
``graph.delta`` for that snapshot arrives. Prints, per round and over all rounds, how many of
the clients got it and the delivery latency from the commit: p50, p95, max (the target: all
within 2 s). Not part of CI; no test has a timing threshold. Figures in docs/benchmarks.md.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse, urlunparse

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.istio import abort  # noqa: E402 - after sys.path
from tests.support.processes import terminate  # noqa: E402 - after sys.path

BENCH_DB = "meshdeck_ws_bench"
TARGET_SECONDS = 2.0
VIEW = "namespaces=bookinfo&graphType=workload&injectServiceNodes=false"
FAULT = abort("ratings", 50)


def _admin(url: str, sql: str) -> None:
    import psycopg

    with psycopg.connect(urlunparse(urlparse(url)._replace(path="/postgres")), autocommit=True) as conn:
        conn.execute(sql)


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _figures(latencies: list[float]) -> str:
    first = min(latencies, default=float("nan"))
    last = max(latencies, default=float("nan"))
    return (f"first {first * 1000:.0f} ms, p50 {_pct(latencies, 0.5) * 1000:.0f} ms, "
            f"p95 {_pct(latencies, 0.95) * 1000:.0f} ms, max {last * 1000:.0f} ms")


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _setup(users: int) -> list[str]:
    """The cluster, the viewers and one API token each; returns the tokens' secrets."""
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    from apps.accounts.models import Grant
    from apps.accounts.roles import Role
    from apps.accounts.services import api_token_create
    from apps.clusters.models import Cluster

    call_command("migrate", verbosity=0)
    cluster = Cluster.objects.create(name="demo", kind=Cluster.Kind.SIMULATED, simulator_topology="demo")
    secrets = []
    for i in range(users):
        user = get_user_model().objects.create_user(username=f"viewer{i}", password="bench-password-123")
        Grant.objects.create(user=user, cluster=cluster, role=Role.VIEWER, namespace_pattern="bookinfo")
        secrets.append(api_token_create(user=user, name="bench")[1])
    return secrets


def _start_server(port: int, env: dict) -> subprocess.Popen:
    import requests

    log = open(Path(os.environ.get("TMPDIR", "/tmp")) / f"ws_fanout_bench.{port}.log", "w")  # noqa: SIM115 - the server's log while it runs
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "portal.asgi:application", "--host", "127.0.0.1", "--port", str(port),
         "--lifespan", "off", "--log-level", "warning", "--backlog", "4096"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"uvicorn exited; see {log.name}")
        try:
            requests.get(f"http://127.0.0.1:{port}/accounts/login/", timeout=2)
            return proc
        except requests.ConnectionError:
            time.sleep(0.3)
    proc.terminate()
    raise SystemExit("uvicorn did not answer within 60 s")


class Client:
    def __init__(self, ws):
        self.ws = ws
        self.arrivals: dict[int, float] = {}  # snapshot id -> when its delta arrived (time.time())
        self.sizes: dict[int, int] = {}  # snapshot id -> the delta's size in bytes
        self.errors: list[str] = []

    async def listen(self) -> None:
        try:
            async for text in self.ws:
                now = time.time()
                message = json.loads(text)
                if message.get("type") == "graph.delta":
                    self.arrivals[message["snapshot"]["id"]] = now
                    self.sizes[message["snapshot"]["id"]] = len(text)
                elif message.get("type") in ("graph.error", "closing"):
                    self.errors.append(text[:200])
        except Exception as exc:  # noqa: BLE001 - a dropped socket: counted as not delivered
            self.errors.append(repr(exc))


async def _open(url: str, origin: str, secret: str) -> Client:
    import websockets

    for attempt in range(5):
        try:
            ws = await websockets.connect(url, origin=origin, additional_headers={"Authorization": f"Bearer {secret}"},
                                          max_size=None, open_timeout=60, ping_interval=None)
            break
        except (OSError, TimeoutError, websockets.InvalidStatus):
            if attempt == 4:
                raise
            await asyncio.sleep(0.5 * (attempt + 1))
    hello = json.loads(await ws.recv())
    first = json.loads(await ws.recv())
    assert hello["type"] == "subscribed" and first["type"] == "graph.full", (hello, first["type"])
    return Client(ws)


def _commit_snapshot(cluster_id: int, snapshot_id: int, previous_id: int | None, fault_on: bool) -> list[float]:
    """A real mesh change and the signal after its commit, as the snapshot task sends it.
    Returns [commit time] (filled in on commit)."""
    from django.db import transaction
    from django.utils import timezone

    from apps.clusters.gateways import gateway_for
    from apps.clusters.models import Cluster
    from apps.history.signals import snapshot_committed

    committed: list[float] = []
    cluster = Cluster.objects.get(pk=cluster_id)
    gateway = gateway_for(cluster)
    with transaction.atomic():
        if fault_on:
            gateway.apply_istio_object(FAULT)
        else:
            gateway.delete_istio_object("VirtualService", "bookinfo", "ratings")
        taken_at = timezone.now()

        def send() -> None:
            committed.append(time.time())
            snapshot_committed.send(sender=None, cluster_id=cluster_id, snapshot_id=snapshot_id,
                                    previous_id=previous_id, taken_at=taken_at, status="ok")

        transaction.on_commit(send)
    return committed


async def _run(args, secrets: list[str], port: int, cluster_id: int) -> int:
    from asgiref.sync import sync_to_async

    url = f"ws://127.0.0.1:{port}/ws/clusters/demo/graph/?{VIEW}"
    origin = f"http://127.0.0.1:{port}"
    started = time.monotonic()
    clients: list[Client] = []
    batch = 50
    for i in range(0, args.clients, batch):
        clients += await asyncio.gather(*(_open(url, origin, secrets[(i + j) % len(secrets)])
                                          for j in range(min(batch, args.clients - i))))
    print(f"clients connected     {len(clients)} in {time.monotonic() - started:.1f} s "
          f"({len(secrets)} users, same view; server re-checks each socket's access every "
          f"{args.recheck_seconds} s)", flush=True)
    listeners = [asyncio.create_task(c.listen()) for c in clients]

    all_latencies: list[float] = []
    worst_round = 0.0
    missing_total = 0
    previous = None
    for round_ in range(1, args.rounds + 1):
        await asyncio.sleep(args.pause)
        snapshot_id = 100 + round_
        committed = await sync_to_async(_commit_snapshot, thread_sensitive=False)(
            cluster_id, snapshot_id, previous, fault_on=round_ % 2 == 1)
        previous = snapshot_id
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and sum(snapshot_id in c.arrivals for c in clients) < len(clients):
            await asyncio.sleep(0.02)
        latencies = [c.arrivals[snapshot_id] - committed[0] for c in clients if snapshot_id in c.arrivals]
        missing = len(clients) - len(latencies)
        missing_total += missing
        all_latencies += latencies
        worst_round = max(worst_round, max(latencies, default=float("inf")))
        print(f"round {round_}               received {len(latencies)}/{len(clients)}; {_figures(latencies)}; "
              f"delta {clients[0].sizes.get(snapshot_id, 0) / 1000:.1f} KB", flush=True)
    errors = [e for c in clients for e in c.errors]
    mean = statistics.fmean(all_latencies) * 1000 if all_latencies else float("nan")
    print(f"all rounds            {len(all_latencies)} deliveries; {_figures(all_latencies)}, mean {mean:.0f} ms")
    ok = missing_total == 0 and worst_round <= TARGET_SECONDS
    print(f"target                every client within {TARGET_SECONDS:.0f} s of the commit: "
          f"{'met' if ok else 'NOT met'} (missing {missing_total}, errors {len(errors)})")
    for error in errors[:5]:
        print("  error:", error)
    for c in clients:
        await c.ws.close()
    for task in listeners:
        task.cancel()
    return 0 if ok else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--users", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--pause", type=float, default=3.0, help="seconds between rounds")
    parser.add_argument("--recheck-seconds", type=int, default=300,
                        help="the server's MESHDECK_WS_RECHECK_SECONDS (default 300; see docs/benchmarks.md)")
    args = parser.parse_args()
    url, redis_url = os.environ.get("DATABASE_URL", ""), os.environ.get("REDIS_URL", "")
    if not url.startswith("postgres") or not redis_url:
        sys.exit("Set DATABASE_URL (PostgreSQL, e.g. postgres://postgres@127.0.0.1:5432/postgres) and REDIS_URL "
                 "(e.g. redis://127.0.0.1:6379/0)")
    _admin(url, f"DROP DATABASE IF EXISTS {BENCH_DB}")
    _admin(url, f"CREATE DATABASE {BENCH_DB}")
    env = dict(os.environ)
    env.update(DATABASE_URL=urlunparse(urlparse(url)._replace(path=f"/{BENCH_DB}")),
               DJANGO_SETTINGS_MODULE="portal.settings", CHANNELS_PREFIX="meshdeck-wsbench",
               MESHDECK_AUDIT_CHECKPOINT_EVERY="0", DJANGO_ALLOWED_HOSTS="127.0.0.1",
               MESHDECK_WS_RECHECK_SECONDS=str(args.recheck_seconds))
    os.environ.update(env)
    import logging

    import django

    django.setup()
    logging.getLogger("meshdeck.audit").setLevel(logging.WARNING)
    from django.db import connections

    server = None
    try:
        secrets = _setup(args.users)
        from apps.clusters.models import Cluster

        cluster_id = Cluster.objects.get(name="demo").pk
        port = _free_port()
        server = _start_server(port, env)
        load = os.getloadavg()
        print(f"machine               {os.cpu_count()} CPUs, load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}")
        return asyncio.run(_run(args, secrets, port, cluster_id))
    finally:
        terminate(server)
        connections.close_all()
        _admin(url, f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")


if __name__ == "__main__":
    sys.exit(main())
