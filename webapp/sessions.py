"""Server-side sessions (Flask-Session): the cookie holds only a random session id."""
import os
import secrets

from cachelib.file import FileSystemCache
from flask_session import Session


def init_sessions(app):
    """Start Flask-Session on the configured store."""
    if app.config["SESSION_TYPE"] == "redis":
        import redis  # only needed by apps that use it

        app.config["SESSION_REDIS"] = redis.Redis.from_url(app.config["REDIS_URL"])
    else:
        directory = app.config["SESSION_FILE_DIR"] or os.path.join(app.instance_path, "flask_session")
        # threshold=0: never evict live sessions to stay under a file count (cachelib's default is 500);
        # mode 0600: session files readable by the app's user only.
        app.config["SESSION_TYPE"] = "cachelib"
        app.config["SESSION_CACHELIB"] = FileSystemCache(directory, threshold=0, mode=0o600)
    app.config.setdefault("SESSION_COOKIE_SAMESITE", "Lax")
    Session(app)


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
