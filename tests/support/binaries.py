"""Locate the real binaries the test infrastructure runs.

``make test`` installs / builds them with::

    bash scripts/test-deps.sh      # prometheus, etcd, chromium (Debian packages)
    bash scripts/kube/build.sh     # kube-apiserver, kube-controller-manager v1.20.2

Fixtures call :func:`require`: when a binary is missing the test is skipped
locally, but fails under CI (env ``CI`` set to any non-empty value), so a
broken install can never turn into a silently green run.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

KUBE_VERSION = "1.20.2"

_TEST_DEPS = "scripts/test-deps.sh"
_KUBE_BUILD = "scripts/kube/build.sh"


def cache_dir() -> Path:
    """``${MESHDECK_CACHE:-$HOME/.cache/meshdeck}`` (same rule as scripts/kube/build.sh)."""
    env = os.environ.get("MESHDECK_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "meshdeck"


def kube_bin_dir() -> Path:
    return cache_dir() / f"kube-{KUBE_VERSION}" / "bin"


# name -> (how to find it, the script that provides it)
def _candidates(name: str) -> list[Path]:
    if name in ("kube-apiserver", "kube-controller-manager"):
        return [kube_bin_dir() / name]
    if name == "etcd":
        found = shutil.which("etcd")
        return [Path(found)] if found else [Path("/usr/bin/etcd")]
    if name == "prometheus":
        return [Path("/usr/bin/prometheus")]
    if name == "chromium":
        return [Path("/usr/bin/chromium")]
    if name == "node":
        found = shutil.which("node")
        return [Path(found)] if found else [Path("/usr/bin/node")]
    raise KeyError(f"unknown test binary {name!r}")


PROVIDERS = {
    "kube-apiserver": _KUBE_BUILD,
    "kube-controller-manager": _KUBE_BUILD,
    "etcd": _TEST_DEPS + " (Debian package etcd-server)",
    "prometheus": _TEST_DEPS + " (Debian package prometheus)",
    "chromium": _TEST_DEPS + " (Debian package chromium)",
    "node": "Node.js and npm, which `make run` needs for the front-end libraries (README)",
}


def find(name: str) -> Path | None:
    """Path of binary ``name`` if it is installed and executable, else None."""
    for path in _candidates(name):
        if path.is_file() and os.access(path, os.X_OK):
            return path
    return None


def missing_message(name: str) -> str:
    where = ", ".join(str(p) for p in _candidates(name))
    how = PROVIDERS[name]
    if not how.startswith("scripts/"):
        return f"{name} not found (looked at {where}); install {how}"
    return (
        f"{name} not found (looked at {where}); install it with "
        f"`bash {how}` (`make test` runs scripts/test-deps.sh and "
        f"scripts/kube/build.sh)"
    )


def in_ci() -> bool:
    return bool(os.environ.get("CI"))


def require(name: str) -> Path:
    """Return the path of binary ``name``; skip the test if missing (fail under CI)."""
    import pytest

    path = find(name)
    if path is not None:
        return path
    if in_ci():
        pytest.fail(missing_message(name) + " [CI is set, so this is a failure]", pytrace=False)
    pytest.skip(missing_message(name))
