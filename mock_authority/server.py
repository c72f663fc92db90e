"""The Flask factory and the two-listener runner (https back channel, plain-http front channel)."""

from __future__ import annotations

import contextlib
import dataclasses
import email.utils
import logging
import socket
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

import cheroot.wsgi
from cheroot.makefile import MakeFile
from cheroot.server import HTTPConnection
from cheroot.ssl.builtin import BuiltinSSLAdapter
from cheroot.workers import threadpool
from flask import Flask, Response, g, request

from . import (
    authorize,
    b2c,
    b2c_api,
    control,
    discovery,
    errors,
    fault_hook,
    graph,
    graph_directory,
    logout,
    managed_identity,
    pages,
    token,
    workload_issuer,
)
from .b2c import SIGN_UP_SIGN_IN
from .config import MockConfig, config_from
from .runtime import EXTENSION, Urls, current_state, urls_for
from .state import MockState, RequestRecord
from .tls import TlsMaterial, tls_names

if TYPE_CHECKING:
    from _typeshed import OptExcInfo
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

BIND_ADDRESS = "127.0.0.1"  # never listen beyond this machine
# Requests each listener serves at once: slow and drip faults hold a thread while they wait, so a few of
# them leave plenty for everything else.
LISTENER_THREADS = 48
IDLE_TIMEOUT = 30  # seconds an idle keep-alive connection stays open (and a started request may take to arrive)
log = logging.getLogger(__name__)
UNLOGGED_BLUEPRINTS = ("control",)
BLUEPRINTS = (discovery.bp, authorize.bp, token.bp, logout.bp, graph.bp, graph_directory.bp, pages.bp, control.bp)
# Credentials other than a secret: the App Service managed-identity endpoint and the workload-identity issuer.
CREDENTIAL_BLUEPRINTS = (managed_identity.bp, workload_issuer.bp)
# APIs of the tenant other than Graph: the demo web API a B2C app calls.
API_BLUEPRINTS = (b2c_api.bp,)


class _MergeSlashes:
    """Collapse '//' in the path: msal requests '…//v2.0/…' for an authority with a trailing slash."""

    def __init__(self, wsgi_app: WSGIApplication) -> None:
        self.wsgi_app = wsgi_app

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        while "//" in path:
            path = path.replace("//", "/")
        environ["PATH_INFO"] = path
        return self.wsgi_app(environ, start_response)


def _log_request(response: Response) -> Response:
    """Record endpoint, method, path, status, grant type and ids; never bodies, query strings or headers."""
    if request.blueprint in UNLOGGED_BLUEPRINTS or request.endpoint == "static":
        return response
    state = current_state()
    name = request.endpoint.rsplit(".", 1)[-1] if request.endpoint else "unmatched"
    state.record(
        RequestRecord(
            endpoint=name,
            method=request.method,
            path=request.path,
            status=response.status_code,
            time=state.now(),
            grant_type=g.get("grant_type"),
            client_id=g.get("client_id"),
            client_request_id=request.headers.get("client-request-id"),
        )
    )
    return response


def _date_from_mock_clock(response: Response) -> Response:
    """The Date header by the mock's clock (advance_clock moves it), as clients compare clocks against it."""
    response.headers["Date"] = email.utils.formatdate(current_state().now(), usegmt=True)
    return response


def _note_request_context() -> None:
    """Client id and grant type for the request log, read before any fault or error can answer."""
    if request.blueprint in UNLOGGED_BLUEPRINTS:
        return
    g.client_id = request.values.get("client_id")
    if request.method == "POST":
        g.grant_type = request.form.get("grant_type")


def create_app(config: MockConfig | None = None, *, state: MockState | None = None, **overrides: Any) -> Flask:
    """Build the mock's Flask app (both listeners serve this same app)."""
    if state is None:
        state = MockState(config_from(config, **overrides))
    app = Flask(__name__, static_url_path="/_mock/static")
    app.extensions[EXTENSION] = state
    app.url_map.converters["b2c_policy"] = b2c.PolicyConverter  # B2C's /<tenant>/<user_flow>/… paths
    for blueprint in (*BLUEPRINTS, *CREDENTIAL_BLUEPRINTS, *API_BLUEPRINTS):
        app.register_blueprint(blueprint)
    errors.register(app)
    app.before_request(_note_request_context)
    app.after_request(_log_request)
    app.after_request(pages.security_headers)
    app.after_request(_date_from_mock_clock)
    fault_hook.register(app)  # its after-request half runs first (Flask runs them in reverse)
    # Flask's documented way to add WSGI middleware; mypy objects to any assignment to a method.
    app.wsgi_app = _MergeSlashes(app.wsgi_app)  # type: ignore[method-assign]
    return app


class _CountedConnection(HTTPConnection):
    """A connection that tells its listener it was opened (how tests see whether clients reuse connections)."""

    def __init__(self, server: _Listener, sock: socket.socket, makefile: Callable[..., Any] = MakeFile) -> None:
        super().__init__(server, sock, makefile)
        server.on_new_connection()


class _DaemonThreadPool(threadpool.ThreadPool):
    """cheroot's worker pool with daemon threads, so a mock that was never stopped cannot hang the interpreter."""

    def _spawn_worker(self) -> threadpool.WorkerThread:
        worker = threadpool.WorkerThread(self.server)
        worker.name = f"mock-authority {worker.name}"
        worker.daemon = True
        worker.start()
        return worker


class _Listener(cheroot.wsgi.Server):
    """A cheroot WSGI server: HTTP/1.1 keep-alive (Werkzeug's dev server always closes the connection), TLS,
    a fixed pool of daemon threads, errors to the logging module, and a count of the connections it accepted."""

    ConnectionClass = _CountedConnection
    # cheroot's default keeps only 10 idle keep-alive connections open; None (no limit) is documented and handled
    # (connections.py), but cheroot's stub types the attribute as int.
    keep_alive_conn_limit = None  # type: ignore[assignment]

    def __init__(
        self,
        port: int,
        app: WSGIApplication,
        on_new_connection: Callable[[], None],
        tls_files: tuple[str, str] | None = None,
    ) -> None:
        super().__init__(
            (BIND_ADDRESS, port),
            app,
            numthreads=LISTENER_THREADS,
            max=LISTENER_THREADS,
            request_queue_size=128,
            timeout=IDLE_TIMEOUT,
        )
        self.requests = _DaemonThreadPool(self, min=LISTENER_THREADS, max=LISTENER_THREADS)
        self.on_new_connection = on_new_connection
        if tls_files:
            self.ssl_adapter = BuiltinSSLAdapter(*tls_files)
        self.prepare()  # binds (port 0 = a free port) and starts the worker threads

    @property
    def port(self) -> int:
        return self.bind_addr[1]

    def error_log(self, msg: str = "", level: int = logging.INFO, traceback: bool = False) -> None:
        # e.g. a client that drops a TLS handshake; cheroot writes these to stderr by default.
        log.log(max(level, logging.DEBUG), "%s", msg, exc_info=traceback)


class _RequestLines:
    """WSGI middleware printing one line per request (method, path without query, status) for the CLI."""

    def __init__(self, wsgi_app: WSGIApplication) -> None:
        self.wsgi_app = wsgi_app

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        def logging_start_response(
            status: str, headers: list[tuple[str, str]], exc_info: OptExcInfo | None = None
        ) -> Callable[[bytes], object]:
            print(
                f'{environ.get("REMOTE_ADDR", "-")} "{environ["REQUEST_METHOD"]} {environ.get("PATH_INFO", "")}" '
                f"{status.split(' ', 1)[0]}",
                file=sys.stderr,
                flush=True,
            )
            return start_response(status, headers, exc_info)

        return self.wsgi_app(environ, logging_start_response)


class MockAuthority:
    """A running mock: both listeners, its URLs, TLS bundle and control state."""

    def __init__(self, config: MockConfig | None = None, *, log_requests: bool = False, **overrides: Any) -> None:
        config = config_from(config, **overrides).resolved()
        self._tls = TlsMaterial(config.host, extra_names=tls_names(config.host))
        # Bind first (port 0 = free port), then build the app with the real ports in its URLs.
        try:
            self._back = _Listener(
                config.port, self._serve, lambda: self._count("back"), tls_files=self._tls.server_files()
            )
            try:
                self._front = _Listener(config.front_port, self._serve, lambda: self._count("front"))
            except BaseException:
                self._back.stop()
                raise
        except BaseException:
            self._tls.cleanup()
            raise
        self.config = dataclasses.replace(config, port=self._back.port, front_port=self._front.port)
        self.state = MockState(self.config)
        self.app = create_app(self.config, state=self.state)
        self._app: WSGIApplication = _RequestLines(self.app) if log_requests else self.app
        self._urls: Urls = urls_for(self.config.host, self.config.port, self.config.front_port, self.config.tenant_id)
        self._threads: list[threading.Thread] = []

    def _serve(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        # The listeners bind before the app exists (its URLs need their ports); they accept nothing before start().
        return self._app(environ, start_response)

    def _count(self, listener: str) -> None:
        self.state.count_connection(listener)

    authority = property(lambda self: self._urls.authority, doc="What the app puts in AUTHORITY.")
    issuer = property(lambda self: self._urls.issuer, doc="The ID tokens' iss.")
    base_url = property(lambda self: self._urls.base_url, doc="https back channel.")
    front_url = property(lambda self: self._urls.front_url, doc="plain-http browser channel.")
    graph_endpoint = property(lambda self: self._urls.graph_endpoint, doc="Graph /v1.0/users URL.")
    ca_bundle = property(lambda self: self._tls.ca_bundle, doc="certifi roots + the mock CA (PEM path).")
    identity_endpoint = property(
        lambda self: self.front_url + managed_identity.PATH,
        doc="IDENTITY_ENDPOINT: the App Service managed-identity endpoint (plain http, as App Service's is).",
    )
    identity_header = property(lambda self: self.state.identity_header, doc="IDENTITY_HEADER: its secret header.")
    workload_issuer = property(
        lambda self: self.state.workload_issuer(), doc="iss of the workload-identity tokens (mint_workload_token)."
    )
    tenant_domain = property(
        lambda self: self.config.tenant_domain, doc="The tenant's domain (<name>.onmicrosoft.com)."
    )

    def authority_for(self, tenant: str) -> str:
        """AUTHORITY for a tenant path: "common", "organizations", "consumers", a GUID or a domain name."""
        return f"{self.base_url}/{tenant}"

    @property
    def b2c_tenant_name(self) -> str:
        """B2C_TENANT_NAME: the first label of the tenant's domain."""
        return self.config.tenant_domain.split(".", 1)[0]

    def b2c_authority(self, user_flow: str = SIGN_UP_SIGN_IN.name) -> str:
        """https://<host>:<port>/<name>.onmicrosoft.com/<user_flow>: msal treats a B2C_1_… path as B2C."""
        return f"{self.base_url}/{self.config.tenant_domain}/{user_flow}"

    @property
    def ciam_authority(self) -> str:
        """External ID's path-less authority https://<sub>.ciamlogin.com:<port>/ (msal adds <sub>.onmicrosoft.com)."""
        return f"{self.base_url}/"

    def issuer_for(self, tenant_id: str) -> str:
        """The v2.0 ID tokens' iss for users of a tenant (e.g. tenants.MSA_TENANT_ID for personal accounts)."""
        return self._urls.issuer_for(tenant_id)

    def b2c_issuer(self) -> str:
        """B2C ID tokens' iss (trailing slash)."""
        return self._urls.b2c_issuer(self.config.tenant_id)

    @property
    def b2c_api_endpoint(self) -> str:
        """ENDPOINT for a B2C app: the demo web API registered in the tenant (b2c_api)."""
        return self.base_url + b2c_api.PATH

    @property
    def b2c_api_scope(self) -> str:
        """SCOPE for a B2C app: https://<tenant>.onmicrosoft.com/demo-api/demo.read."""
        return b2c.DEMO_API.scope(self.config.tenant_domain)

    def start(self) -> MockAuthority:
        """Serve both listeners in daemon threads."""
        for server, name in ((self._back, "mock-authority-tls"), (self._front, "mock-authority-front")):
            thread = threading.Thread(target=server.serve, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        """End running drips, stop both listeners and delete the CA bundle."""
        self.state.stop_drips()
        for server in (self._back, self._front):
            server.stop()
        for thread in self._threads:
            thread.join(timeout=5)
        self._threads.clear()
        self._tls.cleanup()

    def __enter__(self) -> MockAuthority:
        return self.start() if not self._threads else self

    def __exit__(self, *exc: object) -> None:
        self.stop()


@contextlib.contextmanager
def run_in_thread(config: MockConfig | None = None, **overrides: Any) -> Iterator[MockAuthority]:
    """Start the mock on both listeners in daemon threads; stop it on exit."""
    mock = MockAuthority(config, **overrides)
    try:
        yield mock.start()
    finally:
        mock.stop()
