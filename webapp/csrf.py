"""A per-session token that a form must echo, so another site cannot post it (e.g. sign out) for the user."""

import hmac
import secrets

from flask import session

KEY = "csrf_token"


def csrf_token() -> str:
    """The session's token, made on first use."""
    if KEY not in session:
        session[KEY] = secrets.token_urlsafe(32)
    return session[KEY]


def csrf_ok(submitted) -> bool:
    """True when submitted equals the session's token."""
    expected = session.get(KEY)
    if not expected or not isinstance(submitted, str):
        return False
    # Bytes: compare_digest refuses non-ASCII str, and a form field can hold anything.
    return hmac.compare_digest(expected.encode(), submitted.encode("utf-8", "replace"))
