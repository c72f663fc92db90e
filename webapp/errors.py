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

from . import aadsts as codebook
from . import request_log
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

# Entra refusing the app itself (its credential or registration), by AADSTS code (reference-error-codes.md): the
# operator's to fix, not the user's. 503, not 502: the site cannot sign anyone in until its configuration changes
# (502 would blame Entra, which answered correctly; 4xx would blame the user; 500 would say the app crashed).
MISCONFIGURED = 503
# Their texts live in aadsts.py, with every other code's.
CREDENTIAL_FIXES = {code: e.fix for code, e in codebook.TABLE.items() if e.credential}
CREDENTIAL_FIX_UNKNOWN = (
    "Check the app's credential (CLIENT_SECRET, CLIENT_CERTIFICATE_PATH, CLIENT_ASSERTION_FILE or "
    "MANAGED_IDENTITY_CLIENT_ID) against Certificates & secrets in its registration."
)
_TRACE = re.compile(r"Trace ID:\s*([0-9a-fA-F-]{8,})")
_CORRELATION = re.compile(r"Correlation ID:\s*([0-9a-fA-F-]{8,})")
_TIMESTAMP = re.compile(r"Timestamp:\s*([0-9][0-9:TZ .-]{9,40}Z)")
_ID_LINES = re.compile(r"^\s*(Trace ID|Correlation ID|Timestamp):.*$", re.MULTILINE)


@dataclass(eq=False)  # exceptions must stay hashable
class SignInFailure(Exception):
    """A sign-in or token failure, shown to the user on an error page."""

    status: int
    error: str
    description: str = ""
    correlation_id: str | None = None
    trace_id: str | None = None
    aadsts: str | None = None
    timestamp: str | None = None

    @property
    def explanation(self) -> codebook.Explanation | None:
        """What the AADSTS code means, why, and how to fix it; None for an unknown code (see lookup_url)."""
        return codebook.explain(self.aadsts)

    @property
    def lookup_url(self) -> str | None:
        """Microsoft's page for the AADSTS code, if there is one."""
        return codebook.lookup_url(self.aadsts) if self.aadsts else None

    @property
    def plain_words(self) -> str:
        return PLAIN_WORDS.get(self.error, "Signing in with Microsoft did not work.")

    @property
    def fix(self) -> str | None:
        """What the site's operator must change, when Entra refused the app itself (None for anything else)."""
        if self.aadsts in CREDENTIAL_FIXES:
            return CREDENTIAL_FIXES[self.aadsts]
        return CREDENTIAL_FIX_UNKNOWN if self.error == "invalid_client" else None

    @classmethod
    def from_result(cls, status: int, result: dict[str, Any]) -> "SignInFailure":
        """Build from an OAuth error dict (the token endpoint's JSON, or an authorize error redirect); a refusal
        of the app itself is MISCONFIGURED whatever the caller's status."""
        description = str(result.get("error_description") or "")
        failure = cls(
            status=status,
            error=str(result.get("error") or "unknown_error")[:100],
            # Entra appends the ids to the description; they are shown on their own lines instead.
            description=_ID_LINES.sub("", description).strip()[:2000],
            correlation_id=result.get("correlation_id") or _first(_CORRELATION, description),
            trace_id=result.get("trace_id") or _first(_TRACE, description),
            aadsts=codebook.code_of(result),
            timestamp=str(result.get("timestamp") or "")[:40] or _first(_TIMESTAMP, description),
        )
        if failure.fix:
            failure.status = MISCONFIGURED
        return failure

    def log_fields(self) -> dict[str, Any]:
        """What may be logged: codes, descriptions and ids, never a token or code."""
        return {
            "error": self.error,
            "description": self.description.splitlines()[0] if self.description else "",
            "correlation_id": self.correlation_id,
            "trace_id": self.trace_id,
            "aadsts": self.aadsts,
        }


@dataclass(eq=False)  # exceptions must stay hashable
class CredentialUnavailable(Exception):
    """The app could not produce its own credential for a token request (a federated token file missing or
    empty, the managed identity endpoint failing): the operator's to fix, shown as a misconfigured sign-in."""

    status: int
    setting: str
    message: str


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
    client_request_id: str | None = None

    @property
    def plain_words(self) -> str:
        if self.status >= 500 and self.status not in GRAPH_PLAIN_WORDS:
            return "Microsoft Graph had a problem answering."
        return GRAPH_PLAIN_WORDS.get(self.status, "Microsoft Graph answered with an error.")


class NeedsSignIn(Exception):
    """The user must go through the authority again (not signed in, or the tokens can no longer be refreshed),
    asking for these claims (a claims challenge's JSON, or Conditional Access's), if any."""

    def __init__(self, reason: str, claims: str | None = None):
        super().__init__(reason)
        self.claims = claims


def _first(pattern: re.Pattern[str], text: str) -> str | None:
    match = pattern.search(text)
    return match.group(1) if match else None


def _sent(failure: SignInFailure) -> dict[str, str]:
    """The redirect URI this app sends, for a page explaining a redirect URI error."""
    explanation = failure.explanation
    settings = getattr(flask.current_app.extensions.get("entra_signin"), "settings", None)
    if explanation is None or not explanation.redirect_uri or settings is None:
        return {}
    return {"redirect_uri": str(settings.redirect_uri)}


def register_error_pages(app: Flask) -> None:
    """One error-page path for the whole app."""

    @app.errorhandler(SignInFailure)
    def sign_in_failure(failure: SignInFailure) -> Any:
        # The ids support asks for, as fields of the line too (LOG_FORMAT=json), with the client-request-id msal sent.
        ids = {**failure.log_fields(), "client_request_id": request_log.client_request_id()}
        if failure.fix:
            log.error("Entra refused the app's credential or registration: %s", failure.log_fields(), extra=ids)
            page = render_template("errors/credential.html", failure=failure, fix=failure.fix, **_sent(failure))
            return page, failure.status
        log.warning("sign-in failed: %s", failure.log_fields(), extra=ids)
        return render_template("errors/auth.html", failure=failure, **_sent(failure)), failure.status

    @app.errorhandler(CredentialUnavailable)
    def credential_unavailable(error: CredentialUnavailable) -> Any:
        log.error("the app's credential is unavailable (%s): %s", error.setting, error.message)
        return render_template("errors/credential.html", failure=None, fix=error.message), error.status

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
