"""ID-token claims, each with a one-line meaning, for the signed-in page."""

import functools
from datetime import UTC, datetime

from flask import render_template
from markupsafe import Markup

MEANINGS = {
    "iss": "Issuer: the authority (and tenant) that signed the token.",
    "aud": "Audience: the app the token was issued for (our client id).",
    "tid": "Tenant id: the directory the user signed in from.",
    "oid": "Object id: the user's id in that tenant, the same in every app (Graph's id).",
    "sub": "Subject: the user's id for this app only (pairwise).",
    "preferred_username": "The user's sign-in name; may change, so never use it to authorize.",
    "name": "The user's display name.",
    "email": "Email address, when the tenant provides one.",
    "iat": "Issued at.",
    "nbf": "Not valid before.",
    "exp": "Expires at.",
    "nonce": "Binds the token to the sign-in request that asked for it.",
    "ver": "Token version.",
    "sid": "The user's session id at the authority.",
    "uti": "Token id, unique per token.",
    "login_hint": "Opaque hint the app may pass back when signing out.",
    "roles": "The app roles assigned to the user, or to a group they are in, for this app.",
    "groups": "Object ids of the user's groups (when the registration emits group claims).",
    "_claim_names": "Group overage: more than 200 groups, so the token names where to find them instead.",
    "_claim_sources": "Where the overage's groups are; this site asks Microsoft Graph of its cloud.",
}
TIME_CLAIMS = ("iat", "nbf", "exp", "auth_time")


def claim_rows(claims: dict) -> list:
    """(name, value as text, meaning) for each claim, the well-known ones first."""
    known = [name for name in MEANINGS if name in claims]
    others = sorted(name for name in claims if name not in MEANINGS)
    return [(name, _display(name, claims[name]), MEANINGS.get(name, "")) for name in known + others]


def claims_table(claims: dict) -> Markup:
    """The claims as an HTML table. Rendered once per distinct set of claims, not per page view: the table, and
    the rows' text (dates above all), were most of the signed-in page's rendering cost, and a user's claims change
    only when a new ID token arrives."""
    return _render_rows(_Claims(claims))


class _Claims:
    """Claims as a cache key: equal when the claims are (names, values and the values' JSON types alike)."""

    __slots__ = ("claims", "_key", "_hash")

    def __init__(self, claims: dict):
        self.claims = claims
        self._key = _frozen(claims)
        self._hash = hash(self._key)

    def __hash__(self) -> int:
        return self._hash

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Claims) and self._key == other._key


def _frozen(value: object) -> object:
    """A hashable form of a JSON value. Strings stand for themselves; any other value carries its type, so that
    true, 1 and 1.0 (equal in Python) stay apart."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        return (dict, tuple((name, _frozen(item)) for name, item in value.items()))
    if isinstance(value, list):
        return (list, tuple(_frozen(item) for item in value))
    return (type(value), value)


@functools.lru_cache(maxsize=1024)
def _render_rows(claims: _Claims) -> Markup:
    return Markup(render_template("claims_table.html", claims=claim_rows(claims.claims)))


def _display(name: str, value: object) -> str:
    if name in TIME_CLAIMS and isinstance(value, (int, float)):
        moment = datetime.fromtimestamp(value, tz=UTC)
        return f"{moment:%Y-%m-%d %H:%M:%S} UTC ({int(value)})"
    if isinstance(value, (list, tuple)):
        return ", ".join(str(item) for item in value)
    return str(value)
