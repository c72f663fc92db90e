"""Azure AD B2C: user flows under https://<host>/<tenant>.onmicrosoft.com/<user_flow>, their discovery document,
ID tokens (tfp, emails, sub = object id) and B2C's error redirects (AADB2C90118 forgot password, 90091 cancel).

Sources: https://learn.microsoft.com/azure/active-directory-b2c/tokens-overview (claims, issuer with a trailing
slash), .../b2clogin (endpoints), .../add-password-reset-policy (AADB2C90118 is sent back to the app when self-service
password reset is not part of the sign-in flow), .../error-codes; AADB2C90091's wording is from public threads.
User-flow names are case-insensitive; B2C writes them lower-cased in its endpoints.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from flask import redirect
from werkzeug.routing import BaseConverter
from werkzeug.wrappers import Response as BaseResponse

from .errors import correlation_id, with_query
from .tokens import Claims, client_info
from .users import DemoUser

FlowKind = Literal["signupsignin", "profileediting", "passwordreset"]


@dataclass(frozen=True)
class UserFlow:
    name: str  # as registered: the tfp claim
    kind: FlowKind


SIGN_UP_SIGN_IN = UserFlow("B2C_1_signupsignin1", "signupsignin")
PROFILE_EDITING = UserFlow("B2C_1_profileediting1", "profileediting")
PASSWORD_RESET = UserFlow("B2C_1_passwordreset1", "passwordreset")
USER_FLOWS = {flow.name.lower(): flow for flow in (SIGN_UP_SIGN_IN, PROFILE_EDITING, PASSWORD_RESET)}

FORGOT_PASSWORD = "AADB2C90118: The user has forgotten their password."
CANCELLED = "AADB2C90091: The user has cancelled entering self-asserted information."
CLAIMS_SUPPORTED = ["name", "emails", "oid", "idp", "tfp", "iss", "iat", "exp", "aud", "acr", "nonce", "auth_time"]


class PolicyConverter(BaseConverter):
    """A path segment naming a B2C policy (user flows B2C_1_…, custom policies B2C_1A_…), any case."""

    regex = r"[Bb]2[Cc]_1[Aa]?_[^/]+"


def user_flow(policy: str) -> UserFlow | None:
    """The registered user flow a path's policy segment names (case-insensitive), or None."""
    return USER_FLOWS.get(policy.lower())


def discovery_document(back: str, front: str, issuer: str) -> dict[str, object]:
    """B2C's metadata: every endpoint under the (lower-cased) policy path, the issuer with its trailing slash."""
    return {
        "issuer": issuer,
        "authorization_endpoint": f"{front}/oauth2/v2.0/authorize",
        "token_endpoint": f"{back}/oauth2/v2.0/token",
        "end_session_endpoint": f"{front}/oauth2/v2.0/logout",
        "jwks_uri": f"{back}/discovery/v2.0/keys",
        # The mock implements only the query response mode and the code flow.
        "response_modes_supported": ["query"],
        "response_types_supported": ["code"],
        "scopes_supported": ["openid"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
        "claims_supported": CLAIMS_SUPPORTED,
    }


def id_token_claims(
    *, now: float, lifetime: float, issuer: str, client_id: str, user: DemoUser, nonce: str | None, flow: UserFlow
) -> Claims:
    """A B2C ID token (ver 1.0): sub is the object id, emails a list, tfp (and acr, its legacy twin) the flow."""
    iat = int(now)
    claims: Claims = {
        "exp": iat + int(lifetime),
        "nbf": iat,
        "ver": "1.0",
        "iss": issuer,
        "sub": user.oid,
        "aud": client_id,
        "iat": iat,
        "auth_time": iat,
        "oid": user.oid,
        "name": user.name,
        "given_name": user.given_name,
        "family_name": user.surname,
        "emails": [user.mail or user.upn],
        "tfp": flow.name,
        "acr": flow.name.lower(),
    }
    if nonce is not None:
        claims["nonce"] = nonce
    return {k: v for k, v in claims.items() if v is not None}


def b2c_client_info(oid: str, flow: UserFlow, tenant_id: str) -> str:
    """B2C's client_info: uid is "<oid>-<policy>" (lower-cased), so each flow is its own msal account."""
    return client_info(f"{oid}-{flow.name.lower()}", tenant_id)


def token_body(
    *, id_token: str | None, refresh_token: str | None, scopes: Iterable[str], lifetime: int, now: float
) -> dict[str, object]:
    """A B2C token response for OIDC scopes only: no access token (B2C issues one only for an API's scopes)."""
    body: dict[str, object] = {
        "token_type": "Bearer",
        "not_before": int(now),
        "id_token_expires_in": lifetime,
        "scope": " ".join(scopes),
    }
    if id_token is not None:
        body["id_token"] = id_token
    if refresh_token is not None:
        body["refresh_token"] = refresh_token
    return body


def error_redirect(redirect_uri: str, state: str | None, text: str, now: float) -> BaseResponse:
    """B2C's error redirect: access_denied, the AADB2C text with its correlation id and timestamp lines."""
    stamp = datetime.datetime.fromtimestamp(now, datetime.UTC).strftime("%Y-%m-%d %H:%M:%SZ")
    description = f"{text}\r\nCorrelation ID: {correlation_id()}\r\nTimestamp: {stamp}\r\n"
    params = {"error": "access_denied", "error_description": description, "state": state}
    return redirect(with_query(redirect_uri, params), 302)
