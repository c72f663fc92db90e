"""The authority's OpenID Connect metadata, fetched with a timeout and cached per process for a bounded time."""

import logging
import threading
import time

import jwt
import requests

log = logging.getLogger(__name__)

TTL_SECONDS = 3600  # long enough to keep warm paths off the authority, short enough to see key rotation
MIN_KEY_REFETCH_SECONDS = 30  # an unknown kid refetches the keys, but a flood of bogus kids cannot


class AuthorityMetadata:
    """Lazily fetched, time-bounded cache of the v2.0 discovery document."""

    def __init__(self, authority: str, http: requests.Session):
        self.url = f"{authority.rstrip('/')}/v2.0/.well-known/openid-configuration"
        self.http = http
        self._lock = threading.Lock()
        self._document = None
        self._fetched_at = 0.0
        self._keys = None
        self._keys_fetched_at = float("-inf")

    def document(self) -> dict:
        """The discovery document; raises requests.RequestException or ValueError when unavailable."""
        with self._lock:
            if self._document is None or time.monotonic() - self._fetched_at > TTL_SECONDS:
                response = self.http.get(self.url)
                response.raise_for_status()
                document = response.json()
                if not isinstance(document, dict):
                    raise ValueError("discovery document is not a JSON object")
                self._document, self._fetched_at = document, time.monotonic()
            return self._document

    def signing_key(self, kid: str):
        """The public key for kid from the JWKS, refetching once when kid is unknown (key rotation)."""
        keys = self._signing_keys(refresh=False)
        if kid not in keys and time.monotonic() - self._keys_fetched_at > MIN_KEY_REFETCH_SECONDS:
            keys = self._signing_keys(refresh=True)
        return keys.get(kid)

    def _signing_keys(self, refresh: bool) -> dict:
        with self._lock:
            fresh = time.monotonic() - self._keys_fetched_at <= TTL_SECONDS
            if self._keys is not None and fresh and not refresh:
                return self._keys
        jwks_uri = self.document().get("jwks_uri")
        if not jwks_uri:
            raise ValueError("discovery document has no jwks_uri")
        response = self.http.get(jwks_uri)
        response.raise_for_status()
        keys = {}
        for jwk in response.json().get("keys", []):
            try:
                keys[jwk["kid"]] = jwt.PyJWK(jwk, algorithm="RS256").key
            except (KeyError, jwt.PyJWTError):
                log.warning("skipping an unusable key in the JWKS")
        with self._lock:
            self._keys, self._keys_fetched_at = keys, time.monotonic()
        return keys

    def end_session_endpoint(self):
        """Where to send the browser to sign out at the authority, or None if it cannot be found."""
        try:
            return self.document().get("end_session_endpoint")
        except (requests.RequestException, ValueError) as exc:
            log.warning("discovery unavailable for sign-out: %s", type(exc).__name__)
            return None
