"""The one fault hook: before a request to a faultable endpoint, take its next queued fault and apply it.

An error fault raises the endpoint's own error (EntraError or GraphError, rendered by errors.py); slow
sleeps; body answers at once; an ID-token defect is left in g.fault for the token endpoint; a drip is left
for the after-request half, which sends the answer one byte at a time."""

from __future__ import annotations

import errno
import threading
import time
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

from flask import Flask, Response, g, request

from .authorize import CANCEL, redirect_target
from .errors import EntraError, GraphError
from .faults import DripProgress, Fault
from .runtime import current_state

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

# Request endpoint name -> fault family (state.enqueue_fault's endpoint).
FAMILIES = {
    "token": "token",
    "authorize": "authorize",
    "discovery_v1": "discovery",
    "discovery_v2": "discovery",
    "jwks": "jwks",
    "jwks_v1": "jwks",
    "logout": "logout",
    "graph_me": "graph",
    "graph_user": "graph",
    "graph_users": "graph",
    "graph_member_of": "graph",
    "graph_transitive_member_of": "graph",
    "graph_get_member_objects": "graph",
    "graph_manager": "graph",
}
MFA_TEXT = (
    "Due to a configuration change made by your administrator, or because you moved to a new location, you "
    "must use multi-factor authentication to access '00000003-0000-0000-c000-000000000000'."
)
SERVICE_TEXT = "There was an error issuing a token or an issue with our sign-in service."
TOKEN_ERRORS = {
    "invalid_grant": (
        400,
        50173,
        "The provided grant has expired due to it being revoked, a fresh auth "
        "token is needed. The user might have changed or reset their password.",
    ),
    "interaction_required": (400, 50076, MFA_TEXT),
    "invalid_client": (401, 7000222, "The provided client secret keys for app '{client_id}' are expired."),
    "server_error": (500, 50000, SERVICE_TEXT),
    "temporarily_unavailable": (503, 90033, "A transient error has occurred. Please try again."),
}
AUTHORIZE_ERRORS = {"server_error": (50000, SERVICE_TEXT), "interaction_required": (50076, MFA_TEXT)}


def _retry_after(fault: Fault, default_when: bool) -> dict[str, str]:
    if "retry_after" in fault.params or default_when:
        return {"Retry-After": str(int(fault.params.get("retry_after", 5)))}
    return {}


def _error_for(family: str, fault: Fault) -> Exception | None:
    """The error a fault stands for, in its endpoint's shape; None when it is not an error fault."""
    kind, params = fault.kind, fault.params
    if family == "graph" and kind == "status":
        status = params["status"]
        return GraphError(status, retry_after=params.get("retry_after", 5) if status in (429, 503) else None)
    if kind == "status":
        status = params["status"]
        error = "temporarily_unavailable" if status == 503 else "server_error" if status >= 500 else "invalid_request"
        headers = _retry_after(fault, status in (429, 503))
        text = f"Injected {family} fault (HTTP {status})."
        return EntraError(error, 90033 if status >= 500 else 90100, text, status=status, headers=headers)
    if family == "token" and kind in TOKEN_ERRORS:
        status, code, text = TOKEN_ERRORS[kind]
        extra = {"suberror": "basic_action"} if kind == "interaction_required" else {}
        text = text.format(client_id=request.form.get("client_id") or "")
        headers = _retry_after(fault, kind == "temporarily_unavailable")
        return EntraError(kind, code, text, status=status, headers=headers, extra=extra)
    if family == "authorize" and kind == "access_denied":
        return EntraError(*CANCEL, redirect=redirect_target(), subcode="cancel")
    if family == "authorize" and kind in AUTHORIZE_ERRORS:
        return EntraError(kind, *AUTHORIZE_ERRORS[kind], redirect=redirect_target())
    return None


def _override(fault: Fault) -> Response:
    params = fault.params
    response = Response(params["body"], status=params["status"], content_type=params["content_type"])
    response.headers.update(params.get("headers") or {})
    return response


def before_request() -> Response | None:
    """Apply the next queued fault of this request's endpoint family (and Graph's latency setting)."""
    family = FAMILIES.get((request.endpoint or "").rsplit(".", 1)[-1])
    if family is None:
        return None
    state = current_state()
    if family == "graph" and state.setting("graph_latency"):
        time.sleep(state.setting("graph_latency"))
    if family == "authorize":
        redirect_target()  # an unknown client or redirect URI is an error page, and leaves the fault queued
    g.fault = fault = state.take_fault(family)
    if fault is None:
        return None
    if fault.kind == "slow":
        time.sleep(fault.params["delay"])
        return None
    error = _error_for(family, fault)
    if error is not None:
        raise error
    return _override(fault) if fault.overrides_body else None


class DripResponse(Response):
    """A response that sends its headers at once, then its body as the iterable yields it."""

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        app_iter, status, headers = self.get_wsgi_response(environ)
        write = start_response(status, headers)
        write(b"")  # cheroot sends the status line and headers now
        return app_iter


def _drip(body: bytes, interval: float, progress: DripProgress, stop: threading.Event) -> Iterator[bytes]:
    try:
        for i in range(len(body)):
            if stop.wait(interval):
                # Short of Content-Length: make cheroot drop the connection (quietly, as for a lost client).
                raise ConnectionAbortedError(errno.ECONNABORTED, "drip ended: the mock was reset or stopped")
            yield body[i : i + 1]
            progress.sent += 1
    finally:
        progress.ended = True  # also when the client went away: cheroot's write raised, then closed us


def after_request(response: Response) -> Response:
    """A drip fault: the same status and headers, the body one byte every interval seconds."""
    fault = g.get("fault")
    if fault is None or fault.kind != "drip":
        return response
    body = response.get_data()
    progress, stop = current_state().start_drip(fault.endpoint, len(body))
    dripping = DripResponse(
        _drip(body, fault.params["interval"], progress, stop),
        status=response.status,
        headers=response.headers.copy(),
        direct_passthrough=True,
    )
    dripping.headers["Content-Length"] = str(len(body))
    return dripping


def register(app: Flask) -> None:
    """Install both halves of the hook."""
    app.before_request(before_request)
    app.after_request(after_request)
