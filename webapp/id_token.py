"""ID-token validation, done before any token reaches the session.

Since msal 1.38 token acquisition only decodes the ID token and checks its nonce; identity checks only `exp`.
The signature, audience, issuer, lifetime and tenant are the application's job
(https://learn.microsoft.com/entra/identity-platform/id-tokens#validate-tokens; OIDC Core §3.1.3.7). Each
authority kind has its issuer rule and algorithms (authorities.py).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

import jwt
import msal
import requests

from .authorities import Authority, IssuerMismatch
from .errors import IdTokenRejected

log = logging.getLogger(__name__)

CLOCK_SKEW = 120  # seconds of leeway for exp/nbf/iat between us and the authority
GUID = re.compile(r"^[0-9a-f]{8}-([0-9a-f]{4}-){3}[0-9a-f]{12}$")
# Token-response fields that say what was granted, never a token (the sign-in trace shows them).
RESPONSE_FACTS = ("token_type", "expires_in", "ext_expires_in", "scope")


@dataclass
class Recording:
    """What one validation saw, for the sign-in trace: each passed check, and the token response's fields."""

    checks: list[tuple[str, str]] = field(default_factory=list)  # (check, what was compared)
    response_fields: list[str] = field(default_factory=list)  # names only
    response: dict[str, Any] = field(default_factory=dict)  # RESPONSE_FACTS only
    token_endpoint: str = ""
    grant_type: str = ""
    sent_code_verifier: bool = False


_recording: ContextVar[Recording | None] = ContextVar("id_token_recording", default=None)


@contextmanager
def recording() -> Iterator[Recording]:
    """Record what the validations in this context (this request's thread) check; nothing is recorded outside."""
    record = Recording()
    reset = _recording.set(record)
    try:
        yield record
    finally:
        _recording.reset(reset)


class IdTokenValidator:
    """Checks signature (authority's JWKS), aud, iss (the authority kind's rule), times and, for Microsoft's
    multi-tenant authorities, the tenant."""

    def __init__(self, metadata: Any, client_id: str, allowed_tenants: Iterable[str] = (), *, authority: Authority):
        self._metadata = metadata
        self._client_id = client_id
        self._allowed_tenants = {tenant.lower() for tenant in allowed_tenants}
        self._authority = authority

    def validate(self, id_token: str) -> dict:
        """Return the verified claims, or raise IdTokenRejected."""
        try:
            header = jwt.get_unverified_header(id_token)
            unverified = jwt.decode(id_token, options={"verify_signature": False})
        except (jwt.PyJWTError, RecursionError):  # json raises RecursionError for a header or payload nested deep
            raise IdTokenRejected("the ID token is not a well-formed JWT") from None
        algorithm = header.get("alg")
        if algorithm not in self._authority.allowed_algorithms:
            raise IdTokenRejected(f"unexpected signing algorithm {str(algorithm)[:20]!r}")
        tenant = str(unverified.get("tid", "")).lower()
        if self._authority.microsoft_tenant_claims and not GUID.match(tenant):
            raise IdTokenRejected("the ID token has no valid tenant id (tid)")
        try:
            key = self._metadata.signing_key(str(header.get("kid", "")))
            document = self._metadata.document()
        except (requests.RequestException, ValueError) as exc:
            raise IdTokenRejected(
                f"the authority's signing keys are unavailable ({type(exc).__name__})", error="authority_unreachable"
            ) from None
        if key is None:
            raise IdTokenRejected("the ID token was signed with a key the authority does not publish")
        if algorithm not in self._authority.algorithms(document):
            raise IdTokenRejected(f"the authority does not sign ID tokens with {algorithm}")
        if algorithm not in key.algorithms:
            raise IdTokenRejected(f"the ID token's key is not for {algorithm}")
        try:
            issuer = self._authority.expected_issuer(document, tenant)
        except IssuerMismatch as mismatch:
            raise IdTokenRejected(str(mismatch), error="authority_misconfigured") from None
        try:
            claims = jwt.decode(
                id_token,
                key.key,
                algorithms=[str(algorithm)],
                audience=self._client_id,
                issuer=issuer,
                leeway=CLOCK_SKEW,
                options={"require": ["exp", "iat", "aud", "iss", "sub"]},
            )
        except jwt.InvalidSignatureError:
            raise IdTokenRejected("the ID token's signature is invalid") from None
        except jwt.InvalidAudienceError:
            raise IdTokenRejected("the ID token was issued for another application (aud)") from None
        except jwt.InvalidIssuerError:
            raise IdTokenRejected("the ID token was issued by an unexpected issuer (iss)") from None
        except jwt.ExpiredSignatureError:
            raise IdTokenRejected("the ID token has expired") from None
        except jwt.ImmatureSignatureError:
            raise IdTokenRejected("the ID token is not valid yet (nbf/iat in the future)") from None
        except jwt.PyJWTError as exc:
            raise IdTokenRejected(f"the ID token is invalid ({type(exc).__name__})") from None
        self._check_authorized_party(claims)
        # Only Microsoft's authorities have tenants (B2C's and others' are their issuer); personal accounts are the
        # tenant MSA_TENANT, so an ALLOWED_TENANTS without it refuses them.
        if self._allowed_tenants and tenant not in self._allowed_tenants:
            raise IdTokenRejected(f"users from tenant {tenant} may not sign in to this app", error="tenant_not_allowed")
        if (record := _recording.get()) is not None:
            record.checks = self._passed(header, claims, tenant)
        return claims

    def _passed(self, header: dict, claims: dict, tenant: str) -> list[tuple[str, str]]:
        """The checks validate just passed, each with what it compared (claims' values, never the token)."""
        tenants = ", ".join(sorted(self._allowed_tenants)) if self._allowed_tenants else "any"
        return [
            ("signature", f"{header.get('alg')}, by the published key {header.get('kid')}"),
            ("aud", "this app's client id"),
            ("iss", "the expected issuer (the discovery document's, for the token's tenant)"),
            ("exp/nbf/iat", f"now, within {CLOCK_SKEW} s of clock skew"),
            ("azp", "this app" if claims.get("azp") else "absent, one audience"),
            ("tenant", f"{tenant or 'none'}, allowed: {tenants}"),
        ]

    def _check_authorized_party(self, claims: dict) -> None:
        """OIDC Core 3.1.3.7 (3-5): several audiences need azp, and azp, when present, must be this app."""
        audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
        azp = claims.get("azp")
        if set(audiences) != {self._client_id} and azp is None:
            raise IdTokenRejected("the ID token is also issued for other applications (aud) and has no azp")
        if azp is not None and azp != self._client_id:
            raise IdTokenRejected("the ID token was issued to another application (azp)")


class ValidatingTokenCache(msal.SerializableTokenCache):
    """An MSAL token cache that refuses a token response whose ID token does not validate."""

    def __init__(
        self, validator: IdTokenValidator, on_rejected_refresh: Callable[[str], None] = lambda refresh_token: None
    ):
        super().__init__()
        self._validator = validator
        self._on_rejected_refresh = on_rejected_refresh

    def add(self, event: dict, **kwargs: Any) -> None:
        if (record := _recording.get()) is not None:
            response = event.get("response") or {}
            record.response_fields = sorted(response)
            record.response = {name: response[name] for name in RESPONSE_FACTS if name in response}
            record.token_endpoint = str(event.get("token_endpoint") or "")
            record.grant_type = str(event.get("grant_type") or "")
            record.sent_code_verifier = "code_verifier" in (event.get("data") or {})
        id_token = (event.get("response") or {}).get("id_token")
        if id_token:
            try:
                self._validator.validate(id_token)
            except IdTokenRejected:
                refresh_token = (event.get("data") or {}).get("refresh_token")
                if refresh_token:  # an answer to a refresh: it must not be shared with other requests
                    self._on_rejected_refresh(refresh_token)
                raise
        super().add(event, **kwargs)
