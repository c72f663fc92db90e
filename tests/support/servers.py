"""Real servers for the session tests: redis-server and gunicorn as child processes on free loopback ports.

Each is stopped by the test that started it, and on Linux also dies with the test process (PR_SET_PDEATHSIG),
so an interrupted run leaves nothing listening.
"""

import contextlib
import ctypes
import ctypes.util
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

import app_config

ROOT = Path(__file__).resolve().parents[2]
_PR_SET_PDEATHSIG = 1


def require(tool: str, how_to_install: str) -> str:
    """The path of a server binary; without it, skip locally and fail in CI (CI=true), where it must run."""
    path = shutil.which(tool)
    if path:
        return path
    reason = f"{tool} is not installed ({how_to_install})"
    if os.environ.get("CI", "").strip().lower() == "true":
        pytest.fail(f"{reason}: CI must run these tests, not skip them.", pytrace=False)
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _dies_with_us():
    """preexec_fn: SIGTERM the child when the process that started it dies (Linux), however it dies."""
    if not sys.platform.startswith("linux"):
        return None
    prctl = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True).prctl  # looked up before the fork
    return lambda: prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def _stop(process: subprocess.Popen):
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


REDIS_USER = "webapp"  # an ACL user, as a deployer would give the app


def redis_url(port: int, password: str, user: str = REDIS_USER) -> str:
    return f"redis://{user}:{password}@127.0.0.1:{port}/0"


@dataclass
class RedisServer:
    """A password-protected redis-server child process that a test can stop and start again on the same port."""

    port: int
    password: str
    tmp_dir: Path
    persist: bool = False
    process: subprocess.Popen | None = None
    # The app user's ACL rules (default: every key and command, as the tests flush and reconfigure through it).
    acl: tuple[str, ...] = ("~*", "&*", "+@all")
    # (certificate, key, CA) PEM paths: serve TLS only, on `port`, and hand out rediss:// URLs.
    tls: tuple[Path, Path, Path] | None = None

    @property
    def url(self) -> str:
        if self.tls is None:
            return redis_url(self.port, self.password)
        return f"rediss://{REDIS_USER}:{self.password}@localhost:{self.port}/0?ssl_ca_certs={self.tls[2]}"

    def _listen_args(self) -> list[str]:
        if self.tls is None:
            return ["--port", str(self.port)]
        cert, key, ca = self.tls
        return [
            "--port",
            "0",
            "--tls-port",
            str(self.port),
            "--tls-cert-file",
            str(cert),
            "--tls-key-file",
            str(key),
            "--tls-ca-cert-file",
            str(ca),
            "--tls-auth-clients",
            "no",
        ]

    def start(self) -> bool:
        """Start it; False if the port was taken meanwhile (RuntimeError for any other failure)."""
        import redis

        binary = require("redis-server", "apt-get install redis-server; .ci/run installs it")
        log_path = self.tmp_dir / f"redis-{self.port}.log"
        persistence = ["--save", "3600 1", "--dbfilename", f"dump-{self.port}.rdb"] if self.persist else ["--save", ""]
        with open(log_path, "a") as log:
            self.process = subprocess.Popen(
                [
                    binary,
                    *self._listen_args(),
                    "--bind",
                    "127.0.0.1",
                    *persistence,
                    "--appendonly",
                    "no",
                    "--dir",
                    str(self.tmp_dir),
                    "--daemonize",
                    "no",
                    "--loglevel",
                    "warning",
                    # As deployed: no anonymous access (requirepass), and the app signs in as its own ACL user.
                    "--requirepass",
                    self.password,
                    "--user",
                    REDIS_USER,
                    "on",
                    f">{self.password}",
                    *self.acl,
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                preexec_fn=_dies_with_us(),
            )
        client = redis.Redis.from_url(self.url, socket_connect_timeout=0.5)
        deadline = time.monotonic() + 10
        try:
            while self.process.poll() is None and time.monotonic() < deadline:
                try:
                    client.ping()
                    return True
                except redis.ConnectionError:
                    time.sleep(0.05)
        finally:
            client.close()
        self.stop()
        output = log_path.read_text(errors="replace")
        if "Address already in use" in output:
            return False
        raise RuntimeError(f"redis-server did not start: {output}")

    def stop(self):
        """SIGTERM and wait (with persist=True it saves its data first, and loads it again on start)."""
        if self.process is not None:
            _stop(self.process)


@contextlib.contextmanager
def redis_instance(tmp_dir: Path, persist: bool = False, **options):
    """Start a password-protected redis-server on a free port; yield its RedisServer, to stop and start again.
    options: RedisServer's acl and tls."""
    import secrets

    for _attempt in range(3):  # a free port can be taken between probing and binding
        server = RedisServer(free_port(), secrets.token_urlsafe(24), tmp_dir, persist, **options)
        if not server.start():
            continue
        try:
            yield server
        finally:
            server.stop()
        return
    raise RuntimeError("redis-server found no free port")


@contextlib.contextmanager
def redis_server(tmp_dir: Path):
    """Start a password-protected redis-server on a free port; yield its URL (redis://webapp:<password>@...)."""
    with redis_instance(tmp_dir) as server:
        yield server.url


@dataclass
class Gunicorn:
    url: str
    process: subprocess.Popen
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def gunicorn_env(settings: dict, **server) -> dict:
    """The environment for `gunicorn -c gunicorn.conf.py app:app`: every app setting pinned (a developer's .env
    cannot leak in, since load_dotenv never overrides), then the server's own (BIND, WEB_CONCURRENCY, ...)."""
    env = {key: value for key, value in os.environ.items() if key not in ("GUNICORN_CMD_ARGS", "FORWARDED_ALLOW_IPS")}
    env.update(app_config.DEFAULTS)
    env.update({key: str(value) for key, value in {**settings, **server}.items()})
    return env


def gunicorn_command(control_socket: Path) -> list[str]:
    """What `make serve` runs, with a control socket of the test's own."""
    return [
        sys.executable,
        "-m",
        "gunicorn",
        "-c",
        "gunicorn.conf.py",
        "--control-socket",
        str(control_socket),
        "app:app",
    ]


def run_gunicorn(settings: dict, tmp_dir: Path, timeout=30, **server) -> subprocess.CompletedProcess:
    """Run gunicorn in the foreground until it exits by itself (e.g. refusing to start)."""
    return subprocess.run(
        gunicorn_command(tmp_dir / "gunicorn.ctl"),
        cwd=ROOT,
        env=gunicorn_env(settings, **server),
        capture_output=True,
        text=True,
        timeout=timeout,
        preexec_fn=_dies_with_us(),
    )


@contextlib.contextmanager
def gunicorn(settings: dict, tmp_dir: Path, workers=3, threads=2, public_url=None, **server):
    """Serve the app with gunicorn.conf.py on a free port; yield a Gunicorn. REDIRECT_URI follows the port
    unless public_url names where the browser reaches the site (one URL for several servers)."""
    for _attempt in range(3):
        port = free_port()
        url = f"http://localhost:{port}"
        env = gunicorn_env(
            {"REDIRECT_URI": f"{public_url or url}/getAToken", **settings},
            BIND=f"127.0.0.1:{port}",
            WEB_CONCURRENCY=workers,
            GUNICORN_THREADS=threads,
            **server,
        )
        log_path = tmp_dir / f"gunicorn-{port}.log"
        with open(log_path, "w") as log:
            process = subprocess.Popen(
                gunicorn_command(tmp_dir / f"gunicorn-{port}.ctl"),
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                preexec_fn=_dies_with_us(),
            )
        server_ = Gunicorn(url, process, log_path)
        try:
            if _wait_until_serving(server_):
                yield server_
                return
        finally:
            _stop(process)
        if "Address already in use" not in server_.log():
            raise RuntimeError(f"gunicorn did not start:\n{server_.log()}")
    raise RuntimeError("gunicorn found no free port")


def _wait_until_serving(server: Gunicorn) -> bool:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            return False
        try:
            requests.get(f"{server.url}/static/style.css", timeout=2)
            return True
        except (requests.ConnectionError, requests.Timeout):  # not listening yet, or a worker still booting
            time.sleep(0.1)
    raise RuntimeError(f"gunicorn did not answer within 30 s:\n{server.log()}")
