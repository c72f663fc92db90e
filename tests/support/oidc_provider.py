"""An independent, OpenID Certified OpenID Provider for the tests: panva's oidc-provider (tests/oidc_provider/), a
node child process over TLS on a free 127.0.0.1 port, with one confidential client.

Its npm packages come from tests/oidc_provider/package-lock.json (pinned, with integrity hashes) through `npm ci`,
once per lock: into .cache/oidc-provider/<lock hash>/, reused offline afterwards. Without node or npm the tests
are skipped, except in CI (CI=true), where they must run (.ci/run installs Debian's nodejs and npm).

Sign-in pages (server.mjs): /interaction/<uid> is one form, `login` and `password` (equal to the login), posted to
/interaction/<uid>/login; signing in also consents to what the client asked for.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import secrets
import shutil
import subprocess
import threading
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import requests

from mock_authority.tls import TlsMaterial
from tests.support.served import serve_app_at
from tests.support.servers import ROOT, _dies_with_us, _stop, require

SOURCE = ROOT / "tests" / "oidc_provider"
CACHE = ROOT / ".cache" / "oidc-provider"
START_TIMEOUT = 15.0
HOW_TO_INSTALL = "apt-get install nodejs npm; .ci/run installs them"


@dataclass(frozen=True)
class CertifiedProvider:
    issuer: str
    client_id: str
    client_secret: str
    ca_bundle: str  # certifi's roots plus the provider's throwaway CA, for REQUESTS_CA_BUNDLE / verify=
    log_path: Path

    @property
    def discovery_url(self) -> str:
        return f"{self.issuer}/.well-known/openid-configuration"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def http(self) -> requests.Session:
        """A session that trusts the provider's CA (and ignores the environment's REQUESTS_CA_BUNDLE and proxies)."""
        session = requests.Session()
        session.trust_env = False
        session.verify = self.ca_bundle
        return session

    def discovery(self) -> dict:
        return self.http().get(self.discovery_url, timeout=10).json()


def installed_packages() -> Path:
    """The folder holding server.mjs's node_modules, installed by `npm ci` the first time this lock is seen."""
    npm = require("npm", HOW_TO_INSTALL)
    lock = (SOURCE / "package-lock.json").read_bytes()
    folder = CACHE / hashlib.sha256(lock + (SOURCE / "package.json").read_bytes()).hexdigest()[:16]
    done = folder / ".installed"
    if done.exists():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lock", "w") as guard:
        fcntl.flock(guard, fcntl.LOCK_EX)  # another pytest process may be installing the same lock
        if not done.exists():
            for name in ("package.json", "package-lock.json"):
                shutil.copyfile(SOURCE / name, folder / name)
            subprocess.run(
                [npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--prefer-offline", "--loglevel=error"],
                cwd=folder,
                check=True,
                capture_output=True,
                timeout=300,
            )
            done.touch()
    return folder


@contextlib.contextmanager
def certified_provider(
    tmp_dir: Path,
    redirect_uris: Sequence[str],
    post_logout_redirect_uris: Sequence[str] = (),
    extra_scopes: Sequence[str] = (),
    issuer_path: str = "/oidc",
    access_token_ttl: int = 3600,
) -> Iterator[CertifiedProvider]:
    """Start the provider with one client (a new GUID and secret); yield it once it listens; stop it.
    extra_scopes: scopes besides OpenID's that the client may be granted (an API's, e.g. the app's SCOPE).
    issuer_path: where the issuer is mounted; msal's oidc_authority needs at least one path segment.
    The log (CertifiedProvider.log) has a line `grant.success <grant_type>` for each token issued."""
    node = require("node", HOW_TO_INSTALL)
    folder = installed_packages()
    shutil.copyfile(SOURCE / "server.mjs", folder / "server.mjs")  # resolved next to its node_modules
    tls = TlsMaterial(host="127.0.0.1")
    cert, key = tls.server_files()
    client_id, client_secret = str(uuid.uuid4()), secrets.token_urlsafe(32)
    env = {
        "PATH": os.environ.get("PATH", ""),
        "CLIENT_ID": client_id,
        "CLIENT_SECRET": client_secret,
        "REDIRECT_URIS": " ".join(redirect_uris),
        "POST_LOGOUT_REDIRECT_URIS": " ".join(post_logout_redirect_uris),
        "EXTRA_SCOPES": " ".join(extra_scopes),
        "TLS_CERT": cert,
        "TLS_KEY": key,
        "PORT": "0",
        "ISSUER_PATH": issuer_path,
        "ACCESS_TOKEN_TTL": str(access_token_ttl),
    }
    log_path = tmp_dir / f"oidc-provider-{client_id}.log"
    try:
        with open(log_path, "w") as log:
            process = subprocess.Popen(
                [node, "server.mjs"],
                cwd=folder,
                env=env,
                stdin=subprocess.PIPE,  # closed when we go: the server exits then, as on SIGTERM
                stdout=subprocess.PIPE,
                stderr=log,
                preexec_fn=_dies_with_us(),
            )
        try:
            issuer = _issuer_line(process, log_path)
            yield CertifiedProvider(issuer, client_id, client_secret, tls.ca_bundle, log_path)
        finally:
            if process.stdin:
                process.stdin.close()
            _stop(process)
            if process.stdout:
                process.stdout.close()
    finally:
        tls.cleanup()


def _issuer_line(process: subprocess.Popen, log_path: Path) -> str:
    """The issuer from the server's first stdout line, printed once it listens (RuntimeError if it never does)."""
    stdout = process.stdout
    assert stdout is not None
    line: list[bytes] = []
    reader = threading.Thread(target=lambda: line.append(stdout.readline()), daemon=True)
    reader.start()
    reader.join(START_TIMEOUT)
    if not line or not line[0]:
        _stop(process)
        raise RuntimeError(f"oidc-provider did not start:\n{log_path.read_text(errors='replace')}")
    return json.loads(line[0])["issuer"]


@contextlib.contextmanager
def app_at_certified_provider(tmp_dir: Path, scope: str) -> Iterator[tuple[str, CertifiedProvider]]:
    """The app configured for a new provider by OIDC_AUTHORITY alone (no AUTHORITY), SCOPE = scope, ENDPOINT = the
    provider's userinfo; yield (the app's URL, the provider). The provider starts once the app's URL is known (its
    redirect URI and post-logout URI are registered), and stops after the app. Its access tokens live 60 s, less
    than msal's 5-minute margin, so every call of ENDPOINT refreshes first."""
    started: list[CertifiedProvider] = []
    with contextlib.ExitStack() as stack:

        def settings_for(url: str) -> dict:
            provider = stack.enter_context(
                certified_provider(
                    tmp_dir, [f"{url}/getAToken"], [f"{url}/"], extra_scopes=[scope], access_token_ttl=60
                )
            )
            started.append(provider)
            return {
                "OIDC_AUTHORITY": provider.issuer,
                "CLIENT_ID": provider.client_id,
                "CLIENT_SECRET": provider.client_secret,
                "REDIRECT_URI": f"{url}/getAToken",
                "SCOPE": scope,
                "ENDPOINT": provider.discovery()["userinfo_endpoint"],
                "SECRET_KEY": secrets.token_hex(16),
                "SESSION_TYPE": "filesystem",
                "SESSION_FILE_DIR": str(tmp_dir / "sessions"),
                "REQUESTS_CA_BUNDLE": provider.ca_bundle,
                "HTTP_READ_TIMEOUT": 5,
            }

        _app, url = stack.enter_context(serve_app_at(settings_for))
        yield url, started[0]
