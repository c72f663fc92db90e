"""The production deployment on loopback, built from the files in deploy/ and nothing else: nginx (the site file,
rendered), app servers started as deploy/systemd/webapp@.service starts them, and redis-server with
deploy/redis/webapp.conf. Each part can be stopped and started again, as an operator would.

What a test substitutes is only what differs per machine: ports, file paths and throwaway secrets. Everything
else (TLS, headers, timeouts, buffering, upstream retries, Redis persistence and eviction, the server command)
comes from the deploy files as written.
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import requests

import app_config
from tests.support.servers import ROOT, _dies_with_us, _stop, require

DEPLOY = ROOT / "deploy"
NGINX_TEMPLATE = DEPLOY / "nginx" / "webapp.conf.template"
SYSTEMD_UNIT = DEPLOY / "systemd" / "webapp@.service"
REDIS_CONF = DEPLOY / "redis" / "webapp.conf"
PLACEHOLDER = re.compile(r"\$\{([A-Z0-9_]+)\}")
# The ACL of the app's Redis user, as deploy/redis/webapp.conf's comment gives it.
REDIS_APP_ACL = "~entra:* +@read +@write +@keyspace +@connection -@dangerous"


def render_template(template: str, values: dict[str, str]) -> str:
    """envsubst with the template's own list of names: every ${NAME} replaced, each name given exactly once."""
    names = set(PLACEHOLDER.findall(template))
    assert names == set(values), f"the template's placeholders are {sorted(names)}, the test gave {sorted(values)}"
    return PLACEHOLDER.sub(lambda match: values[match.group(1)], template)


def _wait_for_port(port: int, process: subprocess.Popen, what: str, log: Path, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with {process.returncode}:\n{log.read_text(errors='replace')}")
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"{what} did not listen on {port} within {timeout} s:\n{log.read_text(errors='replace')}")


@dataclass
class Nginx:
    """nginx with deploy/nginx/webapp.conf.template rendered for loopback ports, inside a minimal main config."""

    directory: Path
    values: dict[str, str]
    process: subprocess.Popen | None = None

    @property
    def access_log_path(self) -> Path:
        return Path(self.values["ACCESS_LOG"])

    def write_config(self) -> Path:
        site = self.directory / "webapp.conf"
        site.write_text(render_template(NGINX_TEMPLATE.read_text(), self.values))
        for temp in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
            (self.directory / temp).mkdir(exist_ok=True)
        d = self.directory
        # As root (CI), nginx's workers would switch to `nobody`, who cannot enter pytest's 0700 directories.
        user = "user root;\n" if os.geteuid() == 0 else ""
        main = d / "nginx.conf"
        main.write_text(
            f"{user}daemon off;\nworker_processes 1;\npid {d}/nginx.pid;\nerror_log {d}/error.log warn;\n"
            "events { worker_connections 1024; }\n"
            "http {\n  include /etc/nginx/mime.types;\n  default_type application/octet-stream;\n"
            f"  client_body_temp_path {d}/client_body;\n  proxy_temp_path {d}/proxy;\n"
            f"  fastcgi_temp_path {d}/fastcgi;\n  uwsgi_temp_path {d}/uwsgi;\n  scgi_temp_path {d}/scgi;\n"
            f"  include {site};\n}}\n"
        )
        return main

    def command(self) -> list[str]:
        binary = require("nginx", "apt-get install nginx; .ci/run installs it")
        return [binary, "-p", str(self.directory), "-c", str(self.directory / "nginx.conf"), "-e", "stderr"]

    def start(self) -> None:
        self.write_config()
        log = self.directory / "nginx.out"
        with open(log, "a") as out:
            self.process = subprocess.Popen(
                self.command(), stdout=out, stderr=subprocess.STDOUT, preexec_fn=_dies_with_us()
            )
        port = int(self.values["HTTPS_LISTEN"].rpartition(":")[2])
        _wait_for_port(port, self.process, "nginx", log)

    def stop(self) -> None:
        if self.process is not None:
            _stop(self.process)

    def access_log(self) -> list[str]:
        return self.access_log_path.read_text(errors="replace").splitlines()

    def logged(self, request_id: str, timeout: float = 5) -> str:
        """The access-log line of the request nginx gave this id, waiting for it a little: nginx writes it just
        after the response, so a client may read the log first."""
        deadline = time.monotonic() + timeout
        while True:
            found = [line for line in self.access_log() if line.endswith(f" request_id={request_id}")]
            if found or time.monotonic() > deadline:
                assert len(found) == 1, f"{len(found)} access-log lines with request_id={request_id}"
                return found[0]
            time.sleep(0.05)


@dataclass
class SystemdService:
    """One instance of deploy/systemd/webapp@.service, run the way systemd runs it: ExecStart in WorkingDirectory
    with Environment= and EnvironmentFile=, ready at the READY=1 a Type=notify service sends, stopped with
    KillSignal and killed after TimeoutStopSec. (User=, sandboxing and restarts on failure are systemd's own and
    not played here.) `paths` maps the unit's absolute paths to this machine's."""

    instance: str
    paths: dict[str, str]
    runtime: Path
    log_path: Path
    process: subprocess.Popen | None = None

    def unit(self) -> dict[str, list[str]]:
        """The [Service] section: each key's values in order, with %i and the mapped paths substituted."""
        section, service = None, {}
        for raw in SYSTEMD_UNIT.read_text().splitlines():
            line = raw.strip()
            if not line or line.startswith(("#", ";")):
                continue
            if line.startswith("["):
                section = line
                continue
            if section == "[Service]":
                key, _, value = line.partition("=")
                value = value.replace("%i", self.instance)
                for unit_path, local in self.paths.items():
                    value = value.replace(unit_path, local)
                service.setdefault(key, []).append(value)
        return service

    def environment(self, unit: dict[str, list[str]]) -> dict[str, str]:
        # systemd gives a service a clean environment. The app's defaults are pinned first so that a developer's
        # .env (gunicorn.conf.py loads one from the working directory, never overriding) cannot leak in.
        env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/"), "LANG": "C.UTF-8"}
        env.update(app_config.DEFAULTS)
        for assignment in unit.get("Environment", []):
            for item in shlex.split(assignment):
                key, _, value = item.partition("=")
                env[key] = value
        for path in unit.get("EnvironmentFile", []):
            for raw in Path(path.lstrip("-")).read_text().splitlines():
                line = raw.strip()
                if line and not line.startswith("#"):
                    key, _, value = line.partition("=")
                    env[key.strip()] = value.strip()
        return env

    def start(self, timeout: float = 30) -> None:
        unit = self.unit()
        assert unit["Type"] == ["notify"], "the unit is Type=notify: ready when gunicorn says so"
        self.runtime.mkdir(mode=0o700, exist_ok=True)  # RuntimeDirectory=
        notify_path = self.runtime / "notify.sock"
        notify_path.unlink(missing_ok=True)
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as notify:
            notify.bind(str(notify_path))
            notify.settimeout(0.2)
            env = {**self.environment(unit), "NOTIFY_SOCKET": str(notify_path)}
            with open(self.log_path, "a") as log:
                self.process = subprocess.Popen(
                    shlex.split(unit["ExecStart"][0]),
                    cwd=unit["WorkingDirectory"][0],
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    preexec_fn=_dies_with_us(),
                )
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise RuntimeError(f"webapp@{self.instance} exited:\n{self.log()}")
                try:
                    if b"READY=1" in notify.recv(4096):
                        return
                except TimeoutError:
                    continue
        raise RuntimeError(f"webapp@{self.instance} sent no READY=1 within {timeout} s:\n{self.log()}")

    def stop(self) -> None:
        """KillSignal to the main process; SIGKILL after TimeoutStopSec (KillMode=mixed)."""
        if self.process is None or self.process.poll() is not None:
            return
        unit = self.unit()
        self.process.send_signal(getattr(signal, unit["KillSignal"][0]))
        try:
            self.process.wait(timeout=float(unit["TimeoutStopSec"][0]))
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_until_ready(self, url: str, timeout: float = 30) -> None:
        """What the unit's rolling-restart recipe waits for between servers: /readyz answering 200."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{url}/readyz", timeout=2).status_code == 200:
                    return
            except (requests.ConnectionError, requests.Timeout):
                pass
            time.sleep(0.1)
        raise RuntimeError(f"webapp@{self.instance} not ready within {timeout} s:\n{self.log()[-3000:]}")


@dataclass
class DeployedRedis:
    """redis-server with deploy/redis/webapp.conf; only port, address, directory and the users file are the
    test's. The app's user has the ACL the file documents; `admin` is the operator's."""

    port: int
    directory: Path
    password: str
    admin_password: str
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://webapp:{self.password}@127.0.0.1:{self.port}/0"

    @property
    def admin_url(self) -> str:
        return f"redis://admin:{self.admin_password}@127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = require("redis-server", "apt-get install redis-server; .ci/run installs it")
        users = self.directory / "webapp-users.conf"
        users.write_text(
            "user default off\n"
            f"user webapp on >{self.password} {REDIS_APP_ACL}\n"
            f"user admin on >{self.admin_password} ~* &* +@all\n"
        )
        users.chmod(0o600)
        log = self.directory / "redis.log"
        command = [binary, str(REDIS_CONF), "--port", str(self.port), "--bind", "127.0.0.1"]
        command += ["--dir", str(self.directory), "--include", str(users), "--logfile", str(log)]
        self.process = subprocess.Popen(command, preexec_fn=_dies_with_us())
        log.touch()
        _wait_for_port(self.port, self.process, "redis-server", log)

    def stop(self) -> None:
        """SIGTERM: Redis writes its append-only file and exits."""
        if self.process is not None:
            _stop(self.process)
