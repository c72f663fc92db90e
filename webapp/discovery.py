"""The authority's OpenID Connect metadata and signing keys, fetched with a deadline and cached per process.

Each document is fetched by one request at a time (single flight), outside any lock a reader takes: while a
refresh is in flight, or after it failed, readers get the cached copy (stale-if-error, up to MAX_STALE_SECONDS
old); only a reader with nothing usable cached waits for the fetch, and no longer than the fetch's deadline.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import jwt
import requests

log = logging.getLogger(__name__)

TTL_SECONDS = 3600  # long enough to keep warm paths off the authority, short enough to see key rotation
MIN_KEY_REFETCH_SECONDS = 30  # an unknown kid refetches the keys, but a flood of bogus kids cannot
MAX_STALE_SECONDS = 24 * 3600  # how old a cached copy may be served while the authority fails
ERROR_BACKOFF_SECONDS = 30  # after a failed refresh, serve the cached copy this long before trying again

ASYMMETRIC_KEY_TYPES = ("RSA", "EC")
RSA_ALGORITHMS = frozenset({"RS256", "PS256"})  # what an RSA key without an alg of its own may verify

T = TypeVar("T")


def parse_json(response: requests.Response) -> Any:
    """The response's JSON; ValueError when it is not JSON or nests too deep for the parser (RecursionError)."""
    try:
        return json.loads(response.content)
    except RecursionError:
        raise ValueError("the answer's JSON nests too deep") from None
    except UnicodeDecodeError:
        raise ValueError("the answer is not UTF-8 JSON") from None


class _Flight:
    def __init__(self) -> None:
        self.done = threading.Event()
        self.value: Any = None
        self.error: BaseException | None = None


class SingleFlightCache(Generic[T]):
    """One value fetched by one caller at a time; stale copies served while a refresh runs or after it failed."""

    def __init__(
        self,
        name: str,
        fetch: Callable[[], T],
        wait_seconds: float,
        ttl: Callable[[], float] = lambda: TTL_SECONDS,
        max_stale_seconds: float = MAX_STALE_SECONDS,
        error_backoff_seconds: float = ERROR_BACKOFF_SECONDS,
    ):
        self.name = name
        self._fetch = fetch
        self._wait_seconds = wait_seconds
        self._ttl = ttl
        self._max_stale = max_stale_seconds
        self._error_backoff = error_backoff_seconds
        self._lock = threading.Lock()  # held only to read or swap the fields below, never during a fetch
        self._value: T | None = None
        self._fetched_at = float("-inf")
        self._attempted_at = float("-inf")
        self._failed_at = float("-inf")
        self._flight: _Flight | None = None

    def seconds_since_attempt(self) -> float:
        with self._lock:
            return time.monotonic() - self._attempted_at

    def get(self, refresh: bool = False) -> T:
        """The value; refresh=True asks for a new fetch (and waits for it) even when the cached one is fresh."""
        with self._lock:
            now = time.monotonic()
            value = self._value
            age = now - self._fetched_at
            if value is not None and age <= self._ttl() and not refresh:
                return value
            stale = value if value is not None and age <= self._max_stale else None
            if stale is not None and not refresh and now - self._failed_at < self._error_backoff:
                return stale  # the last refresh failed moments ago: do not make every request wait on it again
            flight = self._flight
            leading = flight is None
            if flight is None:
                flight = self._flight = _Flight()
                self._attempted_at = now
        if not leading:
            if stale is not None and not refresh:
                return stale
            return self._follow(flight, stale)
        return self._lead(flight, stale, refresh)

    def _follow(self, flight: _Flight, stale: T | None) -> T:
        if not flight.done.wait(self._wait_seconds):
            if stale is not None:
                return stale
            raise requests.Timeout(f"the {self.name} fetch of another request did not finish in time")
        if flight.value is not None:
            return flight.value
        if stale is not None:
            return stale
        error = flight.error
        if isinstance(error, ValueError):
            raise ValueError(str(error))
        if isinstance(error, requests.Timeout):
            raise requests.Timeout(str(error))
        raise requests.ConnectionError(f"the {self.name} is unavailable ({type(error).__name__})")

    def _lead(self, flight: _Flight, stale: T | None, refresh: bool) -> T:
        try:
            value = self._fetch()
        except BaseException as exc:
            with self._lock:
                self._flight = None
                self._failed_at = time.monotonic()
            flight.error = exc
            flight.done.set()
            if stale is not None and not refresh and isinstance(exc, (requests.RequestException, ValueError)):
                log.warning("%s refresh failed (%s); serving the cached copy", self.name, type(exc).__name__)
                return stale
            raise
        with self._lock:
            self._value, self._fetched_at, self._flight = value, time.monotonic(), None
            self._failed_at = float("-inf")
        flight.value = value
        flight.done.set()
        return value


@dataclass(frozen=True)
class SigningKey:
    """A published public key and the algorithms it may verify: its JWK's alg, else what its type allows."""

    key: Any
    algorithms: frozenset[str]


class AuthorityMetadata:
    """Lazily fetched, time-bounded caches of an authority's discovery document and its JWKS."""

    def __init__(
        self,
        discovery_url: str,
        http: requests.Session,
        ttl_seconds: float | None = None,
        max_stale_seconds: float = MAX_STALE_SECONDS,
        error_backoff_seconds: float = ERROR_BACKOFF_SECONDS,
    ):
        self.url = discovery_url
        self.http = http
        call_seconds = _call_seconds(http)

        def ttl() -> float:  # TTL_SECONDS is read at call time, so that tests can shorten it
            return TTL_SECONDS if ttl_seconds is None else ttl_seconds

        self._document = SingleFlightCache(
            "discovery document",
            self._fetch_document,
            wait_seconds=call_seconds + 1,
            ttl=ttl,
            max_stale_seconds=max_stale_seconds,
            error_backoff_seconds=error_backoff_seconds,
        )
        self._keys = SingleFlightCache(
            "JWKS",
            self._fetch_keys,
            wait_seconds=2 * call_seconds + 1,  # the key fetch may need the discovery document first
            ttl=ttl,
            max_stale_seconds=max_stale_seconds,
            error_backoff_seconds=error_backoff_seconds,
        )

    def document(self) -> dict:
        """The discovery document; raises requests.RequestException or ValueError when unavailable."""
        return self._document.get()

    def signing_key(self, kid: str) -> SigningKey | None:
        """The public key for kid from the JWKS, refetching once when kid is unknown (key rotation). A token
        without a kid may only use a JWKS of one key (OIDC Core §10.1)."""
        keys = self._keys.get()
        if not kid:
            return next(iter(keys.values())) if len(keys) == 1 else None
        if kid not in keys and self._keys.seconds_since_attempt() > MIN_KEY_REFETCH_SECONDS:
            keys = self._keys.get(refresh=True)
        return keys.get(kid)

    def end_session_endpoint(self) -> str | None:
        """Where to send the browser to sign out at the authority, or None if it cannot be found."""
        try:
            endpoint = self.document().get("end_session_endpoint")
        except (requests.RequestException, ValueError) as exc:
            log.warning("discovery unavailable for sign-out: %s", type(exc).__name__)
            return None
        return endpoint if isinstance(endpoint, str) else None

    def _fetch_document(self) -> dict:
        response = self.http.get(self.url)
        response.raise_for_status()
        document = parse_json(response)
        if not isinstance(document, dict):
            raise ValueError("discovery document is not a JSON object")
        return document

    def _fetch_keys(self) -> dict:
        jwks_uri = self.document().get("jwks_uri")
        if not jwks_uri or not isinstance(jwks_uri, str):
            raise ValueError("discovery document has no jwks_uri")
        response = self.http.get(jwks_uri)
        response.raise_for_status()
        jwks = parse_json(response)
        if not isinstance(jwks, dict) or not isinstance(jwks.get("keys"), list):
            raise ValueError("the JWKS is not a JSON object with a list of keys")
        if not all(isinstance(jwk, dict) for jwk in jwks["keys"]):
            raise ValueError("the JWKS lists keys that are not JSON objects")
        keys = {}
        for jwk in jwks["keys"]:
            kid = jwk.get("kid", "")  # a provider with one key may leave it out
            if not isinstance(kid, str):
                log.warning("skipping a key without a usable kid in the JWKS")
                continue
            if jwk.get("use", "sig") != "sig" or jwk.get("kty") not in ASYMMETRIC_KEY_TYPES:
                continue  # an encryption key, or a shared secret: never a signature on an ID token
            try:
                parsed = jwt.PyJWK(jwk)  # its alg, else the one its type implies (EC P-256: ES256)
                if isinstance(jwk.get("alg"), str) or parsed.key_type != "RSA":
                    keys[kid] = SigningKey(parsed.key, frozenset({parsed.algorithm_name}))
                else:
                    keys[kid] = SigningKey(parsed.key, RSA_ALGORITHMS)
            except (jwt.PyJWTError, KeyError, TypeError, ValueError):
                log.warning("skipping an unusable key in the JWKS")
        return keys


def _call_seconds(http: requests.Session) -> float:
    """How long one call on http may take: its total deadline, else its connect + read timeouts."""
    total = getattr(http, "total_timeout", None)
    if isinstance(total, (int, float)):
        return float(total)
    default = getattr(http, "default_timeout", None)
    if isinstance(default, tuple):
        return float(sum(default))
    return 10.0
