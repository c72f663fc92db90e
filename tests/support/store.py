"""What the app's session store holds, read from outside the app.

The one place in the tests and benchmarks that knows how sessions are stored: sealed blobs under hashed keys,
in files (`<key>.s`) or in Redis (`entra:s:<key>`); only the browser's cookie (a ticket) opens one.
"""

import json
from pathlib import Path

from webapp.sealing import Ticket
from webapp.session_store import KEY, REDIS_PREFIX, FileStore, RedisStore


def session_files(directory) -> list[Path]:
    """The session files in a filesystem store's directory."""
    return [path for path in Path(directory).iterdir() if path.suffix == ".s" and KEY.match(path.stem)]


def app_store(app) -> FileStore | RedisStore:
    """The app's store itself, under the metrics' counting wrapper."""
    store = app.session_interface.store
    return getattr(store, "wrapped", store)


def stored_sessions(app) -> int:
    """How many sessions the app's store holds (expired ones not yet deleted included)."""
    store = app_store(app)
    if isinstance(store, RedisStore):
        return sum(1 for _ in store._client.scan_iter(match=REDIS_PREFIX + "s:*"))
    return len(session_files(store.directory))


def read_session(app, cookie: str) -> dict | None:
    """The stored session of this session cookie value, as the app saved it (None if the store has none)."""
    ticket = Ticket.from_cookie(cookie)
    if ticket is None:
        return None
    blob = app.session_interface.store.get(ticket.store_key)
    plaintext = ticket.open(blob) if blob else None
    return json.loads(plaintext)["data"] if plaintext else None


def session_file(app, cookie: str) -> Path:
    """The file holding this session cookie's session, in a filesystem store."""
    store = app_store(app)
    assert isinstance(store, FileStore)
    return Path(store.directory) / f"{Ticket.from_cookie(cookie).store_key}.s"


def redis_key(cookie: str) -> str:
    """The Redis key of this session cookie's session."""
    return f"{REDIS_PREFIX}s:{Ticket.from_cookie(cookie).store_key}"
