"""Token contents: scopes, ID token (v2.0) and Graph access token (v1 shape), and the ID-token defects."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import uuid
from collections.abc import Iterable
from typing import Any

from .keys import SigningKey, b64url
from .users import DemoUser

GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"
GRAPH_RESOURCE = "https://graph.microsoft.com/"
OIDC_SCOPES = frozenset({"openid", "profile", "offline_access", "email"})
# A JWT payload: JSON values, as PyJWT encodes and decodes them.
Claims = dict[str, Any]


def split_scopes(value: str | None) -> list[str]:
    """A space-separated scope parameter as a list, order kept, duplicates dropped."""
    seen: list[str] = []
    for scope in (value or "").split():
        if scope not in seen:
            seen.append(scope)
    return seen


def resource_scopes(scopes: Iterable[str]) -> tuple[str, ...]:
    """The non-OIDC scopes, in the form the client sent them."""
    return tuple(s for s in scopes if s.lower() not in OIDC_SCOPES)


def pairwise_sub(oid: str, audience: str, tenant_id: str) -> str:
    """A stable per-app subject, like Entra's pairwise sub (43 base64url chars)."""
    return b64url(hashlib.sha256(f"{oid}|{audience}|{tenant_id}".encode()).digest())


def client_info(oid: str, tenant_id: str) -> str:
    """Unpadded base64url of {"uid","utid"} (section 6)."""
    return b64url(json.dumps({"uid": oid, "utid": tenant_id}, separators=(",", ":")).encode())


def login_hint(oid: str, tenant_id: str) -> str:
    """The ID token's opaque login_hint claim (what an app sends back as logout_hint)."""
    return b64url(f"mock-login-hint|{oid}|{tenant_id}".encode())


def _opaque(n: int = 24) -> str:
    return secrets.token_urlsafe(n)


def id_token_claims(
    *,
    now: float,
    lifetime: float,
    issuer: str,
    client_id: str,
    tenant_id: str,
    user: DemoUser,
    nonce: str | None,
    sid: str,
    scopes: Iterable[str],
) -> Claims:
    """Claims of a v2.0 ID token (section 5)."""
    iat = int(now)
    claims: Claims = {
        "aud": client_id,
        "iss": issuer,
        "iat": iat,
        "nbf": iat,
        "exp": iat + int(lifetime),
        "aio": _opaque(),
        "login_hint": login_hint(user.oid, tenant_id),
        "name": user.name,
        "oid": user.oid,
        "preferred_username": user.preferred_username,
        "rh": "1.A" + _opaque(16) + ".",
        "sid": sid,
        "sub": pairwise_sub(user.oid, client_id, tenant_id),
        "tid": tenant_id,
        "uti": _opaque(16),
        "ver": "2.0",
    }
    if nonce is not None:
        claims["nonce"] = nonce
    if "email" in {s.lower() for s in scopes} and user.mail:
        claims["email"] = user.mail
    return claims


def access_token_claims(
    *, now: float, lifetime: float, sts_issuer: str, client_id: str, tenant_id: str, user: DemoUser, scp: str
) -> Claims:
    """Claims of a Graph access token in the v1 shape Graph receives (section 6)."""
    iat = int(now)
    return {
        "aud": GRAPH_APP_ID,
        "iss": sts_issuer,
        "iat": iat,
        "nbf": iat,
        "exp": iat + int(lifetime),
        "acct": 0,
        "aio": _opaque(),
        "amr": ["pwd"],
        "app_displayname": "mock-authority client",
        "appid": client_id,
        "appidacr": "1",
        "family_name": user.surname,
        "given_name": user.given_name,
        "idtyp": "user",
        "ipaddr": "127.0.0.1",
        "name": user.name,
        "oid": user.oid,
        "platf": "3",
        "rh": "1.A" + _opaque(16) + ".",
        "scp": scp,
        "sid": str(uuid.uuid4()),
        "sub": pairwise_sub(user.oid, GRAPH_APP_ID, tenant_id),
        "tid": tenant_id,
        "unique_name": user.upn,
        "upn": user.upn,
        "uti": _opaque(16),
        "ver": "1.0",
    }


def apply_id_token_fault(kind: str, claims: Claims, lifetime: float) -> Claims:
    """Return a copy of ID-token claims with the defect a claims-level fault advertises."""
    claims = dict(claims)
    now = claims["iat"]
    if kind == "id_token_wrong_aud":
        claims["aud"] = str(uuid.uuid4())
    elif kind == "id_token_wrong_iss":
        claims["iss"] = claims["iss"].replace(claims["tid"], str(uuid.uuid4()))
    elif kind == "id_token_expired":
        # Expired by an hour: well beyond identity's 210 s skew.
        claims["exp"] = now - 3600
        claims["iat"] = claims["nbf"] = claims["exp"] - int(lifetime)
    elif kind == "id_token_not_yet_valid":
        claims["iat"] = claims["nbf"] = now + 3600
        claims["exp"] = claims["nbf"] + int(lifetime)
    elif kind == "id_token_wrong_nonce":
        claims["nonce"] = secrets.token_hex(32)
    return claims


def break_signature(token: str) -> str:
    """Alter the signature segment so it no longer verifies (still valid base64url)."""
    head, payload, signature = token.split(".")
    first = "A" if signature[0] != "A" else "B"
    return f"{head}.{payload}.{first}{signature[1:]}"


def _segment(value: dict[str, Any]) -> str:
    return b64url(json.dumps(value, separators=(",", ":")).encode())


def sign_graph_token(key: SigningKey, claims: Claims, headers: dict[str, str]) -> str:
    """A Graph access token as Entra makes it: signed with SHA-256(nonce) in its header, sent with the nonce
    itself, so no one but Graph can verify it (entra-protocol.md section 6; apps must treat it as opaque)."""
    nonce = _opaque(32)
    header = {"typ": "JWT", "alg": "RS256", "kid": key.kid, **headers, "nonce": _hashed_nonce(nonce)}
    signing_input = f"{_segment(header)}.{_segment(claims)}"
    signature = key.sign_bytes(signing_input.encode())
    return f"{_segment({**header, 'nonce': nonce})}.{_segment(claims)}.{b64url(signature)}"


def _hashed_nonce(nonce: str) -> str:
    return b64url(hashlib.sha256(nonce.encode()).digest())


def graph_signing_input(token: str) -> str:
    """The token as it was signed: a header nonce replaced by its SHA-256 (what Graph verifies)."""
    head, payload, signature = token.split(".")
    header = json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))
    if not isinstance(header, dict) or not isinstance(header.get("nonce"), str):
        return token
    return f"{_segment({**header, 'nonce': _hashed_nonce(header['nonce'])})}.{payload}.{signature}"
