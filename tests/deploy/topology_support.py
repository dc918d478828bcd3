"""The topology of scripts/topology.py on a database of its own, and clients for it (tests and
benchmarks/load share these)."""
from __future__ import annotations

import json
import ssl
import threading
import uuid
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlparse, urlunparse

import requests

from tests.deploy.conftest import ROOT, load_topology


@contextmanager
def scratch_database(database_url: str, prefix: str = "topology"):
    """A new, empty database on DATABASE_URL's server, dropped afterwards; yields its URL."""
    import psycopg

    parsed = urlparse(database_url)
    name = f"{(parsed.path.lstrip('/') or 'meshdeck')}_{prefix}_{uuid.uuid4().hex[:8]}"
    admin_url = urlunparse(parsed._replace(path="/postgres"))
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urlunparse(parsed._replace(path=f"/{name}"))
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def running_topology(run_dir: Path, database_url: str, redis_url: str, **kwargs):
    topology = load_topology()
    with scratch_database(database_url) as url:
        runner = topology.Topology(run_dir=run_dir, database_url=url, redis_url=redis_url,
                                   static_root=ROOT / "var" / "topology-static", **kwargs)
        runner.start()
        try:
            yield runner
        finally:
            runner.stop()


def session_for(runner, base_url: str, username: str) -> requests.Session:
    """Logged in as a demo user through ``base_url`` (the balancer or one web process)."""
    session = requests.Session()
    session.trust_env = False  # REQUESTS_CA_BUNDLE would replace our CA; no proxies: loopback only
    session.verify = str(runner.ca_path)
    login = base_url + "/accounts/login/"
    session.get(login, timeout=30).raise_for_status()
    response = session.post(login, data={"username": username, "password": runner.passwords[username],
                                         "csrfmiddlewaretoken": session.cookies["csrftoken"]},
                            headers={"Referer": login}, timeout=30)
    response.raise_for_status()
    assert "sessionid" in session.cookies, f"{username} could not log in: {response.status_code}"
    return session


def token_for(runner, base_url: str, username: str, scope: str = "read") -> str:
    """An API token of a demo user (``scope`` ``write`` to change anything)."""
    s = requests.Session()
    s.trust_env = False
    r = s.post(base_url + "/api/auth/token/", verify=str(runner.ca_path), timeout=30,
               json={"username": username, "password": runner.passwords[username], "scope": scope})
    r.raise_for_status()
    return r.json()["token"]


def ssl_context(runner) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(runner.ca_path))


def websocket(runner, base_url: str, path: str, session: requests.Session):
    """A WebSocket to one web process, authenticated by the session's cookie."""
    from websockets.sync.client import connect

    ws_url = base_url.replace("https://", "wss://") + path
    cookie = "; ".join(f"{c.name}={c.value}" for c in session.cookies)

    def attempt():
        return connect(ws_url, ssl=ssl_context(runner), origin=base_url, additional_headers={"Cookie": cookie},
                       open_timeout=30)

    # Once in a CI run the client hung inside connect() past its open_timeout without its handshake ever
    # reaching the server (whose log shows no such request; the server answered others at once). A hung
    # attempt is left behind in its thread and a new connection is opened; an error is raised as is.
    for _ in range(3):
        done: list = []
        worker = threading.Thread(target=lambda out=done: out.append(_outcome(attempt)), daemon=True)
        worker.start()
        worker.join(timeout=45)
        if done:
            ok, value = done[0]
            if ok:
                return value
            raise value
    raise TimeoutError(f"could not open {ws_url}: three attempts hung")


def _outcome(fn):
    try:
        return True, fn()
    except Exception as exc:  # noqa: BLE001 - handed to the caller's thread
        return False, exc


def receive_json(ws, timeout: float) -> dict:
    return json.loads(ws.recv(timeout=timeout))
