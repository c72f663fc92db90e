"""/healthz and /readyz, for load balancers and Kubernetes probes.

/healthz says the process answers. /readyz says it can serve sign-ins: the session store answers a round trip and
the authority's metadata is cached or can be fetched (within the outbound deadline). Neither touches a session or
sets a cookie, and a failing check is named, never described with a setting's value or an error's text.
"""

import logging
import tempfile
from collections.abc import Callable, Mapping

import requests
from flask import Blueprint, Response

from .discovery import AuthorityMetadata
from .session_store import FileStore, SessionStore, StoreUnavailable

log = logging.getLogger(__name__)

BLUEPRINT = "probes"
PROBE_KEY = "0" * 32  # never a session's key (those are random): a Redis GET of it is a round trip, nothing more

Check = Callable[[], None]  # raises when the thing it checks does not work


def store_check(store: SessionStore) -> Check:
    """A write on the filesystem store (an unnamed temporary file in its directory), a GET on Redis."""

    def check() -> None:
        if isinstance(store, FileStore):
            try:
                with tempfile.TemporaryFile(dir=store.directory):
                    pass
            except OSError as error:
                raise StoreUnavailable(error.strerror or type(error).__name__) from None
        else:
            store.get(PROBE_KEY)

    return check


def authority_check(metadata: AuthorityMetadata) -> Check:
    """The discovery document: the cached copy (stale-if-error included), else one fetch within its deadline."""

    def check() -> None:
        metadata.document()

    return check


# What a check may raise when what it checks is down; anything else is a bug, and a 500.
DOWN = (StoreUnavailable, requests.RequestException, ValueError)


def blueprint(checks: Mapping[str, Check] | None) -> Blueprint:
    """The probes; checks by name (None: the configuration is incomplete, so the app is never ready)."""
    bp = Blueprint(BLUEPRINT, __name__)

    @bp.get("/healthz")
    def healthz() -> Response:
        return _plain("ok", 200)

    @bp.get("/readyz")
    def readyz() -> Response:
        if checks is None:
            return _plain("not ready: not configured", 503)
        failed = []
        for name, check in checks.items():
            try:
                check()
            except DOWN as error:
                log.warning("readiness check failed: %s (%s)", name, type(error).__name__)
                failed.append(name)
        if failed:
            return _plain(f"not ready: {', '.join(failed)}", 503)
        return _plain("ready", 200)

    return bp


def _plain(text: str, status: int) -> Response:
    response = Response(text + "\n", status, mimetype="text/plain")
    response.headers["Cache-Control"] = "no-store"
    return response
