"""What the authorize and token endpoints hand out and take back: pending authorize requests (ctx),
authorization codes and refresh tokens."""

from __future__ import annotations

import dataclasses
import secrets
import threading
from collections.abc import Callable

from .models import AuthCode, PendingAuthorization, RefreshGrant


class SignInGrants:
    """Thread-safe store of ctx -> pending request, code -> AuthCode and refresh token -> RefreshGrant."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock  # the mock's (injectable) clock, for the pending requests' expiry
        self._lock = threading.Lock()
        self._pending: dict[str, PendingAuthorization] = {}
        self._codes: dict[str, AuthCode] = {}
        self._refresh: dict[str, RefreshGrant] = {}
        self._refresh_issued: dict[str, float] = {}  # when each refresh token was issued (revocation compares it)

    def add_pending(self, pending: PendingAuthorization) -> str:
        """Store a validated authorize request; returns its ctx."""
        ctx = secrets.token_urlsafe(24)
        with self._lock:
            self._pending[ctx] = pending
        return ctx

    def take_pending(self, ctx: str) -> PendingAuthorization | None:
        """Pop a pending authorize request if it exists and has not expired."""
        with self._lock:
            pending = self._pending.pop(ctx, None)
        if pending is None or pending.expires_at < self._clock():
            return None
        return pending

    def add_code(self, code: AuthCode) -> str:
        """Store an authorization code; returns the code string."""
        value = "1.A" + secrets.token_urlsafe(96)
        with self._lock:
            self._codes[value] = code
        return value

    def claim_code(self, value: str) -> tuple[AuthCode | None, bool]:
        """Look a code up and mark it redeemed atomically; returns (code, was_already_redeemed)."""
        with self._lock:
            code = self._codes.get(value)
            if code is None:
                return None, False
            already = code.redeemed
            code.redeemed = True
            return dataclasses.replace(code), already

    def add_refresh_token(self, grant: RefreshGrant) -> str:
        """Store a refresh grant; returns the opaque refresh token."""
        value = "1.A" + secrets.token_urlsafe(160)
        with self._lock:
            self._refresh[value] = grant
            self._refresh_issued[value] = self._clock()
        return value

    def get_refresh_grant(self, value: str) -> RefreshGrant | None:
        """The grant behind a refresh token (Entra does not revoke old RTs on use)."""
        with self._lock:
            return self._refresh.get(value)

    def refresh_issued_at(self, value: str) -> float:
        """When a refresh token was issued (the mock's clock)."""
        with self._lock:
            return self._refresh_issued[value]
