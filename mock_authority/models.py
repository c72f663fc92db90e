"""The records a running mock keeps: registered apps, requests, codes, refresh grants, log entries."""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from .tenants import MULTIPLE_ORGS


@dataclass(frozen=True)
class Client:
    """A registered app: its id, secret, redirect URIs, (optional) front-channel logout URL, signInAudience."""

    client_id: str
    client_secret: str
    redirect_uris: tuple[str, ...]
    frontchannel_logout_uri: str | None = None
    sign_in_audience: str = MULTIPLE_ORGS
    group_membership_claims: str | None = None  # the manifest's groupMembershipClaims (None: no groups claim)

    def secret_matches(self, candidate: str) -> bool:
        """Constant-time secret comparison."""
        return hmac.compare_digest(candidate.encode(), self.client_secret.encode())

    def public(self) -> dict:
        """The registration without its secret (for the control API's listing)."""
        return {
            "client_id": self.client_id,
            "redirect_uris": list(self.redirect_uris),
            "frontchannel_logout_uri": self.frontchannel_logout_uri,
            "sign_in_audience": self.sign_in_audience,
            "group_membership_claims": self.group_membership_claims,
        }


@dataclass(frozen=True)
class RequestRecord:
    """One logged request; holds no secrets, codes, tokens or verifiers by construction."""

    endpoint: str
    method: str
    path: str
    status: int
    time: float
    grant_type: str | None = None
    client_id: str | None = None
    client_request_id: str | None = None


@dataclass(frozen=True)
class PendingAuthorization:
    """A validated authorize request waiting for the user to pick an account (Entra's ctx)."""

    client_id: str
    redirect_uri: str
    scopes: tuple[str, ...]
    state: str | None
    nonce: str | None
    code_challenge: str
    client_info: bool
    login_hint: str | None
    tenant: str
    expires_at: float
    policy: str | None = None  # the B2C user flow of the authority path, as spelled there
    prompt: str | None = None
    max_age: int | None = None  # seconds: the ID token then carries auth_time
    consent_for: str | None = None  # the account picked, once its consent page is shown


@dataclass
class AuthCode:
    """An issued authorization code; redeemed flips on first presentation."""

    client_id: str
    redirect_uri: str
    scopes: tuple[str, ...]
    nonce: str | None
    code_challenge: str
    user_oid: str
    sid: str
    expires_at: float
    tenant: str = ""  # the authority path's tenant segment it was issued at (redeemed only there: AADSTS700005)
    policy: str | None = None  # the B2C user flow that issued it
    auth_time: int | None = None  # when the user last authenticated, if max_age asked for it
    redeemed: bool = False


@dataclass(frozen=True)
class RefreshGrant:
    """What a refresh token stands for: user, client, consented scopes, session, expiry."""

    user_oid: str
    client_id: str
    scopes: tuple[str, ...]
    sid: str
    expires_at: float
    policy: str | None = None  # B2C: the user flow whose tokens it refreshes
