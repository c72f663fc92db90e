"""The one place that relies on what `identity` does not publish. Pinned by tests/unit/test_identity_seam.py.

The sign-in itself uses identity's public API only: `Auth(session=...)`, `log_in(scopes, redirect_uri, state,
prompt, next_link)`, `complete_log_in`, `get_user`, `get_token_for_user`. Each call gets the mapping to work
in: the pending sign-in's own dict (kept in a sealed cookie) while signing in, then the user's server session.

Two private methods are overridden, because identity 0.11 offers no parameter for either:
- `_build_msal_app`: to hand msal our HTTP client (total deadlines, pooled connections, refresh coalescing), and
  the app's credential as it is at this token request (a `ClientCredential`: rotated files are picked up).
- `_load_cache`: to give msal a token cache that validates every ID token before storing it.
The contract test checks identity's version, both methods' signatures, and that identity still stores the
cache and the user in the session mapping it is given.
"""

from collections.abc import MutableMapping
from typing import Any

import identity.web
import msal

from .credentials import ClientCredential
from .id_token import IdTokenValidator, ValidatingTokenCache

IDENTITY_VERSION = "0.11.0"


class Auth(identity.web.Auth):
    """identity's helper with our HTTP client and an ID-token-validating cache."""

    def __init__(self, *, http_client: Any, validator: IdTokenValidator, **kwargs: Any):
        super().__init__(**kwargs)
        self._http_client = http_client
        self._validator = validator
        self._settings = kwargs

    def working_in(self, session: MutableMapping[str, Any]) -> "Auth":
        """The same helper, working in another mapping (a pending sign-in's, or the user's session)."""
        return Auth(http_client=self._http_client, validator=self._validator, **{**self._settings, "session": session})

    def _load_cache(self) -> msal.SerializableTokenCache:
        cache = ValidatingTokenCache(self._validator, on_rejected_refresh=self._http_client.forget)
        serialized = self._session.get(self._TOKEN_CACHE)
        if serialized:
            cache.deserialize(serialized)
        return cache

    def _build_msal_app(self, client_credential: Any = None, cache: Any = None) -> msal.ClientApplication:
        cls = msal.ConfidentialClientApplication if client_credential else msal.PublicClientApplication
        if isinstance(client_credential, ClientCredential):
            client_credential = client_credential.for_msal()
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
