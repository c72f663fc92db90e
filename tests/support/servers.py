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


@contextlib.contextmanager
def redis_server(tmp_dir: Path):
    """Start redis-server without persistence on a free port; yield its URL."""
    binary = require("redis-server", "apt-get install redis-server; .ci/run installs it")
    import redis

    for _attempt in range(3):  # a free port can be taken between probing and binding
        port = free_port()
        log_path = tmp_dir / f"redis-{port}.log"
        with open(log_path, "w") as log:
            process = subprocess.Popen(
                [
                    binary,
                    "--port",
                    str(port),
                    "--bind",
                    "127.0.0.1",
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                    "--dir",
                    str(tmp_dir),
                    "--daemonize",
                    "no",
                    "--loglevel",
                    "warning",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                preexec_fn=_dies_with_us(),
            )
        client = redis.Redis(port=port, socket_connect_timeout=0.5)
        deadline = time.monotonic() + 10
        while process.poll() is None and time.monotonic() < deadline:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                time.sleep(0.05)
        else:
            _stop(process)
            output = log_path.read_text(errors="replace")
            if "Address already in use" in output:
                continue
            raise RuntimeError(f"redis-server did not start: {output}")
        client.close()
        try:
            yield f"redis://127.0.0.1:{port}/0"
        finally:
            _stop(process)
        return
    raise RuntimeError("redis-server found no free port")


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


def run_gunicorn(settings: dict, tmp_dir: Path, timeout=30, **server) -> subprocess.CompletedProcess:
    """Run gunicorn in the foreground until it exits by itself (e.g. refusing to start)."""
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-c",
            "gunicorn.conf.py",
            "--control-socket",
            str(tmp_dir / "gunicorn.ctl"),
            "app:app",
        ],
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
                [
                    sys.executable,
                    "-m",
                    "gunicorn",
                    "-c",
                    "gunicorn.conf.py",
                    "--control-socket",
                    str(tmp_dir / f"gunicorn-{port}.ctl"),
                    "app:app",
                ],
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
        except requests.ConnectionError:
            time.sleep(0.1)
    raise RuntimeError(f"gunicorn did not answer within 30 s:\n{server.log()}")
