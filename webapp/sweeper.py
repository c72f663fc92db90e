"""Deletes expired session files: a pass per interval, in a background thread, never on a request's path.

Files are checked for expiry when read, so the files of users who never come back would stay forever. Each
server process runs one thread, started by its first request (a thread started before gunicorn forks its
workers would not survive the fork). The passes of several processes do not pile up: a pass takes an exclusive
lock and skips the work if any process swept within the interval.
"""

import fcntl
import logging
import os
import random
import re
import threading
import time

from .session_store import HEADER, INDEX, KEY, FileStore, expiry_of

log = logging.getLogger(__name__)

# A file is deleted only this long after it expired: generous against clock steps between servers.
SWEEP_GRACE = 300
LOCK_FILE = ".sweep.lock"
# Flask-Session's files from earlier versions of this app: plaintext tokens, never read again.
LEGACY_FILE = re.compile(r"^[0-9a-f]{64}$")


class Sweeper:
    def __init__(self, store: FileStore, interval: int):
        self.store = store
        self.directory = store.directory
        self.interval = interval
        self._started_in: int | None = None  # pid whose thread runs
        self._lock = threading.Lock()

    def start_once(self) -> None:
        """Start this process's sweeper thread if it is not running (one attribute check per request)."""
        if self._started_in == os.getpid():
            return
        with self._lock:
            if self._started_in != os.getpid():
                threading.Thread(target=self._run, name="session-sweeper", daemon=True).start()
                self._started_in = os.getpid()

    def _run(self) -> None:
        while True:
            # Jitter, so that processes started together do not all wake at once.
            time.sleep(self.interval * random.uniform(0.9, 1.1))
            try:
                self.sweep(skip_if_swept_within=self.interval / 2)
            except FileNotFoundError:  # the directory itself is gone (e.g. a test's): nothing left to do
                return
            except Exception:  # a bad pass must not end the thread: the next one may succeed
                log.exception("session sweep failed in %s", self.directory)

    def sweep(self, now: float | None = None, skip_if_swept_within: float = 0) -> tuple[int, int] | None:
        """Delete what expired over SWEEP_GRACE seconds ago; return (deleted, kept), or None if another process
        is sweeping or swept within skip_if_swept_within seconds."""
        now = time.time() if now is None else now
        # The lock file holds when the last pass ended, so processes can tell that one of them just swept.
        with open(os.path.join(self.directory, LOCK_FILE), "a+", encoding="ascii") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:  # another process is sweeping this directory right now
                return None
            lock.seek(0)
            last = lock.read().strip()
            if skip_if_swept_within and last.isdigit() and now - int(last) < skip_if_swept_within:
                return None
            removed, kept = self._sweep(now)
            lock.truncate(0)
            lock.write(str(int(now)))
        if removed:
            log.info("deleted %d expired file(s); %d session(s) remain", removed, kept)
        return removed, kept

    def _sweep(self, now: float) -> tuple[int, int]:
        removed = kept = 0
        indexes = []
        for entry in self.store.names():
            name, _, suffix = entry.name.rpartition(".")
            try:
                if suffix == "s" and KEY.match(name):
                    with open(entry.path, "rb") as file:
                        expires = expiry_of(file.read(HEADER.size))
                    if expires is None or expires + SWEEP_GRACE < now:
                        self.store.delete(name)
                        removed += 1
                    else:
                        kept += 1
                elif suffix == "i" and INDEX.match(name):
                    indexes.append(name)
                elif LEGACY_FILE.match(entry.name):
                    os.remove(entry.path)
                    removed += 1
            except FileNotFoundError:  # deleted meanwhile: by sign-out, a new sign-in, or another sweeper
                continue
            except OSError as error:
                log.warning("session sweep skipped %s: %s", entry.name, error)
        for index in indexes:  # members that ended leave the index; an index left empty is deleted
            members = self.store.index_members(index)
            gone = [key for key in members if not os.path.exists(os.path.join(self.directory, key + ".s"))]
            self.store.index_discard(index, gone)
        return removed, kept
