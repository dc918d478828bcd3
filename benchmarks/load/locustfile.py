"""Logged-in people browsing Meshdeck: overview, traffic graph (page and its API), history (when
the portal has it) and audit. Run by benchmarks/load/run.py against scripts/topology.py; by hand:

    MESHDECK_LOAD_CA=var/topology/tls/ca.crt MESHDECK_LOAD_PASSWORDS='{"operator": "..."}' \\
        .venv/bin/locust -f benchmarks/load/locustfile.py --host https://127.0.0.1:8443

Every answer but a 200 is an error (a redirect to the login page included: the session was lost).
"""
from __future__ import annotations

import itertools
import json
import os
from pathlib import Path

from locust import HttpUser, between, events, task

CA = os.environ.get("MESHDECK_LOAD_CA") or True
PASSWORDS: dict[str, str] = json.loads(os.environ.get("MESHDECK_LOAD_PASSWORDS", "{}"))
CLUSTER = os.environ.get("MESHDECK_LOAD_CLUSTER", "demo")
# Sessions logged in before the run ([{"username", "cookies": {...}}], from run.py): the measured
# minute is browsing, not 100 password hashes at once. Without it each user logs in at start.
_SESSIONS = os.environ.get("MESHDECK_LOAD_SESSIONS")
_sessions = iter(json.loads(Path(_SESSIONS).read_text()) if _SESSIONS else [])
GRAPH_QUERY = "namespaces=bookinfo,helloworld,grpc-demo&graphType=versionedApp&duration=1m"
# The demo viewer may see bookinfo only (asking for more is a 404, as the README says).
GRAPH_QUERY_FOR = {"viewer": "namespaces=bookinfo&graphType=versionedApp&duration=1m"}
_people = itertools.cycle(sorted(PASSWORDS))
HISTORY = {"path": None}  # found once, at start: the portal may not have a history page yet


@events.test_start.add_listener
def find_history(environment, **_):
    import requests

    session = requests.Session()
    session.trust_env = False
    person = next(iter(sorted(PASSWORDS)), None)
    if person is None:
        return
    login = environment.host + "/accounts/login/"
    session.get(login, verify=CA, timeout=30)
    session.post(login, data={"username": person, "password": PASSWORDS[person],
                              "csrfmiddlewaretoken": session.cookies.get("csrftoken", "")},
                 headers={"Referer": login}, verify=CA, timeout=30)
    for path in (f"/clusters/{CLUSTER}/history/", "/history/"):
        if session.get(environment.host + path, verify=CA, timeout=30, allow_redirects=False).status_code == 200:
            HISTORY["path"] = path
            break


class Person(HttpUser):
    wait_time = between(1, 3)

    def on_start(self):
        self.client.trust_env = False  # REQUESTS_CA_BUNDLE would replace the topology's CA
        self.client.verify = CA
        ready = next(_sessions, None)
        if ready is not None:
            self.username = ready["username"]
            host = self.host.split("://", 1)[1].rsplit(":", 1)[0]
            for name, value in ready["cookies"].items():
                self.client.cookies.set(name, value, domain=host, path="/", secure=True)
            return
        self.username = next(_people)
        login = "/accounts/login/"
        self.client.get(login, name="login page")
        with self.client.post(login, name="login", catch_response=True, allow_redirects=False, data={
                "username": self.username, "password": PASSWORDS[self.username],
                "csrfmiddlewaretoken": self.client.cookies.get("csrftoken", "")},
                headers={"Referer": self.host + login}) as response:
            if response.status_code != 302 or "sessionid" not in self.client.cookies:
                response.failure(f"login of {self.username} failed: HTTP {response.status_code}")

    def _get(self, path: str, name: str):
        with self.client.get(path, name=name, catch_response=True, allow_redirects=False) as response:
            if response.status_code == 0:  # no answer at all: say why (reset, refused, timeout)
                response.failure(f"no response: {response.error!r}")
            elif response.status_code != 200:
                response.failure(f"HTTP {response.status_code}")

    @task(3)
    def overview(self):
        self._get("/", "overview")

    @task(1)
    def graph_page(self):
        self._get(f"/clusters/{CLUSTER}/graph/?{GRAPH_QUERY_FOR.get(self.username, GRAPH_QUERY)}", "graph page")

    @task(3)
    def graph_api(self):
        # What the graph page fetches, and fetches again at its refresh interval.
        self._get(f"/api/clusters/{CLUSTER}/graph?{GRAPH_QUERY_FOR.get(self.username, GRAPH_QUERY)}", "graph API")

    @task(2)
    def audit(self):
        self._get("/audit/", "audit")

    @task(2)
    def history(self):
        if HISTORY["path"]:
            self._get(HISTORY["path"], "history")
