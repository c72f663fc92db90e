"""Sign-in through `identity` (auth code flow with PKCE), with every way it can fail turned into a SignInFailure.

A sign-in in progress lives in its own sealed cookie (pending_sign_in); only a completed one creates a server
session, a new one each time (no earlier user's tokens survive, no planted id is kept). identity answers a lost
or mismatched state with a silent no-op and msal raises on a nonce mismatch or a token-endpoint 5xx: this module
checks the state itself and turns each of those into a page.
"""

import logging
import secrets
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import msal
import requests
from flask import Request, session
from werkzeug.wrappers import Response

from . import challenges, id_token, metrics, request_log
from .authorities import Authority, FlowName
from .authorization import Admission
from .discovery import AuthorityMetadata
from .errors import IdTokenRejected, NeedsSignIn, SignInFailure
from .identity_seam import AUTH_FLOW_KEY, Auth
from .pending_sign_in import PendingSignIns
from .sessions import EncryptedSessions, current_session
from .www_authenticate import UnusableClaims

log = logging.getLogger(__name__)
# msal recommends response_mode=form_post on every flow; identity's redirect view only takes GET (query).
warnings.filterwarnings("ignore", message=".*response_mode.*", category=UserWarning, module=r"msal\.")

NEEDS_INTERACTION = ("interaction_required", "invalid_grant", "login_required", "consent_required")
# authority_misconfigured: the discovery document names another issuer than OIDC_AUTHORITY (the operator's to fix).
IDTOKEN_REJECTION_STATUS = {"authority_unreachable": 502, "tenant_not_allowed": 403, "authority_misconfigured": 503}
# Kept in the pending sign-in's dict, and then in the session: which flow signed the user in (B2C refreshes
# tokens at that user flow's authority) and where the user was going.
FLOW_KEY = "webapp.flow"
NEXT_KEY = "webapp.next"
# B2C answers its "Forgot your password?" link, and a user cancelling a user flow, with access_denied and these
# codes in error_description (https://learn.microsoft.com/azure/active-directory-b2c/error-codes).
B2C_FORGOT_PASSWORD = "AADB2C90118"
B2C_USER_CANCELLED = "AADB2C90091"
# The sign-in trace (signin_trace.py): from the flow as started, the callback's parameters, what the ID token's
# validation recorded, the user's claims and the metadata used, what to keep in the new session.
Tracer = Callable[
    [Mapping[str, Any], Mapping[str, Any], id_token.Recording, dict[str, Any], AuthorityMetadata], dict[str, Any]
]


@dataclass(frozen=True)
class FlowAuth:
    """One flow's identity helper and the metadata its ID tokens are validated with."""

    auth: Auth
    metadata: AuthorityMetadata


@dataclass(frozen=True)
class StartFlow:
    """The authority's answer asks for another flow (B2C's password reset) to start, on the way to next_path."""

    flow: FlowName
    next_path: str


class SignIn:
    """The app's view of identity: start and finish a sign-in, read the user, get a token, sign out."""

    def __init__(
        self,
        flows: Mapping[FlowName, FlowAuth],
        authority: Authority,
        sessions: EncryptedSessions,
        pending: PendingSignIns,
        scopes: tuple[str, ...],
        redirect_uri: str,
        admission: Admission | None = None,
    ):
        self._flows = flows
        self.admission = admission or Admission()
        self._session_auths = {name: flow.auth.working_in(session) for name, flow in flows.items()}  # the proxy
        self.authority = authority
        self.sessions = sessions
        self.pending = pending
        self.scopes = list(scopes)
        self.redirect_uri = redirect_uri
        self.tracer: Tracer | None = None  # set when SIGNIN_TRACE is on

    def offers(self, flow: FlowName) -> bool:
        return flow in self._flows

    def start(
        self,
        request: Request,
        response: Response,
        next_path: str,
        scopes: list[str] | None = None,
        flow_name: FlowName = "signin",
        claims_challenge: str | None = None,
        remember: Mapping[str, Any] | None = None,
    ) -> str:
        """Begin a sign-in (at the given B2C user flow's authority, asking for a claims challenge's claims): keep
        it, with what to remember in the new session, in a cookie on response; return the authority URL."""
        state = secrets.token_urlsafe(32)
        chosen = self._flows[flow_name]
        flow: dict[str, Any] = {**(remember or {}), FLOW_KEY: flow_name, NEXT_KEY: next_path}
        with _authority_calls():
            result = chosen.auth.working_in(flow, claims_challenge).log_in(
                scopes=scopes or self.scopes,
                redirect_uri=self.redirect_uri,
                state=state,
                prompt=self.authority.prompt(chosen.metadata.document) if flow_name == "signin" else None,
                next_link=next_path,
            )
        if "error" in result:
            raise SignInFailure.from_result(502, result)
        try:
            self.pending.save(request, response, state, flow)
        except ValueError:  # the cookie limit: only claims from the authority or a resource make a flow this big
            log.warning("a sign-in too large for its cookie (claims of %d characters)", len(claims_challenge or ""))
            raise SignInFailure(
                502, "malformed_response", "The claims Microsoft asked for are too large for this site to request."
            ) from None
        return str(result["auth_uri"])

    @metrics.counts_sign_ins
    def finish(self, request: Request, forget: Any) -> str | StartFlow:
        """Complete the sign-in from the authority's redirect; return where to go next (or the flow to start).

        forget(state) deletes the pending sign-in's cookie on whatever response this request ends with."""
        args = request.args
        state = args.get("state")
        if not state:
            raise SignInFailure(400, "state_mismatch", "The response from Microsoft had no state parameter.")
        flow = self.pending.take(request, state)
        if flow is None:
            if self.pending.cookie_name(state) in request.cookies:
                log.warning(
                    "sign-in response with no usable sign-in pending: its cookie could not be opened "
                    "(expired, tampered, or sealed by a server with another SECRET_KEY)"
                )
                raise SignInFailure(400, "sign_in_state_lost", "The sign-in started in this browser could not be read.")
            if not self.pending.any_pending(request) and not current_session().signed_in:
                log.warning("sign-in response with no usable sign-in pending in this browser (expired, or never here)")
                raise SignInFailure(400, "sign_in_state_lost", "No sign-in was pending in this browser.")
            log.warning("sign-in response whose state matches no pending sign-in (forged, replayed or stale)")
            raise SignInFailure(400, "state_mismatch", "The state parameter matches no sign-in started here.")
        if not args.get("error") and not args.get("code"):
            raise SignInFailure(400, "missing_code", "The response from Microsoft had neither a code nor an error.")
        forget(state)  # single use, whatever happens next
        if args.get("error"):
            return self._answer_to_error(args, flow)
        chosen = next((auth for name, auth in self._flows.items() if name == flow.get(FLOW_KEY, "signin")), None)
        if chosen is None:
            raise SignInFailure(400, "sign_in_state_lost", "The sign-in started here names no flow this site offers.")
        auth = chosen.auth.working_in(flow)
        started = dict(flow.get(AUTH_FLOW_KEY) or {})
        try:
            with _authority_calls(), id_token.recording() as recorded:
                result = auth.complete_log_in(_single_values(args))
                user = auth.get_user() if "next_link" in result else None
        except RuntimeError as exc:  # msal: nonce mismatch, or auth_time beyond max_age
            raise SignInFailure(400, "invalid_id_token", str(exc)[:300]) from None
        except KeyError:  # identity: no id_token, or claims without iat/exp
            raise SignInFailure(502, "invalid_id_token", "The token response lacked a usable ID token.") from None
        if "error" in result:
            raise SignInFailure.from_result(400, result)
        if "next_link" not in result or not user:  # identity's silent no-op; the checks above make it unreachable
            raise SignInFailure(400, "state_mismatch", "The sign-in could not be matched to this browser.")
        # REQUIRED_ROLES, ALLOWED_GROUPS (a group overage resolved through Graph): refused, no session is begun.
        flow.update(self.admission.admit(user, auth.get_token_for_user))
        if self.tracer is not None:
            flow.update(self.tracer(started, args, recorded, user, chosen.metadata))
        self.sessions.begin(current_session(), flow, user)
        return str(result.get("next_link") or "/")

    def _answer_to_error(self, args: Mapping[str, Any], flow: Mapping[str, Any]) -> str | StartFlow:
        """An error on the redirect: a page, except B2C's "Forgot your password?" (the reset flow starts) and a
        user cancelling a user flow (back to the site)."""
        description = str(args.get("error_description") or "")
        next_path = str(flow.get(NEXT_KEY) or "/")
        if args.get("error") == "access_denied" and self.authority.kind == "b2c":
            if B2C_FORGOT_PASSWORD in description:
                if not self.offers("resetpassword"):
                    raise SignInFailure(
                        400,
                        "password_reset_not_configured",
                        "This site has no password reset user flow (RESETPASSWORD_USER_FLOW is not set).",
                    )
                return StartFlow("resetpassword", next_path)
            if B2C_USER_CANCELLED in description:
                log.info("the user cancelled a B2C user flow")
                return "/"
        if (refused := challenges.refusal(args, flow, next_path)) is not None:  # blocked, or consent not granted
            raise refused
        raise SignInFailure.from_result(403 if args.get("error") == "access_denied" else 400, dict(args))

    def _session_auth(self) -> Auth:
        """identity working in this request's session, at the authority of the flow that signed the user in."""
        name = current_session().get(FLOW_KEY)
        return self._session_auths[name if name in self._session_auths else "signin"]

    def user(self) -> dict[str, Any] | None:
        """The signed-in user's ID-token claims, or None."""
        if not current_session().signed_in:
            return None
        with _authority_calls():
            claims = self._session_auth().get_user()
        return claims if isinstance(claims, dict) else None

    def access_token(self, scopes: list[str] | None = None, claims_challenge: str | None = None) -> str:
        """An access token, from the cache or by refresh (asking for a claims challenge's claims: the cached
        access tokens are dropped first); NeedsSignIn, with the claims to ask for, if neither works."""
        if not current_session().signed_in:
            raise NeedsSignIn("not signed in")
        auth = self._session_auth()
        with _authority_calls():
            if claims_challenge:
                auth = auth.working_in(session, claims_challenge)
                auth.forget_access_tokens()
            result = auth.get_token_for_user(scopes or self.scopes)
        if "access_token" in result:
            return str(result["access_token"])
        error = result.get("error")
        if (policy := challenges.blocked(result)) is not None:  # AADSTS53003: no sign-in helps
            raise policy
        if error in NEEDS_INTERACTION:
            log.info("token for the user needs interaction: %s %s", error, result.get("suberror") or "")
            try:  # Conditional Access says what the next sign-in must satisfy (e.g. MFA: basic_action)
                claims = challenges.usable_claims(result.get("claims")) or claims_challenge
            except UnusableClaims:
                raise SignInFailure(
                    502, "malformed_response", "The Microsoft identity platform asked for claims that are not usable."
                ) from None
            raise NeedsSignIn(error, claims=claims)
        if not error:  # e.g. B2C, which issues access tokens only for an API's scopes, never for OpenID's alone
            raise SignInFailure(
                502, "no_access_token", f"The authority issued no access token for the scopes {scopes or self.scopes}."
            )
        raise SignInFailure.from_result(502, result)

    def sign_out(self) -> str | None:
        """End the user's session everywhere (StoreUnavailable if that failed); return a logout_hint, if any."""
        current = current_session()
        hint = current.meta.get("login_hint") if current.signed_in else None
        self.sessions.end(current)
        return hint if isinstance(hint, str) and hint else None


def _single_values(args: Mapping[str, Any]) -> dict[str, Any]:
    return {key: args.get(key) for key in args}


class _authority_calls:
    """Turn the exceptions MSAL raises on outages into SignInFailures (502/504), never a 500."""

    def __enter__(self) -> "_authority_calls":
        return self

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> Literal[False]:
        if exc is None:
            return False
        if isinstance(exc, IdTokenRejected):
            log.warning("ID token rejected: %s", exc.reason)
            status = IDTOKEN_REJECTION_STATUS.get(exc.error, 400)
            raise SignInFailure(status, exc.error, exc.reason) from None
        if isinstance(exc, msal.exceptions.MsalServiceError):
            log.warning("authority answered with an error status: %s", getattr(exc, "_error", ""), extra=_ids())
            raise SignInFailure(502, "server_error", "The token endpoint answered with a server error.") from None
        if isinstance(exc, requests.Timeout):
            log.warning("authority timed out: %s", type(exc).__name__, extra=_ids())
            raise SignInFailure(
                504, "authority_unreachable", "The Microsoft identity platform did not answer in time."
            ) from None
        if isinstance(exc, requests.RequestException):
            log.warning("authority unreachable: %s", type(exc).__name__, extra=_ids())
            raise SignInFailure(
                502, "authority_unreachable", "The Microsoft identity platform could not be reached."
            ) from None
        if isinstance(exc, ValueError | RecursionError | TypeError | AttributeError):
            # msal and identity parse the authority's JSON as they find it: garbage there is the authority's.
            log.warning("authority answer unusable: %s", type(exc).__name__, extra=_ids())
            raise SignInFailure(
                502, "malformed_response", "The Microsoft identity platform's answer could not be used."
            ) from None
        return False


def _ids() -> dict[str, Any]:
    """The client-request-id of the request's latest authority call that answered, for the failure's log line."""
    return {"client_request_id": request_log.client_request_id()}
