"""A real, throw-away Prometheus (Debian's /usr/bin/prometheus) for tests.

:class:`PrometheusServer` writes its own config (the given scrape targets,
scrape/evaluation interval default 1s) and runs Prometheus on a free
127.0.0.1 port with a temp data dir. It never uses :9090 or the system
config, so a packaged daemon (which scripts/test-deps.sh keeps stopped) does
not matter.

    prom = PrometheusServer(["127.0.0.1:8123"]).start()
    prom.wait_for_targets_up()
    prom.wait_for_series('my_counter_total')
    prom.query('sum(my_counter_total)')   # -> list of {"metric": {...}, "value": [ts, "1"]}
    prom.stop()

Timing: Prometheus is ready within ~0.1 s, but Debian's 2.42 applies scrape
targets on a fixed 5 s tick of its scrape manager (not configurable in this
version), so the *first* scrape happens ~5-6 s after start; after that,
samples arrive every ``scrape_interval``. Tests that need several exporters
are faster with one server scraping all of them than with one server each.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
import weakref
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
import yaml

from tests.support import binaries
from tests.support.net import LOOPBACK, free_port
from tests.support.processes import LoopbackServer, die_with_parent, log_tail, rss_kib, stopped_at_exit


class PrometheusError(RuntimeError):
    pass


@dataclass
class ScrapeTarget:
    """``address`` is ``host:port``; ``labels`` become target labels."""

    address: str
    metrics_path: str = "/metrics"
    job: str | None = None
    labels: dict[str, str] = field(default_factory=dict)
    scheme: str = "http"




def _as_target(spec: Any) -> ScrapeTarget:
    if isinstance(spec, ScrapeTarget):
        return spec
    if isinstance(spec, str):
        return ScrapeTarget(spec)
    if isinstance(spec, tuple):
        return ScrapeTarget(*spec)
    if isinstance(spec, dict):
        return ScrapeTarget(**spec)
    raise TypeError(f"bad scrape target {spec!r}")


_LIVE: weakref.WeakSet[PrometheusServer] = stopped_at_exit()


class PrometheusServer(LoopbackServer):
    """Prometheus scraping ``targets`` every ``scrape_interval``.

    ``targets``: ``"host:port"`` strings, ``(address, metrics_path)`` tuples,
    :class:`ScrapeTarget` objects or dicts of its fields. Targets sharing a
    job name (default: ``"test"`` for ``/metrics``, else one per path) share
    a scrape config.
    """

    def __init__(
        self,
        targets: Iterable[Any] = (),
        *,
        scrape_interval: str = "1s",
        scrape_timeout: str | None = None,
        extra_scrape_configs: Iterable[dict] = (),
        extra_args: Iterable[str] = (),
        startup_timeout: float = 30.0,
        keep_workdir: bool | None = None,
    ):
        self.targets = [_as_target(t) for t in targets]
        self.scrape_interval = scrape_interval
        self.scrape_timeout = scrape_timeout
        self.extra_scrape_configs = list(extra_scrape_configs)
        self.extra_args = list(extra_args)
        self.startup_timeout = startup_timeout
        if keep_workdir is None:
            keep_workdir = bool(os.environ.get("MESHDECK_KEEP_PROM_TMP"))
        self.keep_workdir = keep_workdir
        self.workdir: Path | None = None
        self.port: int | None = None
        self._popen: subprocess.Popen | None = None
        self._log = None
        self._stopped = False
        self._http = requests.Session()
        self._http.trust_env = False
        self.startup_seconds: float | None = None

    # ------------------------------------------------------------ basics ----
    @property
    def log_path(self) -> Path:
        assert self.workdir is not None
        return self.workdir / "prometheus.log"

    @property
    def config_path(self) -> Path:
        assert self.workdir is not None
        return self.workdir / "prometheus.yml"

    def config(self) -> dict:
        scrape_timeout = self.scrape_timeout or self.scrape_interval
        jobs: dict[tuple[str, str, str], list[ScrapeTarget]] = {}
        for t in self.targets:
            job = t.job or ("test" if t.metrics_path == "/metrics" else f"test{t.metrics_path.replace('/', '_')}")
            jobs.setdefault((job, t.metrics_path, t.scheme), []).append(t)
        scrape_configs = []
        for (job, path, scheme), targets in jobs.items():
            static = []
            for t in targets:
                entry: dict[str, Any] = {"targets": [t.address]}
                if t.labels:
                    entry["labels"] = dict(t.labels)
                static.append(entry)
            scrape_configs.append(
                {
                    "job_name": job,
                    "metrics_path": path,
                    "scheme": scheme,
                    "scrape_interval": self.scrape_interval,
                    "scrape_timeout": scrape_timeout,
                    "static_configs": static,
                }
            )
        scrape_configs.extend(self.extra_scrape_configs)
        return {
            "global": {
                "scrape_interval": self.scrape_interval,
                "scrape_timeout": scrape_timeout,
                "evaluation_interval": self.scrape_interval,
            },
            "scrape_configs": scrape_configs,
        }

    # --------------------------------------------------------- lifecycle ----
    def start(self) -> PrometheusServer:
        if self.workdir is not None:
            raise RuntimeError("PrometheusServer already started")
        prom = binaries.find("prometheus")
        if prom is None:
            raise PrometheusError(binaries.missing_message("prometheus"))
        t0 = time.monotonic()
        self.workdir = Path(tempfile.mkdtemp(prefix="meshdeck-prom-"))
        _LIVE.add(self)
        self.config_path.write_text(yaml.safe_dump(self.config(), sort_keys=False))
        try:
            for attempt in range(3):
                self.port = free_port()
                data = self.workdir / f"data{attempt}"
                argv = [
                    str(prom),
                    f"--config.file={self.config_path}",
                    f"--storage.tsdb.path={data}",
                    f"--web.listen-address={LOOPBACK}:{self.port}",
                    f"--web.external-url=http://{LOOPBACK}:{self.port}/",
                    "--storage.tsdb.retention.time=1h",
                    "--query.lookback-delta=1m",
                    "--log.level=warn",
                    *self.extra_args,
                ]
                self._log = open(self.log_path, "ab")
                self._popen = subprocess.Popen(
                    argv,
                    cwd=self.workdir,
                    stdin=subprocess.DEVNULL,
                    stdout=self._log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                    preexec_fn=die_with_parent,
                )
                if self._wait_ready(t0):
                    break
                tail = log_tail(self.log_path)
                self._kill()
                if "address already in use" not in tail or attempt == 2:
                    raise PrometheusError(
                        f"prometheus did not become ready\n---- tail of {self.log_path} ----\n{tail}"
                    )
        except BaseException:
            self.stop()
            raise
        self.startup_seconds = time.monotonic() - t0
        return self

    def _wait_ready(self, t0: float) -> bool:
        assert self._popen is not None
        while time.monotonic() - t0 < self.startup_timeout:
            if self._popen.poll() is not None:
                return False
            try:
                r = self._http.get(f"{self.url}/-/ready", timeout=1)
                if r.status_code == 200:
                    return True
            except requests.RequestException:
                pass
            time.sleep(0.05)
        return False

    def _kill(self) -> None:
        import signal

        if self._popen is not None and self._popen.poll() is None:
            try:
                os.killpg(self._popen.pid, signal.SIGTERM)
                self._popen.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self._popen.pid, signal.SIGKILL)
                self._popen.wait(5)
            except ProcessLookupError:
                pass
        if self._log is not None:
            self._log.close()
            self._log = None

    def stop(self) -> None:
        """Kill Prometheus and remove its temp dir (idempotent)."""
        if self._stopped:
            return
        self._stopped = True
        self._kill()
        if self.workdir is not None and not self.keep_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)
        _LIVE.discard(self)

    def rss_kib(self) -> int | None:
        if self._popen is None:
            return None
        return rss_kib(self._popen.pid)

    # ---------------------------------------------------------- HTTP API ----
    def api(self, path: str, **params) -> Any:
        """GET ``/api/v1/<path>`` and return ``data`` (raises on error status)."""
        r = self._http.get(f"{self.url}/api/v1/{path.lstrip('/')}", params=params, timeout=10)
        try:
            body = r.json()
        except ValueError:
            r.raise_for_status()
            raise PrometheusError(f"non-JSON answer from {r.url}: {r.text[:300]}") from None
        if body.get("status") != "success":
            raise PrometheusError(f"{r.url}: {body.get('errorType')}: {body.get('error')}")
        return body["data"]

    def query(self, promql: str, time: float | None = None) -> list[dict]:
        """Instant query; returns the ``result`` list (vector) or, for a scalar /
        string result, ``[{"metric": {}, "value": [...]}]``."""
        params = {"query": promql}
        if time is not None:
            params["time"] = str(time)
        data = self.api("query", **params)
        if data["resultType"] in ("scalar", "string"):
            return [{"metric": {}, "value": data["result"]}]
        return data["result"]

    def query_value(self, promql: str) -> float | None:
        """The value of a single-sample instant query, or None if no data."""
        result = self.query(promql)
        if not result:
            return None
        return float(result[0]["value"][1])

    def targets_status(self) -> list[dict]:
        return self.api("targets", state="active")["activeTargets"]

    def wait_for_targets_up(self, timeout: float = 30.0) -> list[dict]:
        """Wait until every configured target has health ``up``."""
        deadline = time.monotonic() + timeout
        active: list[dict] = []
        while True:
            active = self.targets_status()
            expected = len(self.targets) + sum(
                len(sc.get("static_configs", [{}])[0].get("targets", []))
                for sc in self.extra_scrape_configs
            )
            if len(active) >= expected and all(t.get("health") == "up" for t in active):
                return active
            if time.monotonic() >= deadline:
                summary = [
                    (t.get("scrapeUrl"), t.get("health"), t.get("lastError")) for t in active
                ]
                raise TimeoutError(f"targets not all up after {timeout}s: {summary}")
            time.sleep(0.2)

    def wait_for_series(self, query: str, timeout: float = 30.0) -> list[dict]:
        """Poll the instant ``query`` until it returns data; return the result."""
        deadline = time.monotonic() + timeout
        while True:
            result = self.query(query)
            if result:
                return result
            if time.monotonic() >= deadline:
                raise TimeoutError(f"no data for {query!r} after {timeout}s")
            time.sleep(0.2)
