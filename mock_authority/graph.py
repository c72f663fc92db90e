"""Microsoft Graph endpoints: /v1.0/me, /v1.0/users, /v1.0/users/{id|upn}, and the OIDC UserInfo endpoint."""

from __future__ import annotations

import base64
import binascii
import json
import urllib.parse
import uuid

import jwt
from flask import Blueprint, Response, request

from . import tokens
from .conditional_access import check_graph_token
from .errors import GraphError
from .keys import b64url
from .runtime import current_state, current_urls
from .users import DemoUser

bp = Blueprint("graph", __name__)

# Default properties of a user, in Graph's order (reference section 8).
USER_PROPERTIES = (
    "businessPhones",
    "displayName",
    "givenName",
    "jobTitle",
    "mail",
    "mobilePhone",
    "officeLocation",
    "preferredLanguage",
    "surname",
    "userPrincipalName",
    "id",
)
_PROPERTY_BY_LOWER = {name.lower(): name for name in USER_PROPERTIES}
# Delegated permissions that let a user read a directory user (least privilege first).
USERS_SCOPES = frozenset(
    {"User.ReadBasic.All", "User.Read.All", "User.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"}
)
ME_SCOPES = USERS_SCOPES | {"User.Read", "User.ReadWrite"}
DEFAULT_PAGE_SIZE = 100
GRAPH_AUDIENCES = (tokens.GRAPH_APP_ID, "https://graph.microsoft.com")
SKIPTOKEN_PREFIX = "mockskip:"
UNSUPPORTED_OPTIONS = ("$filter", "$search", "$orderby", "$count", "$expand")


def user_json(user: DemoUser) -> dict[str, object]:
    """A user's default Graph properties; unset values are null, businessPhones is a list."""
    return {
        "businessPhones": list(user.business_phones),
        "displayName": user.name,
        "givenName": user.given_name,
        "jobTitle": user.job_title,
        "mail": user.mail,
        "mobilePhone": user.mobile_phone,
        "officeLocation": user.office_location,
        "preferredLanguage": user.preferred_language,
        "surname": user.surname,
        "userPrincipalName": user.upn,
        "id": user.oid,
    }


def _ok(body: dict[str, object]) -> Response:
    request_id = str(uuid.uuid4())
    response = Response(
        json.dumps(body),
        status=200,
        content_type="application/json;odata.metadata=minimal;odata.streaming=true;"
        "IEEE754Compatible=false;charset=utf-8",
    )
    response.headers["request-id"] = request_id
    response.headers["client-request-id"] = request.headers.get("client-request-id") or request_id
    response.headers["OData-Version"] = "4.0"
    return response


def _authorize(allowed: frozenset[str]) -> tokens.Claims:
    """Validate the bearer token (RS256, aud, exp on the mock clock) and its scp; returns its claims."""
    state = current_state()
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise GraphError(401, message="Access token is empty.")
    try:
        header = jwt.get_unverified_header(token)
        key = next((k for k in state.published_keys() if k.kid == header.get("kid")), None)
        if key is None:
            raise GraphError(401, message="Access token validation failure. Unknown signing key.")
        # Lifetimes are checked below against the injected clock, not PyJWT's wall clock. The token was signed
        # with its header nonce hashed (tokens.sign_graph_token): Graph alone verifies it, hashing it back.
        claims = jwt.decode(
            tokens.graph_signing_input(token),
            key.public_key,
            algorithms=["RS256"],
            options={
                "verify_aud": False,
                "verify_exp": False,
                "verify_nbf": False,
                "verify_iat": False,
                "verify_iss": False,
            },
        )
    except (jwt.PyJWTError, ValueError):
        raise GraphError(401, message="IDX14100: JWT is not well formed or its signature is invalid.") from None
    if claims.get("aud") not in GRAPH_AUDIENCES:
        raise GraphError(401, message="Access token validation failure. Invalid audience.")
    # Graph accepts tokens of any tenant's users (guests and multi-tenant apps), if iss and tid agree.
    if claims.get("iss") != current_urls().issuer_for(str(claims.get("tid")), "1.0"):
        raise GraphError(401, message="Access token validation failure. Invalid issuer.")
    now = state.now()
    if not isinstance(claims.get("exp"), int) or claims["exp"] <= now:
        raise GraphError(401, message="Lifetime validation failed, the token is expired.")
    if isinstance(claims.get("nbf"), int) and claims["nbf"] > now + 300:
        raise GraphError(401, message="Lifetime validation failed, the token is not yet valid.")
    check_graph_token(claims)  # CAE
    if not set(str(claims.get("scp", "")).split()) & allowed:
        raise GraphError(403)
    return claims


def _parse_select(
    properties_by_lower: dict[str, str] | None = None, type_name: str = "microsoft.graph.user"
) -> list[str] | None:
    """$select as canonical property names of the type (None: no $select); users' unless told otherwise."""
    raw = request.args.get("$select")
    if raw is None:
        return None
    known = _PROPERTY_BY_LOWER if properties_by_lower is None else properties_by_lower
    names: list[str] = []
    for part in (p.strip() for p in raw.split(",")):
        name = known.get(part.lower())
        if name is None:
            raise GraphError(
                400, "Request_BadRequest", f"Could not find a property named '{part}' on type '{type_name}'."
            )
        if name not in names:
            names.append(name)
    return names


def _context(select: list[str] | None, entity: bool) -> str:
    base = f"{request.host_url.rstrip('/')}/v1.0/$metadata#users"
    if select:
        base += f"({','.join(select)})"
    return base + ("/$entity" if entity else "")


def _project(user: DemoUser, select: list[str] | None) -> dict[str, object]:
    data = user_json(user)
    return {k: data[k] for k in select} if select else data


def _single(user: DemoUser, select: list[str] | None) -> Response:
    return _ok({"@odata.context": _context(select, entity=True), **_project(user, select)})


@bp.get("/v1.0/me", endpoint="graph_me")
def me() -> Response:
    """The signed-in user."""
    claims = _authorize(ME_SCOPES)
    select = _parse_select()
    user = current_state().find_user(claims.get("oid", ""))
    if user is None:
        raise GraphError(
            404,
            message=f"Resource '{claims.get('oid')}' does not exist or one of its queried "
            "reference-property objects are not present.",
        )
    return _single(user, select)


@bp.get("/v1.0/users/<path:key>", endpoint="graph_user")
def user(key: str) -> Response:
    """One user by object id or userPrincipalName."""
    _authorize(USERS_SCOPES)
    select = _parse_select()
    found = current_state().find_user(key)
    if found is None:
        raise GraphError(
            404,
            message=f"Resource '{key}' does not exist or one of its queried reference-property "
            "objects are not present.",
        )
    return _single(found, select)


@bp.get("/v1.0/users", endpoint="graph_users")
def users() -> Response:
    """The directory, paged with $top and @odata.nextLink ($skiptoken)."""
    _authorize(USERS_SCOPES)
    args = request.args
    if "$skip" in args:
        raise GraphError(400, "Request_BadRequest", "'$skip' is not supported by the service.")
    for option in UNSUPPORTED_OPTIONS:
        if option in args:
            raise GraphError(400, "Request_UnsupportedQuery", f"The mock does not support the query option '{option}'.")
    top = args.get("$top")
    if top is not None and not (top.isdigit() and 1 <= int(top) <= 999):
        raise GraphError(
            400, "Request_BadRequest", f"Invalid page size specified: '{top}'. Must be between 1 and 999 inclusive."
        )
    size = int(top) if top is not None else DEFAULT_PAGE_SIZE
    offset = _parse_skiptoken(args.get("$skiptoken"))
    select = _parse_select()
    everyone = current_state().users
    body: dict[str, object] = {"@odata.context": _context(select, entity=False)}
    if offset + size < len(everyone):
        body["@odata.nextLink"] = _next_link(offset + size)
    body["value"] = [_project(u, select) for u in everyone[offset : offset + size]]
    return _ok(body)


def _parse_skiptoken(token: str | None) -> int:
    if token is None:
        return 0
    try:
        padded = token + "=" * (-len(token) % 4)
        raw = base64.urlsafe_b64decode(padded).decode()
        if raw.startswith(SKIPTOKEN_PREFIX):
            return int(raw[len(SKIPTOKEN_PREFIX) :])
    except (ValueError, binascii.Error, UnicodeDecodeError):
        pass
    raise GraphError(400, "Request_BadRequest", "The specified page token value has expired or is invalid.")


def _next_link(offset: int) -> str:
    """Keep every other query option; Graph writes the $ names unescaped."""
    kept = [(k, v) for k, v in request.args.items(multi=True) if k != "$skiptoken"]
    kept.append(("$skiptoken", b64url(f"{SKIPTOKEN_PREFIX}{offset}".encode())))
    query = "&".join(f"{k}={urllib.parse.quote(v, safe=',')}" for k, v in kept)
    return f"{request.base_url}?{query}"


@bp.route("/oidc/userinfo", methods=["GET", "POST"], endpoint="userinfo")
def userinfo() -> Response:
    """OIDC UserInfo (Graph-hosted in Entra): needs an access token with the openid scope."""
    claims = _authorize(frozenset({"openid"}))
    found = current_state().find_user(claims.get("oid", ""))
    if found is None:
        raise GraphError(404)
    info = {
        "sub": tokens.pairwise_sub(found.oid, claims.get("appid", ""), current_state().config.tenant_id),
        "name": found.name,
        "family_name": found.surname,
        "given_name": found.given_name,
        "email": found.mail,
    }
    return Response(json.dumps(info), 200, content_type="application/json; charset=utf-8")
