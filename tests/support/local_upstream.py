"""A tiny threaded HTTP server on 127.0.0.1 for module tests: each path answers with a function of the test's.

A route is `handler(request) -> None` writing to `request.wfile` itself, so it can drip bytes, stall, or send
garbage. The server counts requests per path and TCP connections, and stops (waking stalled routes) on exit.
"""

from __future__ import annotations

import contextlib
import http.server
import json
import ssl
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import jwt
import trustme
from cryptography.hazmat.primitives.asymmetric import rsa

Route = Callable[["Handler"], None]


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, so tests can count connections
    server: Upstream

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.body = self.rfile.read(length)
        self._dispatch()

    def _dispatch(self) -> None:
        path = self.path.split("?", 1)[0]
        with self.server.lock:
            self.server.hits[path] += 1
        route = self.server.routes.get(path)
        if route is None:
            self.send_json({"error": "not found"}, status=404)
            return
        route(self)

    def setup(self) -> None:
        super().setup()
        with self.server.lock:
            self.server.connections += 1

    def log_message(self, format: str, *args: object) -> None:
        pass

    # helpers for routes
    def send_bytes(
        self, body: bytes, status: int = 200, content_type: str = "application/json", **headers: str
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.end_headers()
        self.wfile.write(body)

    def send_json(self, value: object, status: int = 200) -> None:
        self.send_bytes(json.dumps(value).encode(), status)

    def drip(self, data: bytes, interval: float) -> None:
        """Write data one byte every interval seconds (until the server stops)."""
        for index in range(len(data)):
            if self.server.stopping.wait(interval):
                return
            self.wfile.write(data[index : index + 1])
            self.wfile.flush()

    def pause(self, seconds: float) -> None:
        self.server.stopping.wait(seconds)


class Upstream(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.scheme = "http"
        self.ca_bundle = ""
        self.routes: dict[str, Route] = {}
        self.hits: Counter[str] = Counter()
        self.connections = 0
        self.lock = threading.Lock()
        self.stopping = threading.Event()

    @property
    def url(self) -> str:
        host = "localhost" if self.scheme == "https" else "127.0.0.1"
        return f"{self.scheme}://{host}:{self.server_address[1]}"

    def use_tls(self, directory: Path) -> None:
        """Serve https with a throwaway CA; ca_bundle names the file a client should trust."""
        ca = trustme.CA()
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ca.issue_cert("localhost", "127.0.0.1").configure_cert(context)
        self.ca_bundle = str(directory / "upstream-ca.pem")
        ca.cert_pem.write_to_path(self.ca_bundle)
        self.socket = context.wrap_socket(self.socket, server_side=True)
        self.scheme = "https"

    def route(self, path: str, handler: Route) -> None:
        self.routes[path] = handler

    def json_route(self, path: str, value: object, status: int = 200, delay: float = 0.0) -> None:
        def answer(request: Handler) -> None:
            if delay:
                request.pause(delay)
            request.send_json(value, status)

        self.routes[path] = answer

    def raw_route(self, path: str, body: bytes, status: int = 200) -> None:
        self.routes[path] = lambda request: request.send_bytes(body, status)


@contextlib.contextmanager
def upstream(tls_directory: Path | None = None) -> Iterator[Upstream]:
    """A running Upstream (https when tls_directory is given, for the CA bundle)."""
    server = Upstream()
    if tls_directory is not None:
        server.use_tls(tls_directory)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.stopping.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def deeply_nested(depth: int = 100_000) -> bytes:
    return b"[" * depth + b"]" * depth


class Stopwatch:
    def __enter__(self) -> Stopwatch:
        self.started = time.monotonic()
        self.seconds = 0.0
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.monotonic() - self.started


def rsa_jwk(kid: str):
    """(public JWK dict, private key) for a fresh RSA key."""
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(private.public_key()))
    return {**jwk, "kid": kid, "use": "sig"}, private
