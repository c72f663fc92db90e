"""Calls to Microsoft Graph: pooled connections, timeouts, a short bounded retry, and Graph errors in plain words."""

import logging
import time
from dataclasses import dataclass

import requests

log = logging.getLogger(__name__)

RETRY_STATUSES = (429, 503)
MAX_RETRY_WAIT = 2.0  # seconds a worker may wait in total for Retry-After before giving up

PLAIN_WORDS = {
    400: "Microsoft Graph did not accept the request.",
    401: "Microsoft Graph did not accept your access token. Signing in again usually fixes this.",
    403: "You or this app lack the permission Microsoft Graph needs for this (e.g. User.ReadBasic.All).",
    404: "Microsoft Graph did not find what was asked for.",
    429: "Microsoft Graph is throttling requests.",
    503: "Microsoft Graph is temporarily unavailable.",
    504: "Microsoft Graph did not answer in time.",
}


@dataclass(eq=False)  # exceptions must stay hashable
class GraphFailure(Exception):
    """A Graph call that did not give data, ready to show to the user."""

    status: int
    code: str
    message: str
    request_id: str | None = None
    retry_after: int | None = None

    @property
    def plain_words(self) -> str:
        if self.status >= 500 and self.status not in PLAIN_WORDS:
            return "Microsoft Graph had a problem answering."
        return PLAIN_WORDS.get(self.status, "Microsoft Graph answered with an error.")


class GraphClient:
    """Graph as the signed-in user, on the app's shared HTTP session."""

    def __init__(self, http: requests.Session, max_retry_wait: float = MAX_RETRY_WAIT):
        self._http = http
        self._max_retry_wait = max_retry_wait

    def get(self, url: str, access_token: str):
        """GET url and return its JSON, or raise GraphFailure."""
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
                    return response.json()
                except ValueError:
                    raise GraphFailure(
                        502, "InvalidResponse", "Graph's answer was not JSON.", response.headers.get("request-id")
                    ) from None
            raise _failure(response, retry_after)

    def _send(self, url, access_token):
        try:
            return self._http.get(
                url, headers={"Authorization": f"Bearer {access_token}", "Accept": "application/json"}
            )
        except requests.Timeout:
            log.warning("Graph timed out: %s", url)
            raise GraphFailure(504, "Timeout", "Microsoft Graph did not answer in time.") from None
        except requests.RequestException as exc:
            log.warning("Graph unreachable: %s (%s)", url, type(exc).__name__)
            raise GraphFailure(502, "Unreachable", "Microsoft Graph could not be reached.") from None


def _retry_after(response) -> int | None:
    value = response.headers.get("Retry-After", "")
    return int(value) if value.isdigit() else None


def _failure(response, retry_after) -> GraphFailure:
    try:
        error = response.json().get("error") or {}
    except ValueError:
        error = {}
    if not isinstance(error, dict):
        error = {}
    inner = error.get("innerError") if isinstance(error.get("innerError"), dict) else {}
    failure = GraphFailure(
        status=response.status_code,
        code=str(error.get("code") or response.reason or "Error")[:100],
        message=str(error.get("message") or "")[:500],
        request_id=response.headers.get("request-id") or inner.get("request-id"),
        retry_after=retry_after,
    )
    log.warning("Graph error %s %s request-id=%s", failure.status, failure.code, failure.request_id)
    return failure
