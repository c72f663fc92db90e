"""The token a form must echo, so another site cannot post it (e.g. sign out) for the user.

It is an HMAC of the session's ticket id under a key derived from SECRET_KEY: the same for every tab and every
request of a session, never stored, so parallel requests cannot overwrite it and a form never "expires" while
its session lives. It changes with the session (sign-in gives a new one).
"""

import hmac

from flask import current_app

from .sessions import EncryptedSessions, current_session


def csrf_token() -> str | None:
    """The session's token; None when nobody is signed in."""
    interface = current_app.session_interface
    assert isinstance(interface, EncryptedSessions)
    return interface.csrf_token(current_session())


def csrf_ok(submitted: object) -> bool:
    """True when submitted equals the session's token."""
    expected = csrf_token()
    if not expected or not isinstance(submitted, str):
        return False
    # Bytes: compare_digest refuses non-ASCII str, and a form field can hold anything.
    return hmac.compare_digest(expected.encode(), submitted.encode("utf-8", "replace"))
