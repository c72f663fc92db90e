"""Sign-in through `identity` (auth code flow with PKCE), with every way it can fail turned into a SignInFailure.

identity 0.11 keeps one pending flow per session and answers a lost or mismatched state with a silent
redirect; msal raises on a nonce mismatch or a token-endpoint 5xx. This module keeps a few pending flows
keyed by state (so two tabs can sign in at once), checks the state itself, and catches those exceptions.
"""

import logging
import time
import warnings

import identity.web
import msal
import requests
from flask import current_app, session

from .failures import SignInFailure
from .id_token import IdTokenRejected, ValidatingTokenCache

log = logging.getLogger(__name__)
# msal recommends response_mode=form_post on every flow; identity's redirect view only takes GET (query).
warnings.filterwarnings("ignore", message=".*response_mode.*", category=UserWarning, module=r"msal\.")

PENDING_KEY = "pending_sign_ins"
MAX_PENDING = 5  # tabs signing in at once; older flows are dropped first
FLOW_KEY = identity.web.Auth._AUTH_FLOW  # where identity expects the flow it completes
USER_KEY = identity.web.Auth._USER  # where identity keeps the signed-in user's claims
NEXT_KEY = "next_path"
SIGNED_IN_AT_KEY = "signed_in_at"  # epoch seconds of the last completed sign-in (absolute session lifetime)


class NeedsSignIn(Exception):
    """The user must go through the authority again (not signed in, or the tokens can no longer be refreshed)."""


class _Auth(identity.web.Auth):
    """identity's helper with our HTTP client (timeouts, pooled connections) and an ID-token-validating cache."""

    def __init__(self, *, http_client, validator, **kwargs):
        super().__init__(**kwargs)
        self._http_client = http_client
        self._validator = validator

    def _load_cache(self):
        # Same as identity 0.11's version, with a cache that validates every ID token before storing it.
        cache = ValidatingTokenCache(self._validator, on_rejected_refresh=self._http_client.forget)
        if self._session.get(self._TOKEN_CACHE):
            cache.deserialize(self._session[self._TOKEN_CACHE])
        return cache

    def _build_msal_app(self, client_credential=None, cache=None):
        # Same as identity 0.11's version, plus http_client (identity exposes no timeout).
        cls = msal.ConfidentialClientApplication if client_credential else msal.PublicClientApplication
        return cls(
            self._client_id,
            client_credential=client_credential,
            oidc_authority=self._oidc_authority,
            authority=self._authority,
            token_cache=cache,
            http_cache=self._http_cache,
            instance_discovery=False,
            http_client=self._http_client,
        )


class SignIn:
    """The app's view of identity: start and finish a sign-in, read the user, get a token."""

    def __init__(self, config, http_client, http_cache, validator):
        self.scopes = config["SCOPE"].split()
        self.redirect_uri = config["REDIRECT_URI"]
        self.absolute_timeout = int(config["SESSION_ABSOLUTE_TIMEOUT"])
        self._auth = _Auth(
            session=session,
            authority=config["AUTHORITY"].rstrip("/"),
            client_id=config["CLIENT_ID"],
            client_credential=config["CLIENT_SECRET"],
            http_cache=http_cache,
            http_client=http_client,
            validator=validator,
        )

    def start(self, next_path: str) -> str:
        """Begin a sign-in and return the authority URL to send the browser to."""
        with _authority_calls():
            result = self._auth.log_in(scopes=self.scopes, redirect_uri=self.redirect_uri, prompt="select_account")
        if "error" in result:
            raise SignInFailure.from_result(502, result)
        flow = session.pop(FLOW_KEY)
        flow[NEXT_KEY] = next_path
        pending = dict(session.get(PENDING_KEY) or {})
        pending[flow["state"]] = flow
        while len(pending) > MAX_PENDING:
            pending.pop(next(iter(pending)))
        session[PENDING_KEY] = pending
        return result["auth_uri"]

    def finish(self, args) -> str:
        """Complete the sign-in from the authority's redirect; return where to go next."""
        state = args.get("state")
        pending = dict(session.get(PENDING_KEY) or {})
        if not state:
            raise SignInFailure(400, "state_mismatch", "The response from Microsoft had no state parameter.")
        if not pending and not session.get(USER_KEY):
            log.warning("sign-in response with no sign-in pending in this session (expired, lost, or another server)")
            raise SignInFailure(400, "sign_in_state_lost", "No sign-in was pending in this browser session.")
        if state not in pending:
            log.warning("sign-in response whose state matches no pending sign-in (forged, replayed or stale)")
            raise SignInFailure(400, "state_mismatch", "The state parameter matches no sign-in started here.")
        if not args.get("error") and not args.get("code"):
            raise SignInFailure(400, "missing_code", "The response from Microsoft had neither a code nor an error.")
        flow = pending.pop(state)
        session[PENDING_KEY] = pending  # single use, whatever happens next
        if args.get("error"):
            raise SignInFailure.from_result(403 if args.get("error") == "access_denied" else 400, args)
        session[FLOW_KEY] = flow
        try:
            with _authority_calls():
                result = self._auth.complete_log_in(args)
        except RuntimeError as exc:  # msal: nonce mismatch, or auth_time beyond max_age
            raise SignInFailure(400, "invalid_id_token", str(exc)[:300]) from None
        except KeyError:  # identity: no id_token, or claims without iat/exp
            raise SignInFailure(502, "invalid_id_token", "The token response lacked a usable ID token.") from None
        finally:
            session.pop(FLOW_KEY, None)
        if "error" in result:
            raise SignInFailure.from_result(400, result)
        if "next_link" not in result:  # identity's silent no-op; our checks above should make it unreachable
            raise SignInFailure(400, "state_mismatch", "The sign-in could not be matched to this session.")
        # A new session id once signed in, so an id planted before sign-in is worthless (session fixation).
        current_app.session_interface.regenerate(session)
        session[SIGNED_IN_AT_KEY] = int(time.time())
        return flow.get(NEXT_KEY) or "/"

    def user(self):
        """The signed-in user's ID-token claims, or None."""
        with _authority_calls():
            return self._auth.get_user()

    def access_token(self) -> str:
        """An access token for the configured scopes, from the cache or by refresh; NeedsSignIn if neither works."""
        with _authority_calls():
            result = self._auth.get_token_for_user(self.scopes)
        if "access_token" in result:
            return result["access_token"]
        error = result.get("error")
        if error in ("interaction_required", "invalid_grant", "login_required", "consent_required"):
            log.info("token for the user needs interaction: %s", error)
            raise NeedsSignIn(error)
        raise SignInFailure.from_result(502, result)

    def sign_out(self):
        """Forget the user and everything the session held."""
        session.clear()

    def end_if_too_old(self):
        """Sign the user out once SESSION_ABSOLUTE_TIMEOUT has passed since sign-in, however active they were."""
        if USER_KEY not in session:
            return
        now = int(time.time())
        signed_in_at = session.setdefault(SIGNED_IN_AT_KEY, now)  # a session from before this key starts now
        if now - signed_in_at < self.absolute_timeout:
            return
        log.info("session reached its absolute lifetime (%d s since sign-in): signed out", now - signed_in_at)
        pending = session.get(PENDING_KEY)
        session.clear()  # an empty session is deleted from the store, and its cookie with it
        if pending:  # sign-ins started before the deadline can still complete
            session[PENDING_KEY] = pending


class _authority_calls:
    """Turn the exceptions MSAL raises on outages into SignInFailures (502/504), never a 500."""

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            return False
        if isinstance(exc, IdTokenRejected):
            log.warning("ID token rejected: %s", exc.reason)
            status = 502 if exc.error == "authority_unreachable" else 403 if exc.error == "tenant_not_allowed" else 400
            raise SignInFailure(status, exc.error, exc.reason) from None
        if isinstance(exc, msal.exceptions.MsalServiceError):
            log.warning("authority answered with an error status: %s", getattr(exc, "_error", ""))
            raise SignInFailure(502, "server_error", "The token endpoint answered with a server error.") from None
        if isinstance(exc, requests.Timeout):
            log.warning("authority timed out: %s", type(exc).__name__)
            raise SignInFailure(
                504, "authority_unreachable", "The Microsoft identity platform did not answer in time."
            ) from None
        if isinstance(exc, requests.RequestException):
            log.warning("authority unreachable: %s", type(exc).__name__)
            raise SignInFailure(
                502, "authority_unreachable", "The Microsoft identity platform could not be reached."
            ) from None
        if isinstance(exc, ValueError):  # msal: a discovery 4xx or an answer it could not parse
            log.warning("authority answer unusable: %s", str(exc)[:200])
            raise SignInFailure(
                502, "malformed_response", "The Microsoft identity platform's answer could not be used."
            ) from None
        return False
