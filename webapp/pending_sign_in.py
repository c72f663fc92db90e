"""A sign-in in progress lives in the browser, not on the server: one sealed cookie per sign-in.

Anonymous visitors then store nothing on the server (a flood of /login visits costs no disk or Redis memory),
and any number of tabs can sign in at once, each with its own cookie, none rewriting another's. The cookie is
AES-GCM sealed under a key derived from SECRET_KEY, named after its `state` and bound to that name, lives at
most PENDING_LIFETIME, and is sent only to the redirect URI's path. It holds what `identity` needs to finish
the flow (state, nonce, PKCE verifier) and where to go next.
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


class PendingSignIns:
    def __init__(self, key: bytes, redirect_path: str, secure: bool):
        self._aead = AESGCM(key)
        self._path = redirect_path
        self._secure = secure
        self._prefix = "__Secure-signin-" if secure else "signin-"

    def cookie_name(self, state: str) -> str:
        return self._prefix + hashlib.sha256(state.encode("utf-8", "replace")).hexdigest()[:20]

    def save(self, response: Response, state: str, flow: dict[str, Any]) -> None:
        """Keep flow (identity's data for this sign-in) in a cookie for the redirect URI."""
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
            path=self._path,
            secure=self._secure,
            httponly=True,
            # Lax: the authority's redirect back is a top-level GET navigation, which still carries it.
            samesite="Lax",
        )

    def take(self, request: Request, state: str) -> dict[str, Any] | None:
        """The flow this browser started for state, or None (never started here, expired, or tampered)."""
        name = self.cookie_name(state)
        value = request.cookies.get(name)
        if not value or len(value) > MAX_COOKIE_BYTES:
            return None
        try:
            raw = unb64(value)
            plaintext = self._aead.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], name.encode())
            content = json.loads(plaintext)
        except (InvalidTag, ValueError):
            return None
        if not isinstance(content, dict) or not isinstance(content.get("flow"), dict):
            return None
        if not isinstance(content.get("exp"), int) or content["exp"] < time.time():
            return None
        return content["flow"]

    def any_pending(self, request: Request) -> bool:
        return any(name.startswith(self._prefix) for name in request.cookies)

    def forget(self, response: Response, state: str) -> None:
        """Delete the cookie (single use), with the attributes it was set with, or browsers keep it."""
        response.delete_cookie(
            self.cookie_name(state), path=self._path, secure=self._secure, httponly=True, samesite="Lax"
        )
