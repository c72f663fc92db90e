"""Server-side sessions (Flask-Session 0.8, pinned: the store classes below extend its `_upsert_session`):
the cookie holds only a random session id.

Lifetimes: every session is permanent with PERMANENT_SESSION_LIFETIME = SESSION_IDLE_TIMEOUT. A session is
saved only when it changed (not on every request, which cost half the signed-in page's throughput), and a
request touches a timestamp in it once per TOUCH_INTERVAL, so the store's expiry (a Redis TTL, or the
timestamp heading a cachelib file) still slides with use: an idle timeout, early by at most TOUCH_INTERVAL.
The absolute timeout is enforced by SignIn.
"""

import datetime
import logging
import os
import random
import re
import secrets
import struct
import threading
import time

import click
from cachelib.file import FileSystemCache
from flask import session
from flask_session.cachelib import CacheLibSessionInterface
from flask_session.redis import RedisSessionInterface

import app_config

try:
    import fcntl
except ImportError:  # not POSIX: sweeps are not coordinated, which only costs duplicate work
    fcntl = None

log = logging.getLogger(__name__)
REDIS_CONNECT_TIMEOUT, REDIS_READ_TIMEOUT = 3.05, 5  # seconds: a stuck store fails the request, not the worker
# A file is deleted only this long after it expired. A request that loaded the session just before it expired
# saves it back (with a fresh expiry) within its own duration, far shorter than this; so the sweeper never
# deletes a file that a request has just renewed.
SWEEP_GRACE = 300
SESSION_FILE = re.compile(r"^[0-9a-f]{64}$")  # cachelib names each file by the SHA-256 of its key
PARTIAL_WRITE_AGE = 3600  # cachelib writes to a temporary file, then renames it: older leftovers are debris
LOCK_FILE = ".sweep.lock"
TOUCH_INTERVAL = 60  # seconds; at most a tenth of the idle timeout
SEEN_KEY = "seen_at"


def init_sessions(app):
    """Keep sessions in the configured store, with the idle lifetime and expired-file cleanup."""
    config = app.config
    config["SESSION_PERMANENT"] = True
    config["SESSION_REFRESH_EACH_REQUEST"] = False
    idle = _seconds(config, "SESSION_IDLE_TIMEOUT")
    config["PERMANENT_SESSION_LIFETIME"] = datetime.timedelta(seconds=idle)
    app.before_request(_toucher(min(TOUCH_INTERVAL, idle // 10)))
    sweeper = None
    if config["SESSION_TYPE"] == "redis":
        import redis  # only needed by apps that use it

        # Redis expires each session itself (its TTL is the idle timeout): nothing to sweep.
        config["SESSION_REDIS"] = redis.Redis.from_url(
            config["REDIS_URL"],
            socket_connect_timeout=REDIS_CONNECT_TIMEOUT,
            socket_timeout=REDIS_READ_TIMEOUT,
            health_check_interval=30,
        )
        app.session_interface = RedisSessions(app, client=config["SESSION_REDIS"])
    else:
        directory = config["SESSION_FILE_DIR"] or os.path.join(app.instance_path, "flask_session")
        # threshold=0: never evict live sessions to stay under a file count (cachelib's default is 500);
        # mode 0600: session files readable by the app's user only.
        config["SESSION_TYPE"] = "cachelib"
        config["SESSION_CACHELIB"] = FileSystemCache(directory, threshold=0, mode=0o600)
        _owner_only(directory)
        app.session_interface = FileSessions(app, client=config["SESSION_CACHELIB"])
        sweeper = Sweeper(directory, _seconds(config, "SESSION_SWEEP_INTERVAL"))
        if sweeper.interval:
            app.before_request(sweeper.start_once)

    @app.cli.command("sessions-sweep")
    def sessions_sweep():
        """Delete expired session files now (for a cron job; Redis expires sessions itself)."""
        if sweeper is None:
            click.echo("Sessions are in Redis, which deletes expired ones itself: nothing to sweep.")
            return
        result = sweeper.sweep()
        if result is None:
            click.echo("Another process is sweeping the session files right now.")
        else:
            removed, kept = result
            click.echo(f"Deleted {removed} expired file(s) from {sweeper.directory}; {kept} session(s) remain.")


def _toucher(interval: int):
    """A before_request hook that marks a stored session modified once per interval, to renew its expiry."""

    def touch():
        if not session:  # nothing stored yet: a visit alone creates no session
            return
        now = int(time.time())
        if now - session.get(SEEN_KEY, 0) >= interval:
            session[SEEN_KEY] = now

    return touch


class _NoResurrection:
    """Save a session that came from the store only while it is still there.

    Flask-Session writes every session back at the end of each request. A request that loaded the session
    before a sign-out (or a new id at sign-in) and ends after it would store the old data again, under the
    old id, and a copied cookie would work again. So a session that came from the store is saved only if the
    store still has it; a new one (new id) is saved as usual.
    """

    def open_session(self, app, request):
        session = super().open_session(app, request)
        session.from_store = session.sid == request.cookies.get(app.config["SESSION_COOKIE_NAME"])
        return session

    def regenerate(self, session):
        super().regenerate(session)
        session.from_store = False


class RedisSessions(_NoResurrection, RedisSessionInterface):
    def _upsert_session(self, session_lifetime, session, store_id):
        if not getattr(session, "from_store", False):
            return super()._upsert_session(session_lifetime, session, store_id)
        # SET ... XX: only if the key exists, atomically.
        self.client.set(
            name=store_id, value=self.serializer.encode(session), ex=int(session_lifetime.total_seconds()), xx=True
        )


class FileSessions(_NoResurrection, CacheLibSessionInterface):
    def _upsert_session(self, session_lifetime, session, store_id):
        # Not atomic, unlike Redis: a deletion between the check and the write (microseconds, against a
        # request's whole duration without the check) would still be undone.
        if getattr(session, "from_store", False) and not self.cache.has(store_id):
            return None
        return super()._upsert_session(session_lifetime, session, store_id)


def _owner_only(directory):
    try:
        os.chmod(directory, 0o700)
    except OSError as error:  # e.g. a directory someone else owns: its files are still 0600
        log.warning("could not make the session directory private: %s", error)


def _seconds(config, key) -> int:
    """A whole-seconds setting; its default while it is malformed (the configuration page names it)."""
    value = app_config.whole_number(config.get(key, app_config.DEFAULTS[key]))
    return value if value is not None else int(app_config.DEFAULTS[key])


class Sweeper:
    """Deletes expired session files: a pass per interval, in a background thread, never on a request's path.

    cachelib checks expiry only when a session is read, so the files of users who never come back stay
    forever. Each server process runs one thread, started by its first request (a thread started before
    gunicorn forks its workers would not survive the fork). The passes of several processes do not pile up:
    a pass takes an exclusive lock and skips the work if any process swept within the interval.
    """

    def __init__(self, directory: str, interval: int):
        self.directory = directory
        self.interval = interval
        self._started_in = None  # pid whose thread runs
        self._lock = threading.Lock()

    def start_once(self):
        """Start this process's sweeper thread if it is not running (one attribute check per request)."""
        if self._started_in == os.getpid():
            return
        with self._lock:
            if self._started_in != os.getpid():
                threading.Thread(target=self._run, name="session-sweeper", daemon=True).start()
                self._started_in = os.getpid()

    def _run(self):
        while True:
            # Jitter, so that processes started together do not all wake at once.
            time.sleep(self.interval * random.uniform(0.9, 1.1))
            try:
                self.sweep(skip_if_swept_within=self.interval / 2)
            except FileNotFoundError:  # the directory itself is gone (e.g. a test's): nothing left to do
                return
            except Exception:  # a bad pass must not end the thread: the next one may succeed
                log.exception("session sweep failed in %s", self.directory)

    def sweep(self, now=None, skip_if_swept_within=0):
        """Delete the files that expired over SWEEP_GRACE seconds ago; return (deleted, kept), or None if
        another process is sweeping or swept within skip_if_swept_within seconds."""
        now = time.time() if now is None else now
        # The lock file holds when the last pass ended, so processes can tell that one of them just swept.
        with open(os.path.join(self.directory, LOCK_FILE), "a+", encoding="ascii") as lock:
            if fcntl:
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

    def _sweep(self, now):
        removed = kept = 0
        with os.scandir(self.directory) as entries:
            for entry in entries:
                try:
                    if SESSION_FILE.match(entry.name):
                        with open(entry.path, "rb") as file:
                            # cachelib's file layout: a native unsigned int of the expiry time (0: never), then data.
                            (expires,) = struct.unpack("I", file.read(4))
                        stale = expires and expires + SWEEP_GRACE < now
                    else:
                        stale = (
                            entry.name.endswith(FileSystemCache._fs_transaction_suffix)
                            and entry.stat().st_mtime + PARTIAL_WRITE_AGE < now
                        )
                    if stale:
                        os.remove(entry.path)
                        removed += 1
                    elif SESSION_FILE.match(entry.name):
                        kept += 1
                except FileNotFoundError:  # deleted meanwhile: by sign-out, a new session id, or another sweeper
                    continue
                except (OSError, struct.error) as error:  # e.g. a file shorter than its header: leave it be
                    log.warning("session sweep skipped %s: %s", entry.name, error)
        return removed, kept


def local_secret_key(instance_path: str) -> str:
    """A key generated once and kept in the instance folder, so restarts and workers share it."""
    os.makedirs(instance_path, exist_ok=True)
    path = os.path.join(instance_path, "secret_key")
    if not os.path.exists(path):
        # Write aside, then link into place: link fails if another worker won the race, and
        # nobody ever reads a half-written key.
        temporary = f"{path}.{os.getpid()}.{secrets.token_hex(4)}"
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as new:
            new.write(secrets.token_hex(32))
        try:
            os.link(temporary, path)
        except FileExistsError:
            pass
        finally:
            os.unlink(temporary)
    with open(path, encoding="ascii") as existing:
        return existing.read().strip()
