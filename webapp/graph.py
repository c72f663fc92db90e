"""Calls to Microsoft Graph: pooled connections, timeouts, a short bounded retry, Graph errors in plain words, and
claims challenges (a 401 with error="insufficient_claims") raised as ClaimsChallenge for the caller to satisfy."""

from __future__ import annotations

import json
import logging
import time
from typing import Any

import requests

from . import metrics
from .challenges import ClaimsChallenge
from .errors import GraphFailure
from .outbound import ResponseTooLarge
from .www_authenticate import MalformedHeader, UnusableClaims, claims_challenge

log = logging.getLogger(__name__)

RETRY_STATUSES = (429, 503)
MAX_RETRY_WAIT = 2.0  # seconds a worker may wait in total for Retry-After before giving up


class GraphClient:
    """Graph as the signed-in user, on the app's shared HTTP session."""

    def __init__(self, http: requests.Session, max_retry_wait: float = MAX_RETRY_WAIT):
        self._http = http
        self._max_retry_wait = max_retry_wait

    def get(self, url: str, access_token: str) -> Any:
        """GET url and return its JSON, or raise GraphFailure (ClaimsChallenge for a claims challenge)."""
        waited = 0.0
        while True:
            response = self._send(url, access_token)
            retry_after = _retry_after(response)
            if response.status_code in RETRY_STATUSES and waited + (retry_after or 1) <= self._max_retry_wait:
                delay = retry_after or 1
                log.info("Graph answered %s; retrying in %s s", response.status_code, delay)
                time.sleep(delay)
                waited += delay
                continue
            if response.ok:
                try:
                    return _json(response)
                except ValueError:
                    raise GraphFailure(
                        502, "InvalidResponse", "Graph's answer was not JSON.", response.headers.get("request-id")
                    ) from None
            if response.status_code == 401:
                _raise_claims_challenge(response)
            raise _failure(response, retry_after)

    def _send(self, url: str, access_token: str) -> requests.Response:
        try:
            response = self._http.get(
                url, headers={"Authorization": f"Bearer {access_token}", "Accept": "application/json"}
            )
        except ResponseTooLarge:
            metrics.count_graph("too_large")
            log.warning("Graph answered with too large a body: %s", url)
            raise GraphFailure(502, "InvalidResponse", "Microsoft Graph's answer was too large.") from None
        except requests.Timeout:
            metrics.count_graph("timeout")
            log.warning("Graph timed out: %s", url)
            raise GraphFailure(504, "Timeout", "Microsoft Graph did not answer in time.") from None
        except requests.RequestException as exc:
            metrics.count_graph("unreachable")
            log.warning("Graph unreachable: %s (%s)", url, type(exc).__name__)
            raise GraphFailure(502, "Unreachable", "Microsoft Graph could not be reached.") from None
        metrics.count_graph(response.status_code)
        return response


def _raise_claims_challenge(response: requests.Response) -> None:
    """ClaimsChallenge if this 401 is one (any of its WWW-Authenticate headers); a challenge that cannot be read
    is Graph's fault: a 502 page, never a sign-in loop."""
    request_id = response.headers.get("request-id")
    try:
        claims = claims_challenge(_header_values(response, "WWW-Authenticate"))
    except (MalformedHeader, UnusableClaims) as exc:
        log.warning("Graph sent an unusable claims challenge: %s request-id=%s", exc, request_id)
        raise GraphFailure(
            502,
            "InvalidChallenge",
            "Microsoft Graph asked for a new sign-in in a form that could not be read.",
            request_id,
        ) from None
    if claims is not None:
        log.info("Graph answered with a claims challenge request-id=%s", request_id)
        raise ClaimsChallenge(claims, request_id)


def _header_values(response: requests.Response, name: str) -> list[str]:
    """Each value of a header as received (urllib3 keeps them apart; requests joins them with commas)."""
    raw_headers = getattr(response.raw, "headers", None)
    getlist = getattr(raw_headers, "getlist", None)
    if callable(getlist):
        return [str(value) for value in getlist(name)]
    value = response.headers.get(name)
    return [value] if value else []


def _json(response: requests.Response) -> Any:
    """The body's JSON; ValueError also when it nests too deep to parse (json raises RecursionError)."""
    try:
        return json.loads(response.content)
    except RecursionError:
        raise ValueError("the JSON nests too deep") from None
    except UnicodeDecodeError:
        raise ValueError("the body is not UTF-8 JSON") from None


def _text(value: Any) -> str | None:
    return value[:100] if isinstance(value, str) else None


def _retry_after(response: requests.Response) -> int | None:
    value = response.headers.get("Retry-After", "")
    return int(value) if value.isdigit() else None


def _failure(response: requests.Response, retry_after: int | None) -> GraphFailure:
    """The error Graph answered with; a body that is not Graph's error object keeps the status, without details."""
    try:
        body = _json(response)
    except ValueError:
        body = {}
    error = (body.get("error") if isinstance(body, dict) else None) or {}
    if not isinstance(error, dict):
        error = {}
    inner = error.get("innerError")
    if not isinstance(inner, dict):
        inner = {}
    message = error.get("message")
    failure = GraphFailure(
        status=response.status_code,
        code=(_text(error.get("code")) or str(response.reason or "Error"))[:100],
        message=message[:500] if isinstance(message, str) else "",
        request_id=response.headers.get("request-id") or _text(inner.get("request-id")),
        retry_after=retry_after,
        client_request_id=_text(response.headers.get("client-request-id")) or _text(inner.get("client-request-id")),
    )
    log.warning(
        "Graph error %s %s request-id=%s client-request-id=%s",
        failure.status,
        failure.code,
        failure.request_id,
        failure.client_request_id,
        extra={"graph_request_id": failure.request_id, "graph_client_request_id": failure.client_request_id},
    )
    return failure
