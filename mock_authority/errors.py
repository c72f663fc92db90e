"""Errors as exceptions, each rendered in one place: EntraError (AADSTS-shaped) and GraphError (Graph-shaped).

Handlers raise them anywhere; `register(app)` installs the two Flask error handlers that turn them into
Entra's JSON body, Entra's error page, an error redirect to the app, or Graph's error body (reference
sections 4.3 and 8)."""

from __future__ import annotations

import datetime
import json
import urllib.parse
import uuid
from collections.abc import Mapping

from flask import Flask, Response, make_response, redirect, render_template, request
from werkzeug.wrappers import Response as BaseResponse

TOKEN_HEADERS = {"Cache-Control": "no-store, no-cache", "Pragma": "no-cache"}
GRAPH_WWW_AUTHENTICATE = (
    'Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", '
    'client_id="00000003-0000-0000-c000-000000000000"'
)
# Graph error code and message by status (reference section 8).
GRAPH_ERRORS = {
    400: ("Request_BadRequest", "Invalid request."),
    401: ("InvalidAuthenticationToken", "Access token validation failure. Invalid audience."),
    403: ("Authorization_RequestDenied", "Insufficient privileges to complete the operation."),
    404: (
        "Request_ResourceNotFound",
        "Resource does not exist or one of its queried reference-property objects are not present.",
    ),
    429: ("TooManyRequests", "Too many requests."),
    500: ("generalException", "General exception while processing."),
    503: ("serviceNotAvailable", "Service unavailable."),
}


class EntraError(Exception):
    """An identity-platform error: AADSTS code, OAuth error name and text.

    Rendered as Entra's JSON error (default), as Entra's own error page (`page=True`: shown in the browser,
    never redirected), or as an error redirect to the app (`redirect=(redirect_uri, state)`)."""

    def __init__(
        self,
        error: str,
        code: int,
        text: str,
        *,
        status: int = 400,
        headers: Mapping[str, str] | None = None,
        extra: Mapping[str, object] | None = None,
        page: bool = False,
        redirect: tuple[str, str | None] | None = None,
        subcode: str | None = None,
    ) -> None:
        super().__init__(f"AADSTS{code}: {text}")
        self.error, self.code, self.text, self.status = error, code, text, status
        self.headers = dict(headers or {})
        self.extra = dict(extra or {})
        self.page, self.redirect, self.subcode = page, redirect, subcode


class GraphError(Exception):
    """A Microsoft Graph error; code and message default to Graph's for the status."""

    def __init__(
        self,
        status: int,
        code: str | None = None,
        message: str | None = None,
        retry_after: int | None = None,
        www_authenticate: str | None = None,
    ) -> None:
        default_code, default_message = GRAPH_ERRORS.get(status, ("generalException", "Error."))
        super().__init__(f"{status} {code or default_code}")
        self.status, self.code, self.message = status, code or default_code, message or default_message
        self.retry_after = retry_after
        self.www_authenticate = www_authenticate  # a 401's challenge, when not Graph's plain one


def _utc(ts: float) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(ts, datetime.UTC)


def correlation_id() -> str:
    """The caller's client-request-id when it sent one (Entra echoes it), else a new GUID."""
    return request.headers.get("client-request-id") or str(uuid.uuid4())


def entra_error_fields(now: float, error: str, code: int, text: str, error_uri_base: str) -> dict:
    """The JSON fields of an Entra error: description with trace/correlation/timestamp lines."""
    trace_id = str(uuid.uuid4())
    corr = correlation_id()
    stamp = _utc(now).strftime("%Y-%m-%d %H:%M:%SZ")
    return {
        "error": error,
        "error_description": (
            f"AADSTS{code}: {text}\r\nTrace ID: {trace_id}\r\nCorrelation ID: {corr}\r\nTimestamp: {stamp}"
        ),
        "error_codes": [code],
        "timestamp": stamp,
        "trace_id": trace_id,
        "correlation_id": corr,
        "error_uri": f"{error_uri_base}/error?code={code}",
    }


def json_response(body: object, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    """JSON with Entra's content type."""
    response = Response(json.dumps(body), status=status, content_type="application/json; charset=utf-8")
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def with_query(uri: str, params: Mapping[str, str | None]) -> str:
    """Append parameters (None values dropped) to a URI that may already carry a query."""
    query = urllib.parse.urlencode({k: v for k, v in params.items() if v is not None})
    return f"{uri}{'&' if '?' in uri else '?'}{query}"


def render_entra_error(exc: EntraError) -> BaseResponse:
    """The one place an EntraError becomes a response."""
    from .runtime import current_state, current_urls

    fields = entra_error_fields(current_state().now(), exc.error, exc.code, exc.text, current_urls().front_url)
    if exc.page:
        html = render_template(
            "error.html",
            code=exc.code,
            text=exc.text,
            trace_id=fields["trace_id"],
            correlation_id=fields["correlation_id"],
            timestamp=fields["timestamp"],
        )
        return make_response(html, exc.status)
    if exc.redirect is not None:
        redirect_uri, state = exc.redirect
        params = {
            "error": exc.error,
            "error_description": fields["error_description"],
            "error_uri": fields["error_uri"],
            "error_subcode": exc.subcode,
            "state": state,
        }
        return redirect(with_query(redirect_uri, params), 302)
    return json_response({**fields, **exc.extra}, exc.status, {**TOKEN_HEADERS, **exc.headers})


def render_graph_error(exc: GraphError) -> Response:
    """The one place a GraphError becomes a response: body with innerError, request-id headers."""
    from .runtime import current_state

    request_id = str(uuid.uuid4())
    client_request_id = request.headers.get("client-request-id") or request_id
    body = {
        "error": {
            "code": exc.code,
            "message": exc.message,
            "innerError": {
                "date": _utc(current_state().now()).strftime("%Y-%m-%dT%H:%M:%S"),
                "request-id": request_id,
                "client-request-id": client_request_id,
            },
        }
    }
    response = Response(json.dumps(body), status=exc.status, content_type="application/json")
    response.headers.update({"request-id": request_id, "client-request-id": client_request_id})
    if exc.status == 401:
        response.headers["WWW-Authenticate"] = exc.www_authenticate or GRAPH_WWW_AUTHENTICATE
    if exc.retry_after is not None:
        response.headers["Retry-After"] = str(int(exc.retry_after))
    return response


def register(app: Flask) -> None:
    """Install the two renderers."""
    app.register_error_handler(EntraError, render_entra_error)
    app.register_error_handler(GraphError, render_graph_error)
