"""What the app's session store holds, read from outside the app.

The one place in the tests and benchmarks that knows how sessions are stored today (Flask-Session on cachelib
files, one file per session named by the SHA-256 of its key; or Redis): a new store changes these functions only.
"""

import re
from pathlib import Path

SESSION_FILE = re.compile(r"^[0-9a-f]{64}$")  # cachelib's file names; not its temporary files or the sweep lock


def session_files(directory) -> list[Path]:
    """The session files in a filesystem store's directory."""
    return [path for path in Path(directory).iterdir() if SESSION_FILE.match(path.name)]


def stored_sessions(app) -> int:
    """How many sessions the app's store holds (expired ones not yet deleted included)."""
    interface = app.session_interface
    if not hasattr(interface, "cache"):  # Redis: the app's database holds sessions only
        return interface.client.dbsize()
    return len(session_files(interface.cache._path))


def read_session(app, cookie: str) -> dict | None:
    """The stored session of this session cookie value, as the app saved it (None if the store has none)."""
    interface = app.session_interface
    return interface.cache.get(interface.key_prefix + cookie)


def session_file(app, cookie: str) -> Path:
    """The file holding this session cookie's session, in a filesystem store."""
    interface = app.session_interface
    return Path(interface.cache._get_filename(interface.key_prefix + cookie))
