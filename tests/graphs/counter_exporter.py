"""A /metrics endpoint whose counters grow at the rates of hand-made samples (real clock).

Lets the Prometheus path be tested against known rates independently of the
simulator: counter = rate x seconds since start, so Prometheus's rate() over
any window inside the exporter's lifetime returns the sample's rate.
"""
from __future__ import annotations

import time

from tests.support.localservers import LocalHTTPServer

EXPOSITION = "text/plain; version=0.0.4"


def _escape(v: str) -> str:
    return v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def start_counter_exporter(samples):
    """Returns (server, port, start time); stop with ``server.stop()``."""
    t0 = time.time()
    lines = []
    for s in samples:
        labels = ",".join(f'{k}="{_escape(str(v))}"' for k, v in sorted(s.labels.items()))
        lines.append((f"{s.metric}{{{labels}}} ", s.rate))

    def respond(method, path):
        elapsed = time.time() - t0
        return 200, EXPOSITION, "".join(f"{head}{rate * elapsed!r}\n" for head, rate in lines).encode()

    server = LocalHTTPServer(respond)
    return server, server.port, t0
