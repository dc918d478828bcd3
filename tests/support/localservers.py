"""Local servers that misbehave on purpose, for error-path tests (loopback only).

- ``closed_port()``: nothing listens there -> "connection refused"
- ``SilentServer``: accepts connections and never answers -> timeouts
- ``LocalHTTPServer``: answers with whatever a callable returns
- ``JsonServer``: answers every request with a fixed status and JSON body
- ``tls_server()``: a self-signed HTTPS server -> TLS verification errors
- ``CountingProxy``: forwards TCP to a real server and counts the connections opened
"""
from __future__ import annotations

import datetime
import json
import socket
import ssl
import threading
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def closed_port() -> int:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nobody listens now
    return port


class _AcceptingServer:
    """Listens on loopback and accepts in a thread; ``_accepted(conn)`` says what happens next."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self._conns: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _accept(self) -> None:
        self.sock.settimeout(0.2)
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self._conns.append(conn)
            self._accepted(conn)

    def _accepted(self, conn: socket.socket) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
        self.sock.close()
        for conn in self._conns:
            conn.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


class SilentServer(_AcceptingServer):
    """Listens and accepts, then says nothing until stopped."""

    def _accepted(self, conn: socket.socket) -> None:
        pass  # held open, never answered


class LocalHTTPServer:
    """A loopback HTTP(S) server: ``respond(method, path) -> (status, content_type, body)``.

    Serves GET and POST (Prometheus's API accepts both), in a daemon thread.
    """

    def __init__(self, respond, tls_context: ssl.SSLContext | None = None):
        class Handler(BaseHTTPRequestHandler):
            def _answer(self):
                status, content_type, body = respond(self.command, self.path)
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = _answer  # noqa: N815 - http.server API

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        if tls_context is not None:
            self.httpd.socket = tls_context.wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_address[1]
        self.scheme = "https" if tls_context else "http"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}"

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


class JsonServer(LocalHTTPServer):
    """Answers every request with a fixed status and JSON body; records the paths."""

    def __init__(self, status: int = 200, body: dict | None = None, tls_context: ssl.SSLContext | None = None):
        self.status, self.body, self.paths = status, body or {}, []

        def respond(method, path):
            self.paths.append(path)
            return self.status, "application/json", json.dumps(self.body).encode()

        super().__init__(respond, tls_context)


def self_signed_cert(directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(__import__("ipaddress").ip_address("127.0.0.1"))]),
                       critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


@contextmanager
def tls_server(directory: Path, status: int = 200, body: dict | None = None):
    cert, key = self_signed_cert(directory)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    with JsonServer(status, body, tls_context=context) as server:
        yield server


class CountingProxy(_AcceptingServer):
    """A loopback TCP forwarder to ``127.0.0.1:upstream_port`` that counts the connections it accepts.

    Bytes pass through untouched (TLS included: the client still verifies the
    real server's certificate), so ``accepted`` is exactly how many connections
    the client opened to that server.
    """

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.accepted = 0
        super().__init__()

    def _accepted(self, conn: socket.socket) -> None:
        conn.settimeout(None)
        self.accepted += 1
        upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
        self._conns.append(upstream)
        for src, dst in ((conn, upstream), (upstream, conn)):
            threading.Thread(target=self._pump, args=(src, dst), daemon=True).start()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:  # one side hung up: hang up the other, as a transparent proxy does
            for end in (src, dst):
                try:
                    end.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
