"""The sign-in trace ("What just happened"): the signed-in user's own last sign-in, step by step as the browser's
network tab shows it: the authorize request, the callback, the token request and response, and the ID token's
validation.

Recorded at sign-in (SignIn.tracer) into the user's session, in a few hundred bytes, and never a secret: state,
nonce and the PKCE challenge are kept shortened, the code by its length only, the PKCE verifier, the credential
and the tokens not at all. SIGNIN_TRACE turns it on (by default in the local demo only); when off, no trace is
recorded and the page is a 404.
"""

import hashlib
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

from flask import Blueprint, abort, redirect, render_template, url_for
from flask.typing import ResponseReturnValue

from .claims import claims_table
from .discovery import AuthorityMetadata
from .id_token import Recording
from .sessions import current_session
from .settings import CredentialKind

if TYPE_CHECKING:
    from .extension import EntraSignIn

PATH = "/signin-trace"
TRACE_KEY = "webapp.signin_trace"
SHOWN_CHARACTERS = 6
MAX_VALUE = 120  # a claims request may be long; the trace stays small
SHORTENED = frozenset({"state", "nonce", "code_challenge"})  # single-use values: enough to recognise, not to reuse
# What each authorize request parameter asks for (OAuth 2.0 RFC 6749 §4.1.1, PKCE RFC 7636, OIDC Core §3.1.2.1;
# https://learn.microsoft.com/entra/identity-platform/v2-oauth2-auth-code-flow#request-an-authorization-code).
PARAMETERS = {
    "client_id": "The app's registration (its Application (client) ID).",
    "response_type": "code: the authority answers with an authorization code, redeemed by the server.",
    "redirect_uri": "Where the authority sends the browser back; must be registered exactly.",
    "scope": "The permissions asked for; openid, profile and offline_access are added by MSAL.",
    "state": "A random value this site checks on the way back (against cross-site request forgery).",
    "nonce": "A hash of a random value the ID token must carry back (against replay).",
    "code_challenge": "PKCE: a hash of a secret verifier that only this server holds.",
    "code_challenge_method": "PKCE: how the challenge was made from the verifier (S256: SHA-256).",
    "prompt": "Whether the user is asked to pick an account, sign in again or consent.",
    "client_info": "1: send back the account's ids (uid, utid) with the token.",
    "claims": "Extra claims asked for, e.g. to satisfy Conditional Access (a claims challenge).",
    "response_mode": "How the authority returns the code (query: in the redirect's URL).",
    "login_hint": "The account to pre-fill.",
    "domain_hint": "The tenant or identity provider to go to directly.",
    "max_age": "How recent the user's authentication must be, in seconds.",
}
CALLBACK_PARAMETERS = {
    "code": "The authorization code, single use, redeemed at the token endpoint.",
    "state": "Returned as sent: matched against the sign-in this browser started.",
    "session_state": "The user's session at the authority (for single sign-out).",
    "client_info": "The account's ids (uid, utid), base64url-encoded JSON.",
}
CREDENTIALS: dict[CredentialKind, str] = {
    "secret": "a client secret",
    "certificate": "a certificate (a client_assertion JWT signed with its private key)",
    "assertion_file": "a federated credential (a client_assertion read from a token file)",
    "managed_identity": "a managed identity (a client_assertion obtained from the managed identity)",
}
RESPONSE_FIELDS = {
    "token_type": "Bearer: whoever holds the access token may use it.",
    "expires_in": "Seconds the access token is valid.",
    "ext_expires_in": "Seconds it stays usable while the authority is unavailable.",
    "scope": "The permissions granted.",
}


def shorten(value: str) -> str:
    return value[:SHOWN_CHARACTERS] + "…"


class SignInTrace:
    """The SignIn.tracer: what one sign-in did, as the small dict to keep in the new session."""

    def __init__(self, credential_kind: CredentialKind):
        self.credential_kind = credential_kind

    def __call__(
        self,
        started: Mapping[str, Any],
        callback: Mapping[str, Any],
        recorded: Recording,
        claims: dict[str, Any],
        metadata: AuthorityMetadata,
    ) -> dict[str, Any]:
        authorize = urlsplit(str(started.get("auth_uri", "")))
        parameters = [
            [name, shorten(value) if name in SHORTENED else value[:MAX_VALUE] + ("…" if len(value) > MAX_VALUE else "")]
            for name, value in parse_qsl(authorize.query, keep_blank_values=True)
        ]
        nonce = str(started.get("nonce", ""))
        # msal sends SHA-256(nonce) and compares the ID token's nonce with it (raising on a mismatch).
        nonce_matched = bool(nonce) and claims.get("nonce") == hashlib.sha256(nonce.encode()).hexdigest()
        trace = {
            "at": int(time.time()),
            "authorize": f"{authorize.scheme}://{authorize.netloc}{authorize.path}",
            "parameters": parameters,
            "callback": list(callback),
            "code_length": len(str(callback.get("code", ""))),
            "token": {
                "endpoint": recorded.token_endpoint,
                "credential": self.credential_kind,
                "grant_type": recorded.grant_type,
                "pkce": recorded.sent_code_verifier,
                "fields": recorded.response_fields,
                "facts": recorded.response,
            },
            "checks": [*recorded.checks, ("nonce", "matched" if nonce_matched else "not matched")],
            "discovery": metadata.url,
        }
        return {TRACE_KEY: trace}


def register(bp: Blueprint, entra: "EntraSignIn") -> None:
    """The trace page on the sign-in blueprint; with SIGNIN_TRACE on, sign-ins are recorded for it."""
    enabled = entra.settings.signin_trace
    if enabled:
        entra.sign_in.tracer = SignInTrace(entra.settings.credential_kind)

    @bp.app_context_processor
    def navigation() -> dict[str, Any]:
        return {"signin_trace": enabled}

    @bp.get(PATH)
    def signin_trace() -> ResponseReturnValue:
        if not enabled:
            abort(404)
        user = entra.user()
        if not user:
            return redirect(url_for("entra.login", next=PATH))
        trace = current_session().get(TRACE_KEY)  # this browser's session: only its own user's sign-in
        granted = str(trace["token"]["facts"].get("scope", "")) if trace else ""
        requested = next((str(value) for name, value in trace["parameters"] if name == "scope"), "") if trace else ""
        return render_template(
            "signin_trace.html",
            trace=trace,
            recorded=f"{datetime.fromtimestamp(trace['at'], UTC):%Y-%m-%d %H:%M:%S} UTC" if trace else "",
            parameters=PARAMETERS,
            callback_parameters=CALLBACK_PARAMETERS,
            credentials=CREDENTIALS,
            response_fields=RESPONSE_FIELDS,
            requested=requested.split(),
            granted=granted.split(),
            # The ID token carries the nonce sent: shortened here too.
            claims_table=claims_table({**user, **({"nonce": shorten(str(user["nonce"]))} if "nonce" in user else {})}),
        )
