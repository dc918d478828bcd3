"""An HTTPS proxy in front of the real kube-apiserver that can answer for it: 500, 401, or nothing.

It terminates TLS with a certificate of its own (the cluster's ``ca_pem`` is that certificate) and
forwards everything else, the client's bearer token included, to the API server. ``mode`` applies
to every request (``pass``, ``500``, ``401``, ``silent``); ``fail_writes`` maps the ordinal of a
write (PATCH/PUT/POST/DELETE, counted from 1) to the fault it gets, the rest passing through.
"""
from __future__ import annotations

import json
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import requests

from tests.support.localservers import self_signed_cert

STATUS = {
    "500": (500, {"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": 500,
                  "reason": "InternalError", "message": "etcdserver: request timed out"}),
    "401": (401, {"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": 401,
                  "reason": "Unauthorized", "message": "Unauthorized"}),
}
WRITES = {"PATCH", "PUT", "POST", "DELETE"}


class FaultyKubeProxy:
    def __init__(self, upstream_url: str, upstream_ca: str, directory: Path):
        self.mode = "pass"
        self.fail_writes: dict[int, str] = {}
        self.writes: list[tuple[str, str, str]] = []  # (method, path, what happened)
        self._release = threading.Event()
        session = requests.Session()
        session.trust_env = False
        session.verify = upstream_ca
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                fault = proxy.mode
                if self.command in WRITES:
                    n = len(proxy.writes) + 1
                    fault = proxy.fail_writes.get(n, fault)
                    proxy.writes.append((self.command, self.path, fault))
                if fault == "silent":
                    proxy._release.wait(60)  # never answered while the test runs
                    return
                if fault in STATUS:
                    status, payload = STATUS[fault]
                    return self._send(status, "application/json", json.dumps(payload).encode())
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")}
                upstream = session.request(self.command, upstream_url + self.path, data=body, headers=headers,
                                           timeout=30)
                self._send(upstream.status_code, upstream.headers.get("Content-Type", "application/json"),
                           upstream.content)

            def _send(self, status, content_type, content):
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)

            do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _answer  # noqa: N815 - http.server API

            def log_message(self, *args):
                pass

        cert, key = self_signed_cert(directory)
        self.ca_pem = cert.read_text()
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
        self.url = f"https://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self._release.set()
        self.httpd.shutdown()
        self.httpd.server_close()
