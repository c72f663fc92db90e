"""Azure AD B2C: user flows under https://<host>/<tenant>.onmicrosoft.com/<user_flow>, their discovery document,
ID tokens (tfp, emails, sub = object id), access tokens for the tenant's demo web API (DEMO_API) and B2C's errors
(AADB2C90118 forgot password, 90091 cancel, 90117 a scope B2C does not know, such as Graph's).

Sources: https://learn.microsoft.com/azure/active-directory-b2c/tokens-overview (claims, issuer with a trailing
slash), .../b2clogin (endpoints), .../add-password-reset-policy (AADB2C90118 is sent back to the app when self-service
password reset is not part of the sign-in flow), .../error-codes, .../access-tokens (scopes are
https://<tenant>.onmicrosoft.com/<api>/<scope>; the access token's aud is the API's client id, scp its scope names,
azp the app, ver 1.0); AADB2C90091's and 90117's wording is from public threads.
User-flow names are case-insensitive; B2C writes them lower-cased in its endpoints.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from flask import abort, redirect
from werkzeug.routing import BaseConverter
from werkzeug.wrappers import Response as BaseResponse

from .errors import TOKEN_HEADERS, correlation_id, json_response, with_query
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
UNSUPPORTED_SCOPE = "AADB2C90117: The scope '{scope}' provided in the request is not supported."
CLAIMS_SUPPORTED = ["name", "emails", "oid", "idp", "tfp", "iss", "iat", "exp", "aud", "acr", "nonce", "auth_time"]


@dataclass(frozen=True)
class WebApi:
    """A web API registered in the B2C tenant, its scopes exposed and granted to the tenant's apps (admin consent)."""

    name: str  # the last segment of its App ID URI, https://<tenant>.onmicrosoft.com/<name>
    client_id: str  # the aud of its access tokens
    scopes: tuple[str, ...]

    def scope(self, tenant_domain: str, name: str | None = None) -> str:
        """The full scope an app requests, e.g. https://<tenant>.onmicrosoft.com/demo-api/demo.read."""
        return f"https://{tenant_domain}/{self.name}/{name or self.scopes[0]}"


# An obviously fake client id: the API exists only in the mock (b2c_api serves it).
DEMO_API = WebApi("demo-api", "b2c0de00-0000-4000-8000-0000000000a1", ("demo.read",))


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


def api_scopes(requested: Iterable[str], tenant_domain: str, now: float) -> tuple[str, ...]:
    """The requested non-OpenID scopes, each one of DEMO_API's (as sent); any other, a Graph scope included, is
    B2C's invalid_scope AADB2C90117 (B2C issues access tokens only for its tenant's own APIs)."""
    known = {DEMO_API.scope(tenant_domain, name).lower() for name in DEMO_API.scopes}
    for scope in requested:
        if scope.lower() not in known:
            body = {
                "error": "invalid_scope",
                "error_description": _description(UNSUPPORTED_SCOPE.format(scope=scope), now),
            }
            abort(json_response(body, 400, TOKEN_HEADERS))
    return tuple(requested)


def access_token_claims(
    *,
    now: float,
    lifetime: float,
    issuer: str,
    client_id: str,
    user: DemoUser,
    nonce: str | None,
    flow: UserFlow,
    scopes: Iterable[str],
) -> Claims:
    """A B2C access token for DEMO_API (ver 1.0): aud the API, scp the scopes' names, azp the app, tfp the flow."""
    iat = int(now)
    claims: Claims = {
        "iss": issuer,
        "exp": iat + int(lifetime),
        "nbf": iat,
        "aud": DEMO_API.client_id,
        "oid": user.oid,
        "sub": user.oid,
        "name": user.name,
        "tfp": flow.name,
        "acr": flow.name.lower(),
        "scp": " ".join(scope.rsplit("/", 1)[1] for scope in scopes),
        "azp": client_id,
        "ver": "1.0",
        "iat": iat,
    }
    if nonce is not None:
        claims["nonce"] = nonce
    return claims


def b2c_client_info(oid: str, flow: UserFlow, tenant_id: str) -> str:
    """B2C's client_info: uid is "<oid>-<policy>" (lower-cased), so each flow is its own msal account."""
    return client_info(f"{oid}-{flow.name.lower()}", tenant_id)


def token_body(
    *,
    id_token: str | None,
    refresh_token: str | None,
    access_token: str | None,
    scopes: Iterable[str],
    lifetime: int,
    access_token_lifetime: int,
    now: float,
) -> dict[str, object]:
    """A B2C token response; an access token only when an API's scopes were granted (never for OIDC's alone)."""
    body: dict[str, object] = {
        "token_type": "Bearer",
        "not_before": int(now),
        "id_token_expires_in": lifetime,
        "scope": " ".join(scopes),
    }
    if access_token is not None:
        body |= {
            "access_token": access_token,
            "expires_in": access_token_lifetime,
            "expires_on": int(now) + access_token_lifetime,
            "resource": DEMO_API.client_id,
        }
    if id_token is not None:
        body["id_token"] = id_token
    if refresh_token is not None:
        body["refresh_token"] = refresh_token
    return body


def error_redirect(redirect_uri: str, state: str | None, text: str, now: float) -> BaseResponse:
    """B2C's error redirect: access_denied, the AADB2C text with its correlation id and timestamp lines."""
    params = {"error": "access_denied", "error_description": _description(text, now), "state": state}
    return redirect(with_query(redirect_uri, params), 302)


def _description(text: str, now: float) -> str:
    """B2C's error_description: the AADB2C text, then its correlation id and timestamp lines."""
    stamp = datetime.datetime.fromtimestamp(now, datetime.UTC).strftime("%Y-%m-%d %H:%M:%SZ")
    return f"{text}\r\nCorrelation ID: {correlation_id()}\r\nTimestamp: {stamp}\r\n"
