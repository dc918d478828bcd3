"""``/metrics`` for a simulated mesh, in Prometheus text exposition format 0.0.4.

A real Prometheus can scrape it (the graph tests do). Each scrape renders the
counters at ``mesh.clock()``; label strings are built once per series, a scrape
only multiplies rates by elapsed time. ``mesh`` is a standalone ``SimulatedMesh``
or a cluster's ``PersistentMesh``, which catches up with the cluster's log first.
"""
from __future__ import annotations

import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from .mesh import SimulatedMesh

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class MetricsServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], mesh: SimulatedMesh, after_request: Callable[[], None] | None = None):
        super().__init__(address, _Handler)
        self.mesh = mesh
        # Runs in the request's thread when it is done (the command closes that thread's
        # database connection: every request gets a new thread).
        self.after_request = after_request
        self.thread: threading.Thread | None = None

    def stop(self) -> None:
        self.shutdown()
        self.server_close()
        if self.thread is not None:
            self.thread.join(timeout=5)


class _Handler(BaseHTTPRequestHandler):
    server: MetricsServer
    # HTTP/1.0: the body is streamed and the connection closed at the end (no Content-Length
    # needed), so a large mesh never holds its whole exposition in memory.
    protocol_version = "HTTP/1.0"

    def do_GET(self) -> None:  # noqa: N802 (http.server API)
        try:
            self._serve()
        finally:
            if self.server.after_request is not None:
                self.server.after_request()

    def _serve(self) -> None:
        path = self.path.split("?", 1)[0]
        if path in ("/healthz", "/-/healthy"):
            body = b"ok\n"
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        if path != "/metrics":
            self.send_error(404, "try /metrics")
            return
        try:
            chunks = self.server.mesh.iter_exposition()
        except Exception as exc:  # noqa: BLE001 (a cluster's mesh reads its database first)
            self.send_error(503, f"the simulated mesh cannot be read: {exc}")
            return
        self.send_response(200)
        self.send_header("Content-Type", CONTENT_TYPE)
        self.end_headers()
        for chunk in chunks:
            self.wfile.write(chunk.encode())

    def log_message(self, format: str, *args: object) -> None:  # keep test output quiet
        pass


def make_server(mesh: SimulatedMesh, host: str = "127.0.0.1", port: int = 0,
                after_request: Callable[[], None] | None = None) -> MetricsServer:
    return MetricsServer((host, port), mesh, after_request)


def start_exporter(mesh: SimulatedMesh, host: str = "127.0.0.1", port: int = 0) -> tuple[MetricsServer, int]:
    """Serve ``mesh`` on a background thread; returns (server, bound port). Stop with ``server.stop()``."""
    server = make_server(mesh, host, port)
    thread = threading.Thread(target=server.serve_forever, name=f"simulator-exporter:{server.server_address[1]}",
                              daemon=True)
    server.thread = thread
    thread.start()
    return server, server.server_address[1]
