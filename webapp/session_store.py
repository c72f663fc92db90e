"""Where sealed sessions are kept: files on one machine, or Redis for several servers.

A store holds opaque, encrypted blobs under keys that reveal nothing of the cookie (see session_ticket), plus
small indexes (user → keys, Entra sid → keys) so that every session of a user or of an Entra sign-in session
can be ended. Revocation is final on both stores: `replace` writes only while the key still exists, atomically
with respect to `delete` (Redis `SET XX`; on files, a lock both take on the session's file), and keys are never
reused, so nothing running or arriving later can bring an ended session back.
"""

import contextlib
import fcntl
import logging
import os
import re
import struct
import time
from collections.abc import Iterator
from typing import Any, Protocol

log = logging.getLogger(__name__)

KEY = re.compile(r"^[0-9a-f]{32}$")
INDEX = re.compile(r"^(u|sid)-[0-9a-f]{32}$")
# Every blob starts with its magic and its expiry (seconds since the epoch, big-endian): the sweeper and
# `flask sessions stats` read that much without any key.
MAGIC = b"ES1"
HEADER = struct.Struct(">3sQ")
REDIS_PREFIX = "entra:"
REDIS_TIMEOUT = 1.0  # seconds, connect and each command: a stuck store fails the request fast, not the worker


class StoreUnavailable(Exception):
    """The session store cannot be read or written right now (down, full, read-only, slow)."""


def expiry_of(blob: bytes) -> int | None:
    """The expiry written in a blob's header, or None for something that is not one of our blobs."""
    if len(blob) < HEADER.size:
        return None
    magic, expires = HEADER.unpack_from(blob)
    return expires if magic == MAGIC else None


class SessionStore(Protocol):
    def get(self, key: str) -> bytes | None: ...
    def create(self, key: str, blob: bytes, ttl: int) -> None: ...
    def replace(self, key: str, blob: bytes, ttl: int) -> bool: ...
    def delete(self, key: str) -> None: ...
    def index_add(self, index: str, key: str) -> None: ...
    def index_members(self, index: str) -> list[str]: ...
    def index_discard(self, index: str, keys: list[str]) -> None: ...
    def count(self) -> tuple[int, int]: ...


class FileStore:
    """One file per session (mode 0600, in a 0700 directory), written in place under an exclusive lock.

    The lock is on the session's own file, taken by writers and by delete: a writer that opened the file before
    a delete finds it unlinked (no links left) once it holds the lock, and writes nothing.
    """

    def __init__(self, directory: str):
        self.directory = directory
        os.makedirs(directory, mode=0o700, exist_ok=True)
        with contextlib.suppress(OSError):  # e.g. a directory someone else owns: its files are still 0600
            os.chmod(directory, 0o700)

    def _path(self, name: str, suffix: str) -> str:
        return os.path.join(self.directory, name + suffix)

    def get(self, key: str) -> bytes | None:
        try:
            with _errors():
                fd = os.open(self._path(key, ".s"), os.O_RDONLY)  # no file object: fewer system calls
                try:
                    fcntl.flock(fd, fcntl.LOCK_SH)
                    blob = _read_all(fd)
                finally:
                    os.close(fd)
        except FileNotFoundError:
            return None
        expires = expiry_of(blob)
        return blob if expires is not None and expires > time.time() else None

    def create(self, key: str, blob: bytes, ttl: int) -> None:
        with _errors():
            fd = os.open(self._path(key, ".s"), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                _write_all(fd, blob)
            finally:
                os.close(fd)

    def replace(self, key: str, blob: bytes, ttl: int) -> bool:
        with self._locked(key, ".s", os.O_RDWR) as fd:
            if fd is None:  # deleted, before or while we waited for the lock
                return False
            os.ftruncate(fd, 0)
            _write_all(fd, blob)
            return True

    def delete(self, key: str) -> None:
        with self._locked(key, ".s", os.O_RDONLY) as fd:
            if fd is not None:
                os.unlink(self._path(key, ".s"))

    def index_add(self, index: str, key: str) -> None:
        while True:
            with self._locked(index, ".i", os.O_RDWR | os.O_CREAT) as fd:
                if fd is None:  # emptied and deleted while we waited: add to the next file of that name
                    continue
                # Drop members that ended meanwhile, so an index holds at most the user's live sessions.
                members = [k for k in _read_lines(fd) if os.path.exists(self._path(k, ".s")) and k != key]
                _rewrite(fd, [*members, key])
                return

    def index_members(self, index: str) -> list[str]:
        with self._locked(index, ".i", os.O_RDONLY, fcntl.LOCK_SH) as fd:
            return [] if fd is None else _read_lines(fd)

    def index_discard(self, index: str, keys: list[str]) -> None:
        with self._locked(index, ".i", os.O_RDWR) as fd:
            if fd is None:
                return
            members = [k for k in _read_lines(fd) if k not in keys]
            if members:
                _rewrite(fd, members)
            else:
                os.unlink(self._path(index, ".i"))

    @contextlib.contextmanager
    def _locked(self, name: str, suffix: str, flags: int, lock: int = fcntl.LOCK_EX) -> Iterator[int | None]:
        """The file, open and locked; None when it does not exist, or was unlinked while we waited for the lock
        (whoever unlinks holds the lock, so a file found still linked under the lock is the live one)."""
        try:
            with _errors():
                fd = os.open(self._path(name, suffix), flags, 0o600)
        except FileNotFoundError:
            yield None
            return
        try:
            with _errors():
                fcntl.flock(fd, lock)
                yield None if os.fstat(fd).st_nlink == 0 else fd
        finally:
            os.close(fd)

    def names(self) -> Iterator[os.DirEntry[str]]:
        with _errors(), os.scandir(self.directory) as entries:
            yield from entries

    def count(self) -> tuple[int, int]:
        """(live sessions, users with one), as RedisStore.count."""
        now, sessions, users = time.time(), 0, []
        for entry in self.names():
            name, _, suffix = entry.name.rpartition(".")
            if suffix == "s" and KEY.match(name):
                with contextlib.suppress(OSError), open(entry.path, "rb") as file:
                    expires = expiry_of(file.read(HEADER.size))
                    sessions += bool(expires and expires > now)
            elif suffix == "i" and INDEX.match(name) and name.startswith("u-"):  # users, not Entra sessions (sid-)
                users.append(name)
        alive = sum(any(self.get(key) for key in self.index_members(user)) for user in users)
        return sessions, alive


def _write_all(fd: int, blob: bytes) -> None:
    view = memoryview(blob)
    offset = 0
    while offset < len(view):
        offset += os.pwrite(fd, view[offset:], offset)


def _read_all(fd: int) -> bytes:
    """The whole file, in one read as a rule: under the shared lock no writer changes its size."""
    chunks, remaining = [], os.fstat(fd).st_size
    while remaining > 0 and (chunk := os.read(fd, remaining)):
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def _read_lines(fd: int) -> list[str]:
    os.lseek(fd, 0, os.SEEK_SET)
    chunks = []
    while chunk := os.read(fd, 65536):
        chunks.append(chunk)
    return [line for line in b"".join(chunks).decode("ascii", "replace").split("\n") if KEY.match(line)]


def _rewrite(fd: int, lines: list[str]) -> None:
    os.ftruncate(fd, 0)
    _write_all(fd, ("\n".join(lines) + "\n").encode("ascii"))


@contextlib.contextmanager
def _errors() -> Iterator[None]:
    """An OSError other than a missing file (read-only, full, permissions) means the store is unavailable."""
    try:
        yield
    except FileNotFoundError:
        raise
    except OSError as error:
        log.warning("session store (files) unavailable: %s", error.strerror or type(error).__name__)
        raise StoreUnavailable(error.strerror or type(error).__name__) from None


class RedisStore:
    """Sessions as Redis strings with the idle timeout as TTL; indexes as sets without a TTL, pruned as they grow.

    Index sets carry no TTL so that under `volatile-*` eviction only sessions can be evicted (users sign in
    again), never the index that front-channel logout and `flask sessions revoke` rely on.
    """

    def __init__(self, client: Any):
        import redis

        self._client = client
        self._errors = (redis.RedisError, OSError)

    def _call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        try:
            return getattr(self._client, method)(*args, **kwargs)
        except self._errors as error:
            log.warning("session store (redis) unavailable: %s", type(error).__name__)
            raise StoreUnavailable(type(error).__name__) from None

    def get(self, key: str) -> bytes | None:
        blob = self._call("get", REDIS_PREFIX + "s:" + key)
        return bytes(blob) if blob is not None else None

    def create(self, key: str, blob: bytes, ttl: int) -> None:
        self._call("set", REDIS_PREFIX + "s:" + key, blob, ex=ttl, nx=True)

    def replace(self, key: str, blob: bytes, ttl: int) -> bool:
        # SET ... XX: only while the key exists, atomically: a deleted session stays deleted.
        return bool(self._call("set", REDIS_PREFIX + "s:" + key, blob, ex=ttl, xx=True))

    def delete(self, key: str) -> None:
        self._call("delete", REDIS_PREFIX + "s:" + key)

    def index_add(self, index: str, key: str) -> None:
        self._live_members(index)  # an index holds at most the user's live sessions
        self._call("sadd", REDIS_PREFIX + index, key)

    def _live_members(self, index: str) -> list[str]:
        """The index's members whose session still exists; the others are removed from it."""
        name = REDIS_PREFIX + index
        members = [m.decode() for m in self._call("smembers", name)]
        if not members:
            return []
        blobs = self._call("mget", [REDIS_PREFIX + "s:" + m for m in members])
        gone = [m for m, blob in zip(members, blobs, strict=True) if blob is None]
        if gone:
            self._call("srem", name, *gone)
        return [m for m in members if m not in gone]

    def index_members(self, index: str) -> list[str]:
        return sorted(m.decode() for m in self._call("smembers", REDIS_PREFIX + index))

    def index_discard(self, index: str, keys: list[str]) -> None:
        if keys:
            self._call("srem", REDIS_PREFIX + index, *keys)

    def count(self) -> tuple[int, int]:
        """(live sessions, users with one); pruning the user indexes of sessions that expired."""
        sessions = len(self._scan(REDIS_PREFIX + "s:*"))
        users = [name.decode()[len(REDIS_PREFIX) :] for name in self._scan(REDIS_PREFIX + "u-*")]
        return sessions, sum(bool(self._live_members(user)) for user in users)

    def _scan(self, pattern: str) -> list[bytes]:
        try:
            return list(self._client.scan_iter(match=pattern, count=1000))
        except self._errors as error:
            raise StoreUnavailable(type(error).__name__) from None


def open_store(settings: Any, instance_path: str, app: Any = None) -> SessionStore:
    """The configured store. Redis answers within REDIS_TIMEOUT or counts as unavailable (a 503 page)."""
    if settings.session_type == "redis":
        import redis

        client = redis.Redis.from_url(
            settings.redis_url,
            socket_connect_timeout=REDIS_TIMEOUT,
            socket_timeout=REDIS_TIMEOUT,
            retry=None,
            health_check_interval=30,
        )
        return RedisStore(client)
    store = FileStore(settings.session_file_dir or os.path.join(instance_path, "sessions"))
    if app is not None and settings.session_sweep_interval:
        from .sweeper import Sweeper

        app.before_request(Sweeper(store, settings.session_sweep_interval).start_once)
    return store
