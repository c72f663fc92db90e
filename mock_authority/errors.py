"""Entra- and Graph-shaped error bodies (reference sections 4.3 and 8)."""

from __future__ import annotations

import datetime
import json
import uuid

from flask import Response, request


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


def json_response(body: dict, status: int = 200, headers: dict | None = None) -> Response:
    """JSON with Entra's content type."""
    response = Response(json.dumps(body), status=status, content_type="application/json; charset=utf-8")
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


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


def graph_error(
    status: int, now: float, code: str | None = None, message: str | None = None, retry_after: int | None = None
) -> Response:
    """A Graph error body with innerError and request-id/client-request-id headers."""
    default_code, default_message = GRAPH_ERRORS.get(status, ("generalException", "Error."))
    request_id = str(uuid.uuid4())
    client_request_id = request.headers.get("client-request-id") or request_id
    body = {
        "error": {
            "code": code or default_code,
            "message": message or default_message,
            "innerError": {
                "date": _utc(now).strftime("%Y-%m-%dT%H:%M:%S"),
                "request-id": request_id,
                "client-request-id": client_request_id,
            },
        }
    }
    headers = {"request-id": request_id, "client-request-id": client_request_id}
    if status == 401:
        headers["WWW-Authenticate"] = GRAPH_WWW_AUTHENTICATE
    if retry_after is not None:
        headers["Retry-After"] = str(int(retry_after))
    response = Response(json.dumps(body), status=status, content_type="application/json")
    response.headers.update(headers)
    return response
