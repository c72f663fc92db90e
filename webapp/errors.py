"""The app's failures, in plain words with the ids Microsoft support asks for, and the one place they become pages.

Every failure is an exception raised where it happens and rendered here: a 4xx page for the user's input, 502/503/504
for an upstream (Entra, Graph, the session store), always with the security headers and never a traceback.
"""

import logging
import re
from dataclasses import dataclass
from typing import Any

import flask
from flask import Flask, render_template, request
from werkzeug.exceptions import HTTPException

from .session_store import StoreUnavailable
from .sessions import ServerSession

log = logging.getLogger(__name__)

PLAIN_WORDS = {
    "access_denied": "The sign-in was cancelled, or the permissions this app asks for were declined.",
    "consent_required": "An administrator or you must first consent to the permissions this app asks for.",
    "interaction_required": "Microsoft needs you to sign in again "
    "(for example to complete multi-factor authentication).",
    "login_required": "You need to sign in again.",
    "invalid_grant": "The sign-in could not be completed: the one-time code from Microsoft was invalid, "
    "expired or already used, or your sign-in has expired.",
    "invalid_client": "Microsoft refused this app's credentials. The site's CLIENT_SECRET is wrong or has expired.",
    "unauthorized_client": "This app is not registered in the tenant you signed in to.",
    "invalid_scope": "Microsoft did not grant the permissions this app asks for.",
    "invalid_request": "Microsoft rejected the sign-in request as malformed.",
    "server_error": "The Microsoft identity platform had a problem. Please try again in a moment.",
    "temporarily_unavailable": "The Microsoft identity platform is busy or unavailable. Please try again in a moment.",
    "state_mismatch": "This sign-in response does not belong to a sign-in started in this browser, "
    "or it was already used.",
    "sign_in_state_lost": "We could not find the sign-in you started: it expired, or this browser's session "
    "was lost. Start again.",
    "missing_code": "The answer from Microsoft had no authorization code.",
    "invalid_id_token": "The ID token Microsoft returned could not be trusted, so you were not signed in.",
    "tenant_not_allowed": "Accounts from your organization (tenant) are not allowed to sign in to this site.",
    "malformed_response": "The answer from Microsoft was malformed.",
    "authority_unreachable": "We could not reach the Microsoft identity platform. Please try again in a moment.",
}

_TRACE = re.compile(r"Trace ID:\s*([0-9a-fA-F-]{8,})")
_CORRELATION = re.compile(r"Correlation ID:\s*([0-9a-fA-F-]{8,})")
_ID_LINES = re.compile(r"^\s*(Trace ID|Correlation ID|Timestamp):.*$", re.MULTILINE)


@dataclass(eq=False)  # exceptions must stay hashable
class SignInFailure(Exception):
    """A sign-in or token failure, shown to the user on an error page."""

    status: int
    error: str
    description: str = ""
    correlation_id: str | None = None
    trace_id: str | None = None

    @property
    def plain_words(self) -> str:
        return PLAIN_WORDS.get(self.error, "Signing in with Microsoft did not work.")

    @classmethod
    def from_result(cls, status: int, result: dict[str, Any]) -> "SignInFailure":
        """Build from an OAuth error dict (the token endpoint's JSON, or an authorize error redirect)."""
        description = str(result.get("error_description") or "")
        return cls(
            status=status,
            error=str(result.get("error") or "unknown_error")[:100],
            # Entra appends the ids to the description; they are shown on their own lines instead.
            description=_ID_LINES.sub("", description).strip()[:2000],
            correlation_id=result.get("correlation_id") or _first(_CORRELATION, description),
            trace_id=result.get("trace_id") or _first(_TRACE, description),
        )

    def log_fields(self) -> dict[str, Any]:
        """What may be logged: codes, descriptions and ids, never a token or code."""
        return {
            "error": self.error,
            "description": self.description.splitlines()[0] if self.description else "",
            "correlation_id": self.correlation_id,
            "trace_id": self.trace_id,
        }


class IdTokenRejected(Exception):
    """The ID token failed validation. Deliberately not a ValueError, which identity would swallow."""

    def __init__(self, reason: str, error: str = "invalid_id_token"):
        super().__init__(reason)
        self.reason = reason
        self.error = error


GRAPH_PLAIN_WORDS = {
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
        if self.status >= 500 and self.status not in GRAPH_PLAIN_WORDS:
            return "Microsoft Graph had a problem answering."
        return GRAPH_PLAIN_WORDS.get(self.status, "Microsoft Graph answered with an error.")


class NeedsSignIn(Exception):
    """The user must go through the authority again (not signed in, or the tokens can no longer be refreshed)."""


def _first(pattern: re.Pattern[str], text: str) -> str | None:
    match = pattern.search(text)
    return match.group(1) if match else None


def register_error_pages(app: Flask) -> None:
    """One error-page path for the whole app."""

    @app.errorhandler(SignInFailure)
    def sign_in_failure(failure: SignInFailure) -> Any:
        log.warning("sign-in failed: %s", failure.log_fields())
        return render_template("errors/auth.html", failure=failure), failure.status

    @app.errorhandler(StoreUnavailable)
    def store_unavailable(error: StoreUnavailable) -> Any:
        log.warning("session store unavailable on %s", request.path)
        session = flask.session
        if isinstance(session, ServerSession):  # the page's navigation must not wait for the store again
            session.store_failed(error)
        response = app.make_response((render_template("errors/store.html"), 503))
        response.headers["Retry-After"] = "5"
        return response

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Any:
        return render_template("errors/http.html", error=error), error.code

    @app.errorhandler(Exception)
    def unexpected(error: Exception) -> Any:
        log.exception("unexpected error on %s", request.path)
        return render_template("errors/http.html", error=None), 500
