"""One in-process simulated mesh per key (e.g. ``cluster-<pk>``), shared by threads."""
from __future__ import annotations

import threading
import time
from typing import Callable

from .mesh import SimulatedMesh

_meshes: dict[str, SimulatedMesh] = {}
_lock = threading.Lock()


# A cluster's mesh has been "running" this long when the portal first reads it,
# so every graph window (up to 6h) is full from the first request instead of
# under-reporting until the window has elapsed.
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


def reset_meshes() -> None:
    with _lock:
        _meshes.clear()
