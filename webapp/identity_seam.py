"""The one place that relies on what `identity` does not publish. Pinned by tests/unit/test_identity_seam.py.

The sign-in itself uses identity's public API only: `Auth(session=...)`, `log_in(scopes, redirect_uri, state,
prompt, next_link)`, `complete_log_in`, `get_user`, `get_token_for_user`. Each call gets the mapping to work
in: the pending sign-in's own dict (kept in a sealed cookie) while signing in, then the user's server session.

Two private methods are overridden, because identity 0.11 offers no parameter for either:
- `_build_msal_app`: to hand msal our HTTP client (total deadlines, pooled connections, refresh coalescing), the
  app's credential as it is at this token request (a `ClientCredential`: rotated files are picked up), the client
  capabilities (cp1: this app handles claims challenges), and a claims challenge: identity's `log_in` and
  `get_token_for_user` take none, so the msal app they build passes it to `initiate_auth_code_flow` and
  `acquire_token_silent_with_error`, the two msal methods they call.
- `_load_cache`: to give msal a token cache that validates every ID token before storing it.
The contract test checks identity's version, both methods' signatures, and that identity still stores the
cache and the user in the session mapping it is given.
"""

from collections.abc import MutableMapping, Sequence
from typing import Any

import identity.web
import msal

from .credentials import ClientCredential
from .id_token import IdTokenValidator, ValidatingTokenCache

IDENTITY_VERSION = "0.11.0"
# Where identity keeps msal's auth code flow (auth_uri, state, nonce, code_verifier, ...) in the mapping it works
# in, dropped on success: the sign-in trace copies it first.
AUTH_FLOW_KEY: str = identity.web.Auth._AUTH_FLOW


class Auth(identity.web.Auth):
    """identity's helper with our HTTP client and an ID-token-validating cache."""

    def __init__(
        self,
        *,
        http_client: Any,
        validator: IdTokenValidator,
        client_capabilities: Sequence[str] = (),
        claims_challenge: str | None = None,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        self._http_client = http_client
        self._validator = validator
        self._client_capabilities = tuple(client_capabilities)
        self._claims_challenge = claims_challenge
        self._settings = kwargs

    def working_in(self, session: MutableMapping[str, Any], claims_challenge: str | None = None) -> "Auth":
        """The same helper, working in another mapping (a pending sign-in's, or the user's session), and asking
        the authority for these claims (a claims challenge's JSON) on its next sign-in or token request."""
        return Auth(
            http_client=self._http_client,
            validator=self._validator,
            client_capabilities=self._client_capabilities,
            claims_challenge=claims_challenge,
            **{**self._settings, "session": session},
        )

    def forget_access_tokens(self) -> None:
        """Drop the cached access tokens (a resource refused them); the refresh token stays."""
        cache = self._load_cache()
        for token in list(cache.search(msal.TokenCache.CredentialType.ACCESS_TOKEN)):
            cache.remove_at(token)
        if cache.has_state_changed:
            self._session[self._TOKEN_CACHE] = cache.serialize()

    def _load_cache(self) -> msal.SerializableTokenCache:
        cache = ValidatingTokenCache(self._validator, on_rejected_refresh=self._http_client.forget)
        serialized = self._session.get(self._TOKEN_CACHE)
        if serialized:
            cache.deserialize(serialized)
        return cache

    def _build_msal_app(self, client_credential: Any = None, cache: Any = None) -> msal.ClientApplication:
        cls = _ChallengedConfidentialApp if client_credential else _ChallengedPublicApp
        if isinstance(client_credential, ClientCredential):
            client_credential = client_credential.for_msal()
        app = cls(
            self._client_id,
            client_credential=client_credential,
            oidc_authority=self._oidc_authority,
            authority=self._authority,
            token_cache=cache,
            http_cache=self._http_cache,
            instance_discovery=False,
            http_client=self._http_client,
            client_capabilities=list(self._client_capabilities) or None,
        )
        app.claims_challenge = self._claims_challenge
        return app


class _ClaimsChallenged:
    """msal's app, passing a claims challenge (the decoded JSON) to the two calls identity makes without one."""

    claims_challenge: str | None = None

    def initiate_auth_code_flow(self, scopes: list[str], **kwargs: Any) -> dict[str, Any]:
        if self.claims_challenge:
            kwargs.setdefault("claims_challenge", self.claims_challenge)
        return super().initiate_auth_code_flow(scopes, **kwargs)  # type: ignore[misc]

    def acquire_token_silent_with_error(self, scopes: list[str], account: Any, **kwargs: Any) -> Any:
        if self.claims_challenge:
            kwargs.setdefault("claims_challenge", self.claims_challenge)
        return super().acquire_token_silent_with_error(scopes, account, **kwargs)  # type: ignore[misc]


class _ChallengedConfidentialApp(_ClaimsChallenged, msal.ConfidentialClientApplication):
    pass


class _ChallengedPublicApp(_ClaimsChallenged, msal.PublicClientApplication):
    pass
