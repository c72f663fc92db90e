"""The production topology, started once for these tests: nginx terminating TLS (a throwaway test CA) in front of
two app servers (deploy/systemd/webapp@.service, i.e. gunicorn with gunicorn.conf.py, as `make serve` runs it),
one password-protected redis-server (deploy/redis/webapp.conf) and a mock authority of its own, where the app is
registered with its https redirect URI. The app is configured as a deployer would: the environment file holds
REDIRECT_URI=https://…, TRUSTED_PROXIES=1, SESSION_TYPE=redis and one SECRET_KEY."""

import contextlib
import secrets
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis
import requests
import trustme

from mock_authority import MockConfig
from mock_authority.server import MockAuthority, run_in_thread
from tests.support import servers
from tests.support.browser import ScriptedBrowser
from tests.support.topology import DeployedRedis, Nginx, SystemdService

FIGURES = []
APP_WORKERS, APP_THREADS = 2, 4  # per app server: this machine has 2 cores


@dataclass
class AppServer:
    service: SystemdService
    port: int

    @property
    def direct_url(self) -> str:
        """The server itself, bypassing nginx: for its readiness probe only."""
        return f"http://127.0.0.1:{self.port}"

    def restart(self) -> None:
        """systemctl restart webapp@<port>, then wait for /readyz as the unit's rolling-restart recipe does."""
        self.service.stop()
        self.service.start()
        self.service.wait_until_ready(self.direct_url)


@dataclass
class Site:
    url: str  # https://localhost:<nginx port>: the public origin
    http_url: str  # nginx's plain-http listener
    ca_pem: Path  # the test CA that signed nginx's certificate
    mock: MockAuthority
    nginx: Nginx
    apps: list[AppServer]
    redis: DeployedRedis
    directory: Path
    workers: int  # per app server
    threads: int  # per worker

    def browser(self) -> ScriptedBrowser:
        browser = ScriptedBrowser(self.url)
        browser.http.verify = str(self.ca_pem)
        browser.http.trust_env = False  # else REQUESTS_CA_BUNDLE (the other mock's CA) wins over `verify`
        return browser

    def redis_admin(self) -> redis.Redis:
        return redis.Redis.from_url(self.redis.admin_url, socket_timeout=5)

    def log_mark(self) -> int:
        """How many lines nginx's access log has once every request before this call is in it: a request of
        its own, whose line nginx (one worker, in order) writes after all earlier ones."""
        http = requests.Session()
        http.verify, http.trust_env = str(self.ca_pem), False
        barrier = self.nginx.logged(http.get(f"{self.url}/healthz", timeout=10).headers["X-Request-ID"])
        return self.nginx.access_log().index(barrier)

    def log_since(self, mark: int) -> list[str]:
        """The access-log lines of the requests between log_mark() and now."""
        return self.nginx.access_log()[mark + 1 : self.log_mark()]

    def app_ports_in_log(self, lines: list[str]) -> set[int]:
        """Which app servers nginx passed these access-log lines' requests to."""
        ports = {app.port for app in self.apps}
        return {port for line in lines for port in ports if f"upstream=127.0.0.1:{port}" in line}


def _tls_files(directory: Path) -> tuple[Path, Path, Path]:
    ca = trustme.CA(organization_name="topology test CA")
    issued = ca.issue_cert("localhost", "127.0.0.1")
    chain, key, ca_pem = directory / "fullchain.pem", directory / "privkey.pem", directory / "ca.pem"
    chain.write_bytes(b"".join(blob.bytes() for blob in issued.cert_chain_pems))
    issued.private_key_pem.write_to_path(str(key))
    ca.cert_pem.write_to_path(str(ca_pem))
    key.chmod(0o600)
    return chain, key, ca_pem


def _environment_file(path: Path, settings: dict) -> None:
    """/etc/webapp/webapp.env as the README has a deployer make it: .env.sample with their values filled in (the
    sample's comments and other defaults kept), in the format systemd's EnvironmentFile= reads."""
    lines, given = [], {key: str(value) for key, value in settings.items()}
    for line in (servers.ROOT / ".env.sample").read_text().splitlines():
        key, equals, _value = line.partition("=")
        if equals and not line.startswith("#") and key in given:
            line = f"{key}={given.pop(key)}"
        lines.append(line)
    lines += [f"{key}={value}" for key, value in given.items()]  # server settings the sample leaves to the unit
    path.write_text("\n".join(lines) + "\n")
    path.chmod(0o600)


@pytest.fixture(scope="package")
def site(tmp_path_factory):
    for attempt in range(3):  # a free port can be taken between probing and binding: start again on new ones
        with contextlib.ExitStack() as stack:
            try:
                started = _start_site(stack, tmp_path_factory.mktemp("topology"))
            except RuntimeError as error:
                if "Address already in use" in str(error) and attempt < 2:
                    continue
                raise
            yield started
            return


def _start_site(stack: contextlib.ExitStack, directory: Path) -> Site:
    https_port, http_port, *app_ports, redis_port = (servers.free_port() for _ in range(5))
    url = f"https://localhost:{https_port}"
    chain, key, ca_pem = _tls_files(directory)
    venv_gunicorn = servers.ROOT / ".venv" / "bin" / "gunicorn"
    assert venv_gunicorn.exists(), "the unit runs /srv/webapp/.venv/bin/gunicorn: `make test` creates .venv"
    config = MockConfig(
        client_id=str(uuid.uuid4()),
        client_secret=secrets.token_urlsafe(32),
        redirect_uris=(f"{url}/getAToken", f"{url}/"),
    )
    mock = stack.enter_context(run_in_thread(config))
    store = DeployedRedis(redis_port, directory, secrets.token_urlsafe(24), secrets.token_urlsafe(24))
    store.start()
    stack.callback(store.stop)
    env_file = directory / "webapp.env"
    _environment_file(
        env_file,
        {
            "CLIENT_ID": config.client_id,
            "CLIENT_SECRET": config.client_secret,
            "AUTHORITY": mock.authority,
            "ENDPOINT": mock.graph_endpoint,
            "SCOPE": "User.ReadBasic.All",
            "REDIRECT_URI": f"{url}/getAToken",
            "TRUSTED_PROXIES": "1",
            "METRICS": "true",  # served at /metrics on each app server, for a scraper: nginx must not pass it on
            "SESSION_TYPE": "redis",
            "REDIS_URL": store.url,
            "SECRET_KEY": secrets.token_hex(32),
            "WEB_CONCURRENCY": APP_WORKERS,
            "GUNICORN_THREADS": APP_THREADS,
            "REQUESTS_CA_BUNDLE": mock.ca_bundle,
        },
    )
    apps = []
    for port in app_ports:
        runtime = directory / f"run-{port}"
        service = SystemdService(
            str(port),
            {
                "/srv/webapp": str(servers.ROOT),
                "/etc/webapp/webapp.env": str(env_file),
                f"/run/webapp-{port}": str(runtime),
            },
            runtime,
            directory / f"webapp-{port}.log",
        )
        service.start()
        stack.callback(service.stop)
        apps.append(AppServer(service, port))
    for app in apps:
        app.service.wait_until_ready(app.direct_url)
    nginx = Nginx(
        directory,
        {
            "SERVER_NAME": "localhost",
            "PUBLIC_ORIGIN": url,
            "HTTPS_LISTEN": f"127.0.0.1:{https_port}",
            "HTTP_LISTEN": f"127.0.0.1:{http_port}",
            "TLS_CERTIFICATE": str(chain),
            "TLS_CERTIFICATE_KEY": str(key),
            "APP_SERVER_1": f"127.0.0.1:{app_ports[0]}",
            "APP_SERVER_2": f"127.0.0.1:{app_ports[1]}",
            "ACCESS_LOG": str(directory / "access.log"),
        },
    )
    nginx.start()
    stack.callback(nginx.stop)
    return Site(
        url, f"http://127.0.0.1:{http_port}", ca_pem, mock, nginx, apps, store, directory, APP_WORKERS, APP_THREADS
    )


@pytest.fixture
def report():
    """Record a measured figure for the end-of-run summary."""
    return FIGURES.append


def pytest_terminal_summary(terminalreporter):
    if FIGURES:
        terminalreporter.section("production topology figures")
        for line in FIGURES:
            terminalreporter.write_line(line)
