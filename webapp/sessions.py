"""Server-side sessions for signed-in users only: an encrypted blob in the store, a ticket in the cookie.

- Only a completed sign-in creates a session (`begin`); anonymous visitors store nothing, and a visit that only
  reads gets no cookie. Sign-in always starts a new session, so nothing of an earlier user survives it.
- The session is loaded on first use, not per request: static files and pages that never look at it cost
  nothing, and a store outage surfaces as StoreUnavailable where the session is used (a 503 page).
- Saved only when it changed, plus a touch at most once per TOUCH_INTERVAL so the store's expiry slides with use
  (the idle timeout, early by at most TOUCH_INTERVAL). The absolute timeout counts from sign-in.
- `end` deletes it from the store, and reports failure: sign-out never claims success it did not have.
- Values are JSON: nothing from the store is ever unpickled. A blob that does not open (tampered, truncated,
  foreign, an older app's) is no session.
"""

import json
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, cast

import flask
from flask import Flask, Request, Response
from flask.sessions import SessionInterface, SessionMixin

from .sealing import DerivedKeys, Ticket
from .session_store import SessionStore, StoreUnavailable

log = logging.getLogger(__name__)

TOUCH_INTERVAL = 60  # seconds; at most a tenth of the idle timeout
FORMAT = 1
RECENT_SESSIONS = 256  # opened sessions each process keeps (about 15 KB each), to skip opening them again
# Kept beside the data: the indexes' keys (oid, or sub where there is none: any OpenID provider, B2C; sid) and
# what sign-out sends Entra (login_hint).
USER_CLAIMS = ("oid", "sub", "sid", "login_hint")


class ServerSession(SessionMixin):
    """The session of one request, read from the store the first time something looks at it."""

    def __init__(self, interface: "EncryptedSessions", cookie: str | None):
        self._interface = interface
        self._cookie = cookie
        self._data: dict[str, Any] | None = None
        self.ticket: Ticket | None = None
        self.meta: dict[str, Any] = {}
        self.modified = False
        self.touch = False
        self.ended = False  # the request ended this session (sign-out, new sign-in, absolute timeout)
        self.fresh = False  # the request began this session (sign-in)
        self._unavailable: StoreUnavailable | None = None  # the store failed to load it in this request

    @property
    def loaded(self) -> bool:
        return self._data is not None

    def _load(self) -> dict[str, Any]:
        if self._unavailable is not None:  # asked once per request: a stuck store costs one timeout, not several
            raise StoreUnavailable(*self._unavailable.args)
        if self._data is None:
            try:
                self.ticket, self.meta, self._data = self._interface.load(self._cookie)
            except StoreUnavailable as error:
                self._unavailable = error
                raise
            self.touch = bool(self.ticket) and time.time() - self.meta.get("seen_at", 0) >= self._interface.touch_every
        return self._data

    def __getitem__(self, key: str) -> Any:
        return self._load()[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self._load()[key] = value
        self.modified = True

    def __delitem__(self, key: str) -> None:
        del self._load()[key]
        self.modified = True

    def __iter__(self) -> Iterator[str]:
        return iter(self._load())

    def __len__(self) -> int:
        return len(self._load())

    def store_failed(self, error: StoreUnavailable) -> None:
        """The store failed in this request (here or elsewhere): do not ask it again for the error page."""
        if self._data is None:
            self._unavailable = error

    @property
    def signed_in(self) -> bool:
        self._load()
        return self.ticket is not None

    def signed_in_or_false(self) -> bool:
        """For templates and error pages: never raises, even while the store is down."""
        try:
            return self.signed_in
        except StoreUnavailable:
            return False


def current_session() -> ServerSession:
    """This request's session, typed (Flask's `session` proxy forwards to it)."""
    return cast(ServerSession, flask.session)


class EncryptedSessions(SessionInterface):
    """Flask's session interface over a SessionStore, with the cookie holding a ticket."""

    def __init__(
        self, store: SessionStore, keys: DerivedKeys, idle_timeout: int, absolute_timeout: int, cookie_secure: bool
    ):
        self.store = store
        self.keys = keys
        self.idle_timeout = idle_timeout
        self.absolute_timeout = absolute_timeout
        self.touch_every = min(TOUCH_INTERVAL, max(1, idle_timeout // 10))
        self.cookie_name = "__Host-session" if cookie_secure else "session"
        self.cookie_secure = cookie_secure
        self._recent = _RecentlyOpened()

    # Flask's hooks

    def open_session(self, app: Flask, request: Request) -> ServerSession:
        return ServerSession(self, request.cookies.get(self.cookie_name))

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        assert isinstance(session, ServerSession)
        if session.ended:
            self._delete_cookie(response)
            return
        if not session.loaded or session.ticket is None:
            if session.loaded and session._cookie:  # a cookie that names no live session: drop it
                self._delete_cookie(response)
            return
        if session.fresh:  # begun in this request, and already written
            self._set_cookie(response, session.ticket)
            return
        if not (session.modified or session.touch):
            return
        try:
            still_there = self._write(session, replace=True)
        except StoreUnavailable:
            # The page itself worked; the change (a refreshed token, a touch) is retried on a later request.
            log.warning("session changes not saved: the store is unavailable")
            return
        if not still_there:  # ended meanwhile (sign-out elsewhere): never bring it back
            self._delete_cookie(response)

    # The app's operations

    def load(self, cookie: str | None) -> tuple[Ticket | None, dict[str, Any], dict[str, Any]]:
        recent = self._recent.get(cookie) if cookie else None
        ticket = recent.ticket if recent else Ticket.from_cookie(cookie)
        if ticket is None:
            return None, {}, {}
        blob = self.store.get(ticket.store_key)  # always read: an ended session must be seen as ended
        if blob is None:
            return None, {}, {}
        if recent and recent.blob == blob:
            meta, data = _copy(recent.meta), _copy(recent.data)
        else:
            content = _decode(ticket.open(blob))
            if content is None:
                log.warning("a stored session could not be opened (tampered, truncated or foreign): ignored")
                return None, {}, {}
            meta, data = content
            self._recent.put(ticket.cookie, _Opened(ticket, blob, _copy(meta), _copy(data)))
        if time.time() - meta["signed_in_at"] >= self.absolute_timeout:
            log.info("session reached its absolute lifetime: ended")
            self._delete(ticket, meta)
            return None, {}, {}
        return ticket, meta, data

    def begin(self, session: ServerSession, data: dict[str, Any], user: dict[str, Any]) -> None:
        """Replace whatever the browser had with a new session for a user who just signed in."""
        self.end(session)
        now = int(time.time())
        session.ended = False
        session.ticket = Ticket.new()
        session.meta = {"signed_in_at": now, "seen_at": now, **{claim: user.get(claim) for claim in USER_CLAIMS}}
        session._data = dict(data)
        self._write(session, replace=False)
        for index in self._indexes(session.meta):
            self.store.index_add(index, session.ticket.store_key)
        session.fresh = True

    def end(self, session: ServerSession) -> None:
        """Delete the browser's session from the store; StoreUnavailable if that could not be done."""
        session._load()
        if session.ticket is not None:
            self._delete(session.ticket, session.meta)
        session.ticket, session.meta, session._data = None, {}, {}
        session.ended = True

    def end_all(self, kind: str, value: str) -> int:
        """End every session in an index (kind "u": a user's oid; "sid": an Entra sign-in session)."""
        index = self.keys.index_name(kind, value)
        keys = self.store.index_members(index)
        for key in keys:
            self.store.delete(key)
        self.store.index_discard(index, keys)
        return len(keys)

    def csrf_token(self, session: ServerSession) -> str | None:
        return self.keys.csrf_token(session.ticket) if session.signed_in and session.ticket else None

    # Internals

    def _indexes(self, meta: dict[str, Any]) -> list[str]:
        names = []
        if meta.get("oid"):  # a GUID, in any case
            names.append(self.keys.index_name("u", str(meta["oid"]).lower()))
        elif meta.get("sub"):  # case-sensitive (OIDC Core §2)
            names.append(self.keys.index_name("u", str(meta["sub"])))
        if meta.get("sid"):
            names.append(self.keys.index_name("sid", str(meta["sid"])))
        return names

    def _write(self, session: ServerSession, replace: bool) -> bool:
        assert session.ticket is not None
        now = int(time.time())
        meta = {**session.meta, "seen_at": now}
        # The store keeps the session until the idle timeout, or the absolute one if that comes first.
        ttl = max(1, min(self.idle_timeout, meta["signed_in_at"] + self.absolute_timeout - now))
        plaintext = json.dumps({"v": FORMAT, "meta": meta, "data": session._data}, separators=(",", ":"))
        blob = session.ticket.seal(plaintext.encode(), now + ttl)
        if replace:
            return self.store.replace(session.ticket.store_key, blob, ttl)
        self.store.create(session.ticket.store_key, blob, ttl)
        return True

    def _delete(self, ticket: Ticket, meta: dict[str, Any]) -> None:
        self.store.delete(ticket.store_key)
        for index in self._indexes(meta):
            self.store.index_discard(index, [ticket.store_key])

    def _set_cookie(self, response: Response, ticket: Ticket) -> None:
        # No Max-Age: the cookie lives with the browser session at most; the store's expiry is what counts.
        response.set_cookie(self.cookie_name, ticket.cookie, **self._cookie_attributes())
        response.vary.add("Cookie")

    def _delete_cookie(self, response: Response) -> None:
        # With the same attributes as when set: browsers ignore a __Host- deletion that lacks Secure.
        response.delete_cookie(self.cookie_name, **self._cookie_attributes())

    def _cookie_attributes(self) -> dict[str, Any]:
        # Lax still sends the cookie on the authority's top-level redirect back to the redirect URI.
        return {"path": "/", "secure": self.cookie_secure, "httponly": True, "samesite": "Lax"}


def _decode(plaintext: bytes | None) -> tuple[dict[str, Any], dict[str, Any]] | None:
    if plaintext is None:
        return None
    try:
        content = json.loads(plaintext)
    except (ValueError, RecursionError):
        return None
    if not isinstance(content, dict) or content.get("v") != FORMAT:
        return None
    meta, data = content.get("meta"), content.get("data")
    if not isinstance(meta, dict) or not isinstance(data, dict) or not isinstance(meta.get("signed_in_at"), int):
        return None
    return meta, data


@dataclass(frozen=True)
class _Opened:
    ticket: Ticket
    blob: bytes
    meta: dict[str, Any]
    data: dict[str, Any]


class _RecentlyOpened:
    """The last sessions this process opened, by cookie (ticket id and secret both: a cookie that only names the
    right store key finds nothing here). A request whose stored blob is byte for byte the one opened before skips
    decrypting and decoding it again: together they were most of a signed-in page's cost of having a session."""

    def __init__(self, size: int = RECENT_SESSIONS):
        self._size = size
        self._entries: OrderedDict[str, _Opened] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, cookie: str) -> _Opened | None:
        with self._lock:
            entry = self._entries.get(cookie)
            if entry is not None:
                self._entries.move_to_end(cookie)
            return entry

    def put(self, cookie: str, entry: _Opened) -> None:
        with self._lock:
            self._entries[cookie] = entry
            self._entries.move_to_end(cookie)
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)


def _copy(value: Any) -> Any:
    """A deep copy of JSON-shaped data (dicts, lists, immutable leaves), far cheaper than copy.deepcopy."""
    if isinstance(value, dict):
        return {key: item if type(item) in _LEAVES else _copy(item) for key, item in value.items()}
    if isinstance(value, list):
        return [item if type(item) in _LEAVES else _copy(item) for item in value]
    return value


_LEAVES = frozenset({str, int, float, bool, type(None)})  # JSON's immutable values: shared, not copied
