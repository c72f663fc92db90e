"""The thing measured: the mock authority, a Redis server and the app under gunicorn, warm, with users signed in.

benchmarks/run.py is the harness that loads it, measures and prints; this module builds the site and tears it down
(and reads /proc for the processes it started).

Each app server is gunicorn with the same explicit flags (no access log, so that neither side of a comparison
pays for one), its settings entirely from the environment, so a developer's .env cannot change what is measured.
Users sign in through real HTTP: the app's /login, the mock's account picker, the app's redirect URI.
"""

import contextlib
import copy
import ctypes
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import requests

import app_config
from mock_authority import MockConfig, run_in_thread
from tests.support.browser import ScriptedBrowser
from tests.support.people import USER_KEY
from tests.support.store import stored_sessions
from webapp.sessions import ServerSession

ROOT = Path(__file__).resolve().parents[1]
START_TIMEOUT = 30  # seconds for a server to answer after its start


def gunicorn_flags(workers: int, threads: int) -> list:
    """The fixed server settings every measured server shares."""
    return [
        "--config",
        str(ROOT / "benchmarks" / "gunicorn_flags_only.py"),
        "--worker-class",
        "gthread",
        "--workers",
        str(workers),
        "--threads",
        str(threads),
        "--keep-alive",
        "5",
        "--timeout",
        "60",
        "--log-level",
        "warning",
    ]


@dataclass
class Server:
    """One gunicorn server: its port, process, and the Cookie headers of the browsers signed in to it."""

    name: str
    port: int
    process: subprocess.Popen
    settings: dict = field(default_factory=dict)
    cookies: list = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://localhost:{self.port}"

    def worker_pids(self) -> list:
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(pid) for pid in children.read_text().split()] if children.exists() else []

    def cpu_seconds(self) -> float:
        """CPU time (user + system) the workers have used so far."""
        total = 0
        for pid in self.worker_pids():
            with contextlib.suppress(OSError):
                fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
                total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of proc(5))
        return total / os.sysconf("SC_CLK_TCK")

    def peak_rss_per_worker(self) -> list:
        """Each worker's peak resident set size in MiB (VmHWM from /proc)."""
        peaks = []
        for pid in self.worker_pids():
            with contextlib.suppress(OSError):
                status = Path(f"/proc/{pid}/status").read_text()
                peaks.append(int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1)) / 1024)
        return peaks


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


try:
    _LIBC = ctypes.CDLL(None)  # loaded here, not in the forked child
except OSError:
    _LIBC = None
PR_SET_PDEATHSIG = 1


def _die_with_parent():
    """In the child, before exec: get SIGTERM when the benchmark's process ends, however it ends (Linux)."""
    if _LIBC is not None and hasattr(_LIBC, "prctl"):
        _LIBC.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def _wait_until_serving(url: str, process: subprocess.Popen, name: str):
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited with {process.returncode} at start")
        with contextlib.suppress(requests.ConnectionError):
            requests.get(url, timeout=5, allow_redirects=False)
            return
        time.sleep(0.1)
    raise RuntimeError(f"{name} did not answer within {START_TIMEOUT} s")


@contextlib.contextmanager
def _process(name: str, command: list, env: dict, ready_url: str | None = None, log: Path | None = None):
    """The command running; its stderr (for an app: a line per request) into log, when given, so that where the
    benchmark's own stderr goes (a terminal, a file) does not change what the servers pay for their logs."""
    with contextlib.ExitStack() as files:
        stderr = files.enter_context(open(log, "ab")) if log else None  # the child keeps its own copy
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            preexec_fn=_die_with_parent,
        )
    try:
        if ready_url:
            try:
                _wait_until_serving(ready_url, process, name)
            except RuntimeError as error:
                tail = log.read_text(errors="replace")[-2000:] if log else ""
                raise RuntimeError(f"{error}\n{tail}") from None
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


@contextlib.contextmanager
def redis_server():
    """A throwaway redis-server on a free port, no persistence; None when redis-server is not installed."""
    binary = shutil.which("redis-server")
    if not binary:
        yield None
        return
    port = free_port()
    command = [
        binary,
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
        "--databases",
        "16",
        "--loglevel",
        "warning",
    ]
    with _process("redis-server", command, dict(os.environ)) as process:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
                break
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("redis-server did not start")
            time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}"


class WarmSite:
    """The mock authority (in this process), Redis, and app servers under gunicorn, built up step by step."""

    def __init__(self, stack: contextlib.ExitStack, graph_latency: float, workers: int, threads: int):
        self._stack = stack
        self.flags = gunicorn_flags(workers, threads)
        # Entra ignores the port of an http://localhost redirect URI: one registration fits every server.
        self.mock = stack.enter_context(
            run_in_thread(MockConfig(redirect_uris=("http://localhost/getAToken",), graph_latency=graph_latency))
        )
        self.redis_url = stack.enter_context(redis_server())
        self.workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-")))
        self.secret_key = secrets.token_hex(32)  # shared by every server, as in a real deployment
        self._redis_databases = iter(range(1, 16))

    def settings(self, port: int, store: str) -> dict:
        """Every setting, so that a .env in the working tree changes nothing; the app on the mock, sessions in
        a store of its own ("filesystem", or "redis" with a database of its own)."""
        settings = dict(app_config.DEFAULTS)
        settings.update(
            {
                "AUTHORITY": self.mock.authority,
                "CLIENT_ID": self.mock.config.client_id,
                "CLIENT_SECRET": self.mock.config.client_secret,
                "REDIRECT_URI": f"http://localhost:{port}/getAToken",
                "ENDPOINT": self.mock.graph_endpoint,
                "REQUESTS_CA_BUNDLE": self.mock.ca_bundle,
                "SECRET_KEY": self.secret_key,
                "SESSION_TYPE": store,
            }
        )
        if store == "redis":
            settings["REDIS_URL"] = f"{self.redis_url}/{next(self._redis_databases)}"
        else:
            settings["SESSION_FILE_DIR"] = str(self.workdir / f"sessions-{port}")
        return settings

    def start_app(self, name: str, store: str = "filesystem", module: str = "app:app") -> Server:
        """The app (or, to try a change side by side with it, another WSGI module) under gunicorn."""
        port = free_port()
        settings = self.settings(port, store)
        env = {**os.environ, **settings, "PYTHONDONTWRITEBYTECODE": "1"}
        command = [sys.executable, "-m", "gunicorn", *self.flags, "--bind", f"127.0.0.1:{port}", module]
        process = self._stack.enter_context(_process(name, command, env, f"http://127.0.0.1:{port}/", self.log(name)))
        return Server(name, port, process, settings)

    def log(self, name: str) -> Path:
        """Where the server of that name writes its stderr."""
        return self.workdir / f"{name.replace(' ', '-')}.log"

    def start_bare(self, name: str, page_bytes: int) -> Server:
        port = free_port()
        env = {**os.environ, "BARE_PAGE_BYTES": str(page_bytes)}
        command = [
            sys.executable,
            "-m",
            "gunicorn",
            *self.flags,
            "--bind",
            f"127.0.0.1:{port}",
            "benchmarks.bare_app:app",
        ]
        process = self._stack.enter_context(_process(name, command, env, f"http://127.0.0.1:{port}/", self.log(name)))
        return Server(name, port, process)

    @staticmethod
    def sign_in(server: Server, browsers: int):
        """Sign `browsers` people in through /login, the account picker and the redirect URI; keep their cookies."""
        for _ in range(browsers):
            browser = ScriptedBrowser(server.url)
            page = browser.sign_in()
            if page.response.status_code != 200 or "Welcome" not in page.h1:
                raise RuntimeError(f"sign-in to {server.name} failed: {page.response.status_code} {page.text[:300]}")
            server.cookies.append(f"session={browser.session_cookie()}")

    @staticmethod
    def store_sessions(server: Server, total: int) -> int:
        """Fill the server's session store up to `total` sessions; return how many it holds.

        Through the app's own session interface, as a sign-in stores them: an app built with the server's
        settings opens a signed-in browser's session, and `EncryptedSessions.begin` stores copies of it, each
        with a new ticket (so its own key and secret), its own user id and Entra sid, and their index entries.
        10,000 take some 7 s on files and less on Redis (see `tests.support.people.seed_like`, which does the
        same through a request context and gives back the cookies).
        """
        from app import create_app  # here: building an app is part of seeding, not of importing the harness

        app = create_app(server.settings)
        interface = app.session_interface
        ticket, _meta, template = interface.load(server.cookies[0].partition("=")[2])
        if ticket is None or not template.get(USER_KEY):
            raise RuntimeError(f"{server.name}: the template session is not signed in")
        for index in range(total - stored_sessions(app)):
            oid, sid = str(uuid.uuid4()), str(uuid.uuid4())
            data = copy.deepcopy(template)
            data[USER_KEY].update(oid=oid, name=f"Seeded user {index}")
            interface.begin(ServerSession(interface, None), data, {"oid": oid, "sid": sid})
        return stored_sessions(app)
