"""Standalone simulated meshes, one per key, shared by the threads of one process.

For benchmarks, the exporter's ``--topology`` mode and tests that need a mesh
without a cluster. A portal cluster's mesh is not here: it lives in the
database so every process shares it (``store.py``).
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable

from .mesh import SimulatedMesh

_meshes: dict[str, SimulatedMesh] = {}
_lock = threading.Lock()
_reset_hooks: list[Callable[[], None]] = []


# A mesh has been "running" this long when it is first read, so every graph
# window (up to 6h) is full from the first request instead of under-reporting
# until the window has elapsed.
HISTORY_SECONDS = 6 * 3600


def get_mesh(
    key: str, topology: str = "demo", seed: int = 1, clock: Callable[[], float] = time.time
) -> SimulatedMesh:
    """The mesh for ``key``, created on first use with ``topology``/``seed``.

    Later calls return the same object whatever topology they name; call
    ``reset_meshes()`` (tests) to start over.
    """
    with _lock:
        mesh = _meshes.get(key)
        if mesh is None:
            mesh = SimulatedMesh(topology or "demo", seed=seed, clock=clock, start=clock() - HISTORY_SECONDS)
            _meshes[key] = mesh
        return mesh


def on_reset(hook: Callable[[], None]) -> None:
    """Also call ``hook`` on ``reset_meshes()`` (the database-backed store drops its copies)."""
    if hook not in _reset_hooks:
        _reset_hooks.append(hook)


def reset_meshes() -> None:
    """Forget every mesh this process holds: standalone ones, and its copies of shared ones."""
    with _lock:
        _meshes.clear()
    for hook in _reset_hooks:
        hook()
