"""A sign-in in progress lives in the browser, not on the server: one sealed cookie per sign-in.

Anonymous visitors then store nothing on the server (a flood of /login visits costs no disk or Redis memory),
and several tabs can sign in at once, each with its own cookie, none rewriting another's. The cookie is
AES-GCM sealed under a key derived from SECRET_KEY, named after its `state` and bound to that name, lives at
most PENDING_LIFETIME, and is deleted when used. It holds what `identity` needs to finish the flow (state, nonce,
PKCE verifier) and where to go next. At most MAX_PENDING are kept (each is about 1.4 KB): servers and proxies
refuse a Cookie header over 8 KB, so reloading /login must not pile them up.
"""

import hashlib
import json
import os
import time
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from flask import Request
from werkzeug.wrappers import Response

from .sealing import NONCE_BYTES, b64, unb64

PENDING_LIFETIME = 600  # seconds: Entra's authorization codes live about as long; a sign-in takes far less
MAX_COOKIE_BYTES = 3800  # browsers drop cookies over 4096 bytes (name and attributes included)
MAX_PENDING = 3  # sign-ins in progress per browser; starting another drops the oldest


class PendingSignIns:
    def __init__(self, key: bytes, secure: bool):
        self._aead = AESGCM(key)
        self._secure = secure
        # Path=/ (which __Host- requires) so that starting a sign-in anywhere sees, and prunes, the others.
        self._prefix = "__Host-signin-" if secure else "signin-"

    def cookie_name(self, state: str) -> str:
        return self._prefix + hashlib.sha256(state.encode("utf-8", "replace")).hexdigest()[:20]

    def save(self, request: Request, response: Response, state: str, flow: dict[str, Any]) -> None:
        """Keep flow (identity's data for this sign-in) in a cookie, dropping the oldest beyond MAX_PENDING."""
        others = sorted(
            (self._expiry(request, name), name) for name in request.cookies if name.startswith(self._prefix)
        )
        for _expiry, stale in others[: max(0, len(others) - (MAX_PENDING - 1))]:
            self._delete(response, stale)
        name = self.cookie_name(state)
        plaintext = json.dumps({"exp": int(time.time()) + PENDING_LIFETIME, "flow": flow}, separators=(",", ":"))
        nonce = os.urandom(NONCE_BYTES)
        value = b64(nonce + self._aead.encrypt(nonce, plaintext.encode(), name.encode()))
        if len(name) + len(value) > MAX_COOKIE_BYTES:
            raise ValueError("the pending sign-in does not fit in a cookie")
        response.set_cookie(
            name,
            value,
            max_age=PENDING_LIFETIME,
            path="/",
            secure=self._secure,
            httponly=True,
            # Lax: the authority's redirect back is a top-level GET navigation, which still carries it.
            samesite="Lax",
        )

    def take(self, request: Request, state: str) -> dict[str, Any] | None:
        """The flow this browser started for state, or None (never started here, expired, or tampered)."""
        content = self._open(request, self.cookie_name(state))
        if content is None or content["exp"] < time.time():
            return None
        return dict(content["flow"])

    def _open(self, request: Request, name: str) -> dict[str, Any] | None:
        value = request.cookies.get(name)
        if not value or len(value) > MAX_COOKIE_BYTES:
            return None
        try:
            raw = unb64(value)
            content = json.loads(self._aead.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], name.encode()))
        except (InvalidTag, ValueError):
            return None
        if not isinstance(content, dict) or not isinstance(content.get("flow"), dict):
            return None
        return content if isinstance(content.get("exp"), int) else None

    def _expiry(self, request: Request, name: str) -> int:
        content = self._open(request, name)
        return content["exp"] if content else 0  # unreadable ones go first

    def any_pending(self, request: Request) -> bool:
        return any(name.startswith(self._prefix) for name in request.cookies)

    def forget(self, response: Response, state: str) -> None:
        """Delete the cookie (single use)."""
        self._delete(response, self.cookie_name(state))

    def _delete(self, response: Response, name: str) -> None:
        # With the attributes it was set with, or browsers keep it.
        response.delete_cookie(name, path="/", secure=self._secure, httponly=True, samesite="Lax")
