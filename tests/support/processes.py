"""What the throw-away servers of the tests (kube-apiserver, Prometheus) share: their child
processes die with the test run, leftovers are stopped at exit, logs and memory are readable."""
from __future__ import annotations

import atexit
import ctypes
import signal
import subprocess
import weakref
from pathlib import Path
from typing import Any

from tests.support.net import LOOPBACK

_PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:  # runs in the child between fork and exec
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except Exception:  # noqa: BLE001 - best effort; the atexit hook stops it otherwise
        pass


def terminate(proc: subprocess.Popen | None, timeout: float = 10.0) -> None:
    """Stop a child politely (SIGTERM), then for good (SIGKILL) if it has not exited in ``timeout`` s."""
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def log_tail(path: Path, lines: int = 40) -> str:
    try:
        text = path.read_text(errors="replace").splitlines()
    except OSError:
        return f"(no log at {path})"
    return "\n".join(text[-lines:])


def rss_kib(pid: int) -> int | None:
    """Resident memory of a running process, from /proc (None once it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def stopped_at_exit() -> weakref.WeakSet[Any]:
    """A set of live servers; whatever is still in it when the interpreter exits is stopped."""
    live: weakref.WeakSet[Any] = weakref.WeakSet()
    atexit.register(_stop_all, live)
    return live


def _stop_all(live: weakref.WeakSet[Any]) -> None:
    for server in list(live):
        try:
            server.stop()
        except Exception:  # noqa: BLE001 - at exit: stop every other server too
            pass


class StartStop:
    """``with Server(...) as s:`` starts it and stops it on the way out."""

    def start(self) -> Any:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


class LoopbackServer(StartStop):
    """A server listening on loopback at ``port`` once started."""

    scheme = "http"
    port: int | None = None

    @property
    def url(self) -> str:
        if self.port is None:
            raise RuntimeError(f"{type(self).__name__} not started")
        return f"{self.scheme}://{LOOPBACK}:{self.port}"
