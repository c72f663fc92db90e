"""The demo web API registered in the mock's B2C tenant (b2c.DEMO_API), at /b2c-demo-api/hello: what an app calls
as ENDPOINT with a B2C access token (Graph accepts none). Like any API protected by B2C it validates the bearer
token (RS256 with the tenant's published keys, B2C's issuer, its own client id as aud, exp and nbf on the mock's
clock) and needs one of its scopes in scp, answering with RFC 6750's challenges otherwise (section 3.1: no error
code when the request carries no token; invalid_token, or insufficient_scope with 403)."""

from __future__ import annotations

import jwt
from flask import Blueprint, Response, abort, request

from .b2c import DEMO_API
from .errors import json_response
from .runtime import current_state, current_urls
from .tokens import Claims

bp = Blueprint("b2c_api", __name__)
PATH = "/b2c-demo-api/hello"
CLOCK_SKEW = 300  # seconds of nbf leeway, as Microsoft's token validators allow


def _refuse(status: int, error: str | None, description: str) -> Response:
    challenge = f'Bearer error="{error}", error_description="{description}"' if error else "Bearer"
    response = json_response({"error": error or "unauthorized", "error_description": description}, status)
    response.headers["WWW-Authenticate"] = challenge
    return response


def _invalid(description: str) -> Response:
    return _refuse(401, "invalid_token", description)


def _validated_claims() -> Claims:
    """The bearer token's claims once it is valid for this API, else abort with the challenge."""
    state = current_state()
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        abort(_refuse(401, None, "The request carries no bearer token."))
    try:
        kid = jwt.get_unverified_header(token).get("kid")
        key = next((k for k in state.published_keys() if k.kid == kid), None)
        if key is None:
            abort(_invalid("The token is signed with an unknown key."))
        claims: Claims = jwt.decode(
            token,
            key.public_key,
            algorithms=["RS256"],
            audience=DEMO_API.client_id,
            issuer=current_urls().b2c_issuer(state.config.tenant_id),
            # Lifetimes are checked below against the mock's clock, not PyJWT's wall clock.
            options={"verify_exp": False, "verify_nbf": False, "verify_iat": False, "require": ["exp"]},
        )
    except jwt.InvalidAudienceError:
        abort(_invalid("The token is not for this API (aud)."))
    except jwt.InvalidIssuerError:
        abort(_invalid("The token is not from this B2C tenant (iss)."))
    except jwt.PyJWTError:
        abort(_invalid("The token is malformed or its signature is invalid."))
    now = state.now()
    if not isinstance(claims["exp"], int) or claims["exp"] <= now:
        abort(_invalid("The token is expired."))
    if isinstance(claims.get("nbf"), int) and claims["nbf"] > now + CLOCK_SKEW:
        abort(_invalid("The token is not yet valid."))
    if not set(str(claims.get("scp", "")).split()) & set(DEMO_API.scopes):
        abort(_refuse(403, "insufficient_scope", f"The token needs the scope {DEMO_API.scopes[0]}."))
    return claims


@bp.get(PATH, endpoint="b2c_demo_api")
def hello() -> Response:
    """Who called, as the access token says."""
    claims = _validated_claims()
    return json_response(
        {
            "message": f"Hello, {claims.get('name')}",
            "name": claims.get("name"),
            "oid": claims.get("oid"),
            "sub": claims.get("sub"),
            "scopes": str(claims.get("scp", "")).split(),
            "user_flow": claims.get("tfp"),
            "client_id": claims.get("azp"),
        }
    )
