"""One long-lived client per key in this process, rebuilt when what it was built from changes.

A Kubernetes gateway or a Prometheus client holds a connection pool. Built per
request, every request pays new TCP and TLS handshakes and leaves the sockets
to the garbage collector. Built once per cluster and shared (the clients are
thread-safe), a process keeps one pool per cluster.

The caller names what the client is built from (its *fingerprint*: URL,
credentials, timeout...). A request that sees a different fingerprint gets a
new client and the old one is closed, so changed credentials take effect on
the next request, in every process, without a restart.
"""
from __future__ import annotations

import logging
import os
import threading
import weakref
from collections.abc import Callable, Hashable
from typing import Any

log = logging.getLogger(__name__)

_caches: weakref.WeakSet[SharedClients] = weakref.WeakSet()


class SharedClients:
    def __init__(self, close: Callable[[Any], None] = lambda client: client.close()):
        self._close = close
        self._lock = threading.Lock()
        self._entries: dict[Hashable, tuple[Hashable, Any]] = {}
        _caches.add(self)

    def get(self, key: Hashable, fingerprint: Hashable, build: Callable[[], Any]) -> Any:
        """The client for ``key`` built from ``fingerprint``: the cached one, or a new one from ``build()``.

        ``build`` runs under the lock (it reads settings and sets up TLS; it
        does not connect), so two requests never build two clients for one key.
        If it raises, nothing is cached and the old client stays.
        """
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and entry[0] == fingerprint:
                return entry[1]
            client = build()
            self._entries[key] = (fingerprint, client)
        if entry is not None:
            self._close_quietly(entry[1])
        return client

    def close_all(self) -> None:
        with self._lock:
            entries, self._entries = list(self._entries.values()), {}
        for _, client in entries:
            self._close_quietly(client)

    def _close_quietly(self, client: Any) -> None:
        try:
            self._close(client)
        except Exception:  # noqa: BLE001 - closing an old pool must not fail the request that replaced it
            log.warning("closing a replaced client failed", exc_info=True)

    def _forget_after_fork(self) -> None:
        # A forked child (a Celery prefork worker) must not talk over the
        # parent's pooled sockets (two processes writing one TLS stream): it
        # drops the inherited clients, leaving the sockets to the parent, and
        # builds its own.
        self._lock = threading.Lock()
        self._entries = {}


def close_all_shared_clients() -> None:
    """Close every shared client of this process (between tests; at shutdown)."""
    for cache in list(_caches):
        cache.close_all()


def _after_fork_in_child() -> None:
    for cache in list(_caches):
        cache._forget_after_fork()


os.register_at_fork(after_in_child=_after_fork_in_child)
