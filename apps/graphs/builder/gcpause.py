"""``gc_paused()``: the cyclic garbage collector held off while a big graph is built.

Building and rendering the graph of a large mesh creates some hundred thousand
objects that all stay alive until the answer is sent (nodes, edges, their
dicts); the collector, triggered by the count of new objects, traverses them
again and again for nothing (a third of the build on a 1,000-service mesh).
They hold no reference cycles, so nothing is left for later but the usual
collection, which runs when the pause ends. Reentrant and thread-safe: the
collector is re-enabled when the last pause ends, and only if it was enabled.
"""
from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_depth = 0
_was_enabled = False


@contextmanager
def gc_paused() -> Iterator[None]:
    global _depth, _was_enabled
    with _lock:
        if _depth == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _was_enabled:
                gc.enable()
