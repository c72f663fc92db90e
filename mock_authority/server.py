"""The Flask factory and the two-listener runner (https back channel, plain-http front channel)."""
from __future__ import annotations

import contextlib
import dataclasses
import threading
from collections.abc import Iterator

from flask import Flask, g, request
from werkzeug.serving import WSGIRequestHandler, make_server

from . import control, graph, oidc
from .config import MockConfig, config_from
from .runtime import EXTENSION, Urls, current_state, urls_for
from .state import MockState, RequestRecord
from .tls import TlsMaterial

BIND_ADDRESS = "127.0.0.1"  # never listen beyond this machine
UNLOGGED_BLUEPRINTS = ("control",)
HTML_SECURITY_HEADERS = {
    # No scripts at all; the picker form may still redirect to the app's (other-origin) redirect URI.
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; "
                               "frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


class _MergeSlashes:
    """Collapse '//' in the path: msal requests '…//v2.0/…' for an authority with a trailing slash."""

    def __init__(self, wsgi_app) -> None:
        self.wsgi_app = wsgi_app

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        while "//" in path:
            path = path.replace("//", "/")
        environ["PATH_INFO"] = path
        return self.wsgi_app(environ, start_response)


def _log_request(response):
    """Record endpoint, method, path, status, grant type and ids; never bodies, query strings or headers."""
    if request.blueprint in UNLOGGED_BLUEPRINTS or request.endpoint == "static":
        return response
    state = current_state()
    name = request.endpoint.rsplit(".", 1)[-1] if request.endpoint else "unmatched"
    state.record(RequestRecord(
        endpoint=name,
        method=request.method,
        path=request.path,
        status=response.status_code,
        time=state.now(),
        grant_type=g.get("grant_type"),
        client_id=g.get("client_id"),
        client_request_id=request.headers.get("client-request-id"),
    ))
    return response


def _security_headers(response):
    if response.mimetype == "text/html":
        for name, value in HTML_SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
    return response


def create_app(config: MockConfig | None = None, *, state: MockState | None = None, **overrides) -> Flask:
    """Build the mock's Flask app (both listeners serve this same app)."""
    if state is None:
        state = MockState(config_from(config, **overrides))
    app = Flask(__name__, static_url_path="/_mock/static")
    app.extensions[EXTENSION] = state
    app.register_blueprint(oidc.bp)
    app.register_blueprint(graph.bp)
    app.register_blueprint(control.bp)

    app.after_request(_log_request)
    app.after_request(_security_headers)
    app.wsgi_app = _MergeSlashes(app.wsgi_app)
    return app


class _QuietHandler(WSGIRequestHandler):
    """Request handler that does not print one line per request (tests)."""

    def log_request(self, *args, **kwargs) -> None:
        pass


def _placeholder_app(environ, start_response):
    start_response("503 Service Unavailable", [("Content-Type", "text/plain")])
    return [b"starting"]


class MockAuthority:
    """A running mock: both listeners, its URLs, TLS bundle and control state."""

    def __init__(self, config: MockConfig | None = None, *, log_requests: bool = False, **overrides) -> None:
        config = config_from(config, **overrides).resolved()
        self._tls = TlsMaterial(config.host)
        handler = WSGIRequestHandler if log_requests else _QuietHandler
        # Bind first (port 0 = free port), then build the app with the real ports in its URLs.
        try:
            self._back = make_server(BIND_ADDRESS, config.port, _placeholder_app, threaded=True,
                                     request_handler=handler, ssl_context=self._tls.server_context())
            try:
                self._front = make_server(BIND_ADDRESS, config.front_port, _placeholder_app, threaded=True,
                                          request_handler=handler)
            except BaseException:
                self._back.server_close()
                raise
        except BaseException:
            self._tls.cleanup()
            raise
        self.config = dataclasses.replace(config, port=self._back.server_port,
                                          front_port=self._front.server_port)
        self.state = MockState(self.config)
        self.app = create_app(self.config, state=self.state)
        self._back.app = self._front.app = self.app
        self._urls: Urls = urls_for(self.config.host, self.config.port, self.config.front_port,
                                    self.config.tenant_id)
        self._threads: list[threading.Thread] = []

    authority = property(lambda self: self._urls.authority, doc="What the app puts in AUTHORITY.")
    issuer = property(lambda self: self._urls.issuer, doc="The ID tokens' iss.")
    base_url = property(lambda self: self._urls.base_url, doc="https back channel.")
    front_url = property(lambda self: self._urls.front_url, doc="plain-http browser channel.")
    graph_endpoint = property(lambda self: self._urls.graph_endpoint, doc="Graph /v1.0/users URL.")
    ca_bundle = property(lambda self: self._tls.ca_bundle, doc="certifi roots + the mock CA (PEM path).")

    def start(self) -> "MockAuthority":
        """Serve both listeners in daemon threads."""
        for server, name in ((self._back, "mock-authority-tls"), (self._front, "mock-authority-front")):
            thread = threading.Thread(target=server.serve_forever, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        """Stop both listeners and delete the CA bundle."""
        for server in (self._back, self._front):
            if self._threads:
                server.shutdown()
            server.server_close()
        for thread in self._threads:
            thread.join(timeout=5)
        self._threads.clear()
        self._tls.cleanup()

    def __enter__(self) -> "MockAuthority":
        return self.start() if not self._threads else self

    def __exit__(self, *exc) -> None:
        self.stop()


@contextlib.contextmanager
def run_in_thread(config: MockConfig | None = None, **overrides) -> Iterator[MockAuthority]:
    """Start the mock on both listeners in daemon threads; stop it on exit."""
    mock = MockAuthority(config, **overrides)
    try:
        yield mock.start()
    finally:
        mock.stop()
