"""Runs the portal exactly as `make run` does, on the embedded default.

No DATABASE_URL/REDIS_URL: SQLite in a temp dir, in-memory channel layer,
eager tasks, one uvicorn process for HTTP and WebSocket.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import requests

from .localservers import closed_port
from .processes import terminate

ROOT = Path(__file__).resolve().parents[2]


class PortalProcess:
    def __init__(self, data_dir: Path):
        self.data_dir = data_dir
        self.port = closed_port()
        self.env = {
            k: v for k, v in os.environ.items()
            if k not in ("DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE", "CELERY_TASK_ALWAYS_EAGER")
        }
        self.env["MESHDECK_DATA_DIR"] = str(data_dir)
        self.passwords: dict[str, str] = {}
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _manage(self, *args: str) -> str:
        result = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=self.env,
                                capture_output=True, text=True, timeout=180)
        if result.returncode != 0:
            raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
        return result.stdout

    def start(self) -> PortalProcess:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._manage("migrate", "--noinput", "-v0")
        out = self._manage("seed_demo")
        self.passwords = dict(re.findall(r"^\s+(admin|operator|approver|viewer)\s+(\S+)", out, re.M))
        self.log = open(self.data_dir / "portal.log", "w")
        self.proc = subprocess.Popen(
            [sys.executable, "manage.py", "runportal", "--port", str(self.port)],
            cwd=ROOT, env=self.env, stdout=self.log, stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("the portal exited:\n" + (self.data_dir / "portal.log").read_text()[-3000:])
            try:
                if requests.get(self.url + "/accounts/login/", timeout=2).status_code == 200:
                    return self
            except requests.ConnectionError:
                pass
            time.sleep(0.3)
        raise RuntimeError("the portal did not answer within 60 s")

    def login(self, username: str) -> requests.Session:
        session = requests.Session()
        session.get(self.url + "/accounts/login/", timeout=10)
        response = session.post(
            self.url + "/accounts/login/",
            data={"username": username, "password": self.passwords[username],
                  "csrfmiddlewaretoken": session.cookies["csrftoken"]},
            headers={"Referer": self.url + "/accounts/login/"}, timeout=30,
        )
        response.raise_for_status()
        return session

    def stop(self) -> None:
        terminate(self.proc)
        if getattr(self, "log", None):
            self.log.close()
