"""The mock's browser sessions (its SSO cookie): who is signed in there, with which sid, into which apps;
and the record of each end-session request and the front-channel logout calls it asked the browser for."""

from __future__ import annotations

import dataclasses
import secrets
import threading
import uuid
from dataclasses import dataclass, field


@dataclass
class SignedInAccount:
    """One account signed in at one browser session: its sid (the ID tokens' sid) and the apps it used."""

    user_oid: str
    sid: str
    client_ids: list[str] = field(default_factory=list)
    authenticated_at: float = 0.0  # when the user last entered credentials here (the ID token's auth_time)


@dataclass(frozen=True)
class FrontChannelCall:
    """A front-channel logout URL the sign-out page loaded in a hidden iframe."""

    client_id: str
    url: str  # the iframe's src: the registered URL plus ?sid=
    sid: str
    user_oid: str
    time: float


@dataclass(frozen=True)
class EndSession:
    """One request to the end-session endpoint and what the mock did about it."""

    time: float
    logout_hint: str | None
    post_logout_redirect_uri: str | None
    redirect_accepted: bool
    signed_out: tuple[str, ...]  # the sids ended
    frontchannel: tuple[FrontChannelCall, ...]


class BrowserSessions:
    """Thread-safe store: cookie -> accounts signed in there (most recently used last)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sessions: dict[str, dict[str, SignedInAccount]] = {}
        self._end_sessions: list[EndSession] = []

    def sign_in(
        self, cookie: str | None, user_oid: str, client_id: str, authenticated_at: float | None = None
    ) -> tuple[str, SignedInAccount]:
        """Sign an account into the session behind a cookie (a new session if unknown); note the app.

        An account already signed in there keeps its sid, as at Entra; authenticated_at (an interactive
        sign-in's time) replaces its authentication time. Returns (cookie, account copy)."""
        with self._lock:
            if not cookie or cookie not in self._sessions:
                cookie = secrets.token_urlsafe(32)
                self._sessions[cookie] = {}
            accounts = self._sessions[cookie]
            account = accounts.pop(user_oid, None) or SignedInAccount(user_oid, str(uuid.uuid4()))
            accounts[user_oid] = account  # most recent last
            if authenticated_at is not None:
                account.authenticated_at = authenticated_at
            if client_id not in account.client_ids:
                account.client_ids.append(client_id)
            return cookie, dataclasses.replace(account, client_ids=list(account.client_ids))

    def accounts(self, cookie: str | None) -> list[SignedInAccount]:
        """Copies of the accounts signed in at a session, most recently used last."""
        with self._lock:
            accounts = self._sessions.get(cookie or "", {})
            return [dataclasses.replace(a, client_ids=list(a.client_ids)) for a in accounts.values()]

    def sign_out(self, cookie: str | None, user_oid: str | None = None) -> list[SignedInAccount]:
        """End one account's sign-in at a session (or all of them); returns the accounts ended."""
        with self._lock:
            key = cookie or ""
            accounts = self._sessions.get(key)
            if accounts is None:
                return []
            oids = [user_oid] if user_oid is not None else list(accounts)
            ended = [accounts.pop(oid) for oid in oids if oid in accounts]
            if not accounts:
                del self._sessions[key]
            return ended

    def record(self, end_session: EndSession) -> None:
        with self._lock:
            self._end_sessions.append(end_session)

    @property
    def end_sessions(self) -> list[EndSession]:
        with self._lock:
            return list(self._end_sessions)
