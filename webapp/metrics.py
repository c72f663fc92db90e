"""Prometheus metrics: sign-ins, token refreshes, Graph calls, request durations, the session store.

Labels hold only bounded values (an outcome, an OAuth error code from a fixed list, an HTTP status, a URL rule),
never a user's name, id, token or anything a client sent as-is. Under gunicorn, gunicorn.conf.py sets
PROMETHEUS_MULTIPROC_DIR before anything imports prometheus_client: every worker then writes its counts to
files there, and a scrape adds up every worker's (MultiProcessCollector). Elsewhere the process's own registry.

Served at /metrics when METRICS=true, and/or on METRICS_PORT ("9464" on 127.0.0.1, or "host:port").
"""

import functools
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar, cast

import requests
from flask import Flask, Response, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
    start_http_server,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from .errors import PLAIN_WORDS, SignInFailure
from .session_store import SessionStore, StoreUnavailable

log = logging.getLogger(__name__)
F = TypeVar("F", bound=Callable[..., Any])

# OAuth 2.0 (RFC 6749 §4.1.2.1, §5.2) and OpenID Connect Core (§3.1.2.6) error codes, and the app's own: any other
# value an authority or a callback's query sends is counted as "other", so no client can mint label values.
KNOWN_ERRORS = frozenset(
    {
        "invalid_request",
        "unauthorized_client",
        "access_denied",
        "unsupported_response_type",
        "invalid_scope",
        "server_error",
        "temporarily_unavailable",
        "invalid_client",
        "invalid_grant",
        "unsupported_grant_type",
        "interaction_required",
        "login_required",
        "account_selection_required",
        "consent_required",
        "invalid_request_uri",
        "invalid_request_object",
        "request_not_supported",
        "request_uri_not_supported",
        "registration_not_supported",
        "unknown_error",
        "state_mismatch",
        "sign_in_state_lost",
        "missing_code",
        "invalid_id_token",
        "authority_unreachable",
        "authority_misconfigured",
        "tenant_not_allowed",
        "malformed_response",
        "no_access_token",
        "password_reset_not_configured",
        *PLAIN_WORDS,
    }
)
ACTIVE_SESSIONS_CACHE_SECONDS = 30.0  # counting reads every session file (or SCANs Redis): not on every scrape

SIGN_INS = Counter(
    "webapp_sign_ins_total",
    "Sign-ins completed at the redirect URI, by outcome (success, failure, refused, cancelled, another_flow) "
    "and OAuth error code (empty unless a failure).",
    ["outcome", "error"],
)
TOKEN_REFRESHES = Counter(
    "webapp_token_refreshes_total",
    "Refresh-token requests to the authority, by outcome: success, the OAuth error code, unreachable, or "
    "coalesced (answered by a concurrent request's refresh).",
    ["outcome"],
)
GRAPH_CALLS = Counter(
    "webapp_graph_requests_total",
    "Requests to Microsoft Graph (each retry counts), by HTTP status, or timeout, unreachable, too_large.",
    ["status"],
)
REQUEST_DURATION = Histogram(
    "webapp_request_duration_seconds",
    "Time to answer a request, by route (the URL rule; other for none) and HTTP status.",
    ["route", "status"],
)
STORE_OPERATIONS = Counter(
    "webapp_session_store_operations_total", "Session store operations, by store and operation.", ["store", "operation"]
)
STORE_ERRORS = Counter(
    "webapp_session_store_errors_total",
    "Session store operations that failed (store unavailable), by store and operation.",
    ["store", "operation"],
)


def error_label(error: object) -> str:
    return error if isinstance(error, str) and error in KNOWN_ERRORS else "other"


def counts_sign_ins(finish: F) -> F:
    """Count each call of SignIn.finish by its outcome."""

    @functools.wraps(finish)
    def counted(*args: Any, **kwargs: Any) -> Any:
        from .authorization import Refused  # authorization → graph → metrics
        from .sessions import current_session

        try:
            outcome = finish(*args, **kwargs)
        except SignInFailure as failure:
            SIGN_INS.labels("failure", error_label(failure.error)).inc()
            raise
        except Refused:
            SIGN_INS.labels("refused", "").inc()
            raise
        except Exception:
            SIGN_INS.labels("failure", "other").inc()
            raise
        if not isinstance(outcome, str):
            SIGN_INS.labels("another_flow", "").inc()  # B2C's password reset starts
        else:
            SIGN_INS.labels("success" if current_session().signed_in else "cancelled", "").inc()
        return outcome

    return cast(F, counted)


def count_refresh(response: requests.Response | None) -> None:
    """One refresh-token request's answer (None: none came)."""
    if response is None:
        TOKEN_REFRESHES.labels("unreachable").inc()
        return
    if response.status_code == 200:
        TOKEN_REFRESHES.labels("success").inc()
        return
    try:
        error = response.json().get("error")
    except (ValueError, AttributeError, RecursionError):
        error = None
    TOKEN_REFRESHES.labels(error_label(error)).inc()


def count_graph(status: int | str) -> None:
    GRAPH_CALLS.labels(str(status) if not isinstance(status, int) or 100 <= status < 600 else "other").inc()


class CountedStore:
    """A SessionStore whose every operation, and every failure, is counted."""

    def __init__(self, store: SessionStore, kind: str):
        self._store = store
        self._kind = kind
        # Each operation's counter, looked up on its first use only: labels() locks and checks its values.
        self._operations: dict[str, Any] = {}

    @property
    def wrapped(self) -> SessionStore:
        """The store whose operations are counted."""
        return self._store

    def _do(self, operation: str, *args: Any) -> Any:
        counter = self._operations.get(operation)
        if counter is None:
            counter = self._operations[operation] = STORE_OPERATIONS.labels(self._kind, operation)
        counter.inc()
        try:
            return getattr(self._store, operation)(*args)
        except StoreUnavailable:
            STORE_ERRORS.labels(self._kind, operation).inc()
            raise

    def get(self, key: str) -> bytes | None:
        return cast("bytes | None", self._do("get", key))

    def create(self, key: str, blob: bytes, ttl: int) -> None:
        self._do("create", key, blob, ttl)

    def replace(self, key: str, blob: bytes, ttl: int) -> bool:
        return bool(self._do("replace", key, blob, ttl))

    def delete(self, key: str) -> None:
        self._do("delete", key)

    def index_add(self, index: str, key: str) -> None:
        self._do("index_add", index, key)

    def index_members(self, index: str) -> list[str]:
        return cast("list[str]", self._do("index_members", index))

    def index_discard(self, index: str, keys: list[str]) -> None:
        self._do("index_discard", index, keys)

    def count(self) -> tuple[int, int]:
        return cast("tuple[int, int]", self._do("count"))


class ActiveSessions(Collector):
    """webapp_active_sessions and webapp_signed_in_users, counted in the store (shared by every worker) at most
    every ACTIVE_SESSIONS_CACHE_SECONDS; nothing while the store is unavailable."""

    def __init__(self, store: SessionStore, cache_seconds: float = ACTIVE_SESSIONS_CACHE_SECONDS):
        self._store = store
        self._cache_seconds = cache_seconds
        self._lock = threading.Lock()
        self._counted: tuple[float, tuple[int, int]] | None = None

    def collect(self) -> Iterator[Metric]:
        with self._lock:
            now = time.monotonic()
            if self._counted is None or now - self._counted[0] >= self._cache_seconds:
                try:
                    self._counted = (now, self._store.count())
                except StoreUnavailable:
                    self._counted = None
                    return
            sessions, users = self._counted[1]
        yield GaugeMetricFamily("webapp_active_sessions", "Live sessions in the session store.", value=sessions)
        yield GaugeMetricFamily("webapp_signed_in_users", "Users with a live session in the store.", value=users)


class _Registry(Collector):
    """Every counted metric: all workers' (multiprocess mode) or this process's."""

    def collect(self) -> Iterator[Metric]:
        if multiprocess_dir():
            yield from multiprocess.MultiProcessCollector(None).collect()
        else:
            yield from REGISTRY.collect()


def multiprocess_dir() -> str:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")


def registry(store: SessionStore) -> CollectorRegistry:
    """A registry for one exposition: the counted metrics and the store's active sessions."""
    exposed = CollectorRegistry(auto_describe=False)
    exposed.register(_Registry())
    exposed.register(ActiveSessions(store))
    return exposed


def install(app: Flask, store: SessionStore, enabled: bool, address: tuple[str, int] | None) -> None:
    """Time every request; serve /metrics if enabled, and the port at address if given."""
    app.before_request(_start_timer)
    app.after_request(_observe)
    exposed = registry(store)
    if enabled:

        @app.get("/metrics")
        def metrics() -> Response:
            return Response(generate_latest(exposed), mimetype=CONTENT_TYPE_LATEST)

    if address is not None:
        _serve_port(exposed, address)


def _start_timer() -> None:
    g.metrics_started = time.perf_counter()


def _observe(response: Response) -> Response:
    started = g.pop("metrics_started", None)
    if started is not None:
        rule = request.url_rule
        _duration(rule.rule if rule is not None else "other", response.status_code).observe(
            time.perf_counter() - started
        )
    return response


@functools.lru_cache(maxsize=4096)  # bounded like the labels: URL rules times the HTTP statuses
def _duration(route: str, status: int) -> Any:
    """REQUEST_DURATION's child for a route and status, looked up once (labels() locks and checks each call)."""
    return REQUEST_DURATION.labels(route, str(status))


def _serve_port(exposed: CollectorRegistry, address: tuple[str, int]) -> None:
    """Under gunicorn each worker tries the port: the first to bind it serves every worker's counts (from the
    shared directory); when that worker is replaced, its successor binds it again."""
    host, port = address
    try:
        start_http_server(port, host, registry=exposed)
    except OSError as error:
        if multiprocess_dir():
            log.debug("metrics port %s:%s served by another worker (%s)", host, port, error.strerror)
        else:
            log.warning("metrics port %s:%s could not be opened: %s", host, port, error.strerror)
        return
    log.info("metrics served on http://%s:%s/metrics", host, port)
