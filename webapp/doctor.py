"""`flask doctor`: check a deployment before its users do, as a checklist with the fix for each failure.

Each check runs in a daemon thread bounded by --timeout (its HTTP calls too), so a hanging authority or store
costs seconds, not a stuck command. The exit status is 1 when any check fails (warnings and skips do not count).
"""

from __future__ import annotations

import datetime
import email.utils
import os
import secrets
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal
from urllib.parse import urlsplit

import click
import msal
import requests
from flask import current_app
from flask.cli import with_appcontext

from .authorities import MSA_TENANT, Authority, IssuerMismatch
from .clouds import graph_host_for
from .credentials import EXPIRY_WARNING, ClientCredential, client_credential
from .discovery import parse_json
from .errors import CREDENTIAL_FIX_UNKNOWN, CREDENTIAL_FIXES, CredentialUnavailable
from .outbound import TimeoutSession
from .session_store import REDIS_PREFIX
from .settings import GUID, Settings

if TYPE_CHECKING:
    from .extension import EntraSignIn

Status = Literal["ok", "warn", "fail", "skip"]
DEFAULT_TIMEOUT = 10.0  # seconds per check
MAX_CLOCK_SKEW = datetime.timedelta(minutes=5)  # Entra's tolerance for assertions; ours for token times
MIN_SECRET_KEY_LENGTH = 32
MIN_SECRET_KEY_DISTINCT = 10  # distinct characters: "aaaa…" or "abababab…" is long but guessable
WEAK_KEY_WORDS = ("secret", "change", "password", "example", "placeholder", "your", "insecure", "default", "dev")
LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
SYMBOLS = {"ok": "✓", "warn": "!", "fail": "✗", "skip": "-"}
ASCII_SYMBOLS = {"ok": "[ok]", "warn": "[warn]", "fail": "[FAIL]", "skip": "[skip]"}


@dataclass(frozen=True)
class Result:
    status: Status
    detail: str
    fix: str = ""


@dataclass(frozen=True)
class Check:
    name: str
    run: Callable[[], Result]


def command(entra: EntraSignIn) -> click.Command:
    @click.command("doctor")
    @click.option("--timeout", default=DEFAULT_TIMEOUT, show_default=True, help="Seconds each check may take.")
    @with_appcontext
    def doctor(timeout: float) -> None:
        """Check the configuration, credential, session store, authority, redirect URI and clock."""
        symbols = SYMBOLS if _stdout_speaks_unicode() else ASCII_SYMBOLS
        failed = False
        for name, result in _results(entra, timeout):
            failed |= result.status == "fail"
            click.echo(f"{symbols[result.status]} {name}: {result.detail}")
            if result.fix:
                click.echo(f"    fix: {result.fix}")
        click.echo("Some checks failed." if failed else "All checks passed.")
        sys.exit(1 if failed else 0)

    return doctor


def _stdout_speaks_unicode() -> bool:
    encoding = getattr(sys.stdout, "encoding", None) or ""
    return encoding.lower().replace("-", "").startswith("utf")


def _results(entra: EntraSignIn, timeout: float) -> Iterator[tuple[str, Result]]:
    """Each check's result as soon as it is known (the checklist is its own progress display)."""
    if entra.problems:  # nothing else can be checked against settings that do not parse
        for problem in entra.problems:
            yield problem.setting, Result("fail", "is not usable", problem.message)
        return
    settings = entra.settings
    http = TimeoutSession(min(timeout, settings.http_connect_timeout), timeout, settings.requests_ca_bundle, timeout)
    checks = [
        Check("Settings", lambda: Result("ok", "every setting is well-formed")),
        Check("SECRET_KEY", lambda: check_secret_key(settings.secret_key)),
        Check("Session store", lambda: check_session_store(settings, current_app.instance_path, timeout)),
        Check("Redirect URI", lambda: check_redirect_uri(settings)),
        Check("Authority metadata", lambda: check_metadata(entra.authority, http)),
        Check("Clock", lambda: check_clock(entra.authority, http)),
        Check("Credential", lambda: check_credential(settings, entra.authority, http)),
        Check("Certificate", lambda: check_certificate(entra.credential)),
    ]
    for check in checks:
        yield check.name, _bounded(check, timeout)


def _bounded(check: Check, timeout: float) -> Result:
    """The check's result, or a failure when it takes longer than timeout (its thread is left to end alone)."""
    outcome: list[Result] = []
    app = current_app._get_current_object()  # type: ignore[attr-defined]

    def run() -> None:
        with app.app_context():
            try:
                outcome.append(check.run())
            except Exception as error:  # a check that crashed is a failed check, shown, not a traceback
                outcome.append(Result("fail", f"could not be checked ({type(error).__name__}: {error})"))

    thread = threading.Thread(target=run, name=f"doctor {check.name}", daemon=True)
    thread.start()
    thread.join(timeout)
    if not outcome:
        return Result("fail", f"did not finish within {timeout:g} s", "Check that this machine can reach it.")
    return outcome[0]


def check_secret_key(key: str) -> Result:
    fix = (
        "Set SECRET_KEY to a long random value, the same on every server: "
        "python -c 'import secrets; print(secrets.token_hex(32))'"
    )
    if not key:
        return Result("fail", "is not set (a key generated into this machine's instance folder is used)", fix)
    if len(key) < MIN_SECRET_KEY_LENGTH:
        return Result("fail", f"is {len(key)} characters long, fewer than {MIN_SECRET_KEY_LENGTH}", fix)
    if len(set(key)) < MIN_SECRET_KEY_DISTINCT or any(word in key.lower() for word in WEAK_KEY_WORDS):
        return Result("fail", "looks like a placeholder or a word, not a random value", fix)
    return Result("ok", f"set, {len(key)} characters")


def _several_workers() -> bool:
    concurrency = os.environ.get("WEB_CONCURRENCY", "")
    software = os.environ.get("SERVER_SOFTWARE", "")
    return (concurrency.isdigit() and int(concurrency) > 1) or "gunicorn" in software.lower()


def check_session_store(settings: Settings, instance_path: str, timeout: float) -> Result:
    if settings.session_type == "redis":
        return _check_redis(settings.redis_url, timeout)
    directory = settings.session_file_dir or os.path.join(instance_path, "sessions")
    try:
        os.makedirs(directory, mode=0o700, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=directory, prefix=".doctor-") as probe:
            probe.write(b"probe")
            probe.flush()
    except OSError as error:
        return Result(
            "fail",
            f"the session directory {directory} is not writable ({error.strerror})",
            "Make SESSION_FILE_DIR a directory the app's user can write, or use SESSION_TYPE=redis.",
        )
    detail = f"filesystem, {directory} is writable"
    if _several_workers():
        detail += (
            "; note: several workers share it on this machine, which is fine, but several machines need "
            "SESSION_TYPE=redis with one REDIS_URL"
        )
    return Result("ok", detail)


def _check_redis(url: str, timeout: float) -> Result:
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout, retry=None)
    probe = f"{REDIS_PREFIX}doctor:{secrets.token_hex(8)}"
    try:
        client.ping()
        client.set(probe, b"probe", ex=60)
        read = client.get(probe)
        client.delete(probe)
    except (redis.RedisError, OSError) as error:
        return Result(
            "fail",
            f"Redis cannot be used ({type(error).__name__}: {str(error)[:200]})",
            "Check REDIS_URL (host, port, user and password; rediss:// for TLS) and that this machine reaches Redis.",
        )
    finally:
        client.close()
    if read != b"probe":
        return Result("fail", "Redis did not give back what was written", "Check that REDIS_URL names a real Redis.")
    return Result("ok", "Redis answers PING and keeps what is written (shared by every worker and server)")


def check_redirect_uri(settings: Settings) -> Result:
    parts = urlsplit(settings.redirect_uri)
    host = (parts.hostname or "").lower()
    local = host in LOCAL_HOSTS or host.endswith(".localhost")
    if parts.scheme == "http" and not local:
        return Result(
            "fail",
            f"{settings.redirect_uri} is http on a host other than localhost",
            "Entra refuses http redirect URIs except for localhost: serve the site over https (or behind a proxy "
            "that does) and set REDIRECT_URI=https://" + (parts.netloc or "<host>") + parts.path + ", registered so.",
        )
    if parts.scheme == "https" and not local and settings.trusted_proxies == 0:
        return Result(
            "warn",
            f"{settings.redirect_uri} is https, but TRUSTED_PROXIES=0",
            "If a proxy or load balancer terminates TLS in front of the app, set TRUSTED_PROXIES to the number of "
            "proxies so that the app sees https; ignore this if the app serves TLS itself.",
        )
    return Result("ok", f"{settings.redirect_uri} fits the proxy settings")


def _document(flow_url: str, http: requests.Session) -> tuple[dict, requests.Response]:
    response = http.get(flow_url)
    response.raise_for_status()
    document = parse_json(response)
    if not isinstance(document, dict):
        raise ValueError("the discovery document is not a JSON object")
    return document, response


def check_metadata(authority: Authority, http: requests.Session) -> Result:
    for flow in authority.flows.values():
        try:
            document, _ = _document(flow.discovery_url, http)
            missing = [
                k for k in ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri") if k not in document
            ]
            if missing:
                raise ValueError("the discovery document has no " + ", ".join(missing))
            _check_issuer(authority, flow.msal_authority, document)
        except IssuerMismatch as mismatch:
            return Result(
                "fail",
                f"{flow.discovery_url}: {mismatch}",
                "Check the tenant in AUTHORITY (or OIDC_AUTHORITY: exactly the provider's issuer, as its discovery "
                "document names it).",
            )
        except (requests.RequestException, ValueError) as error:
            return Result(
                "fail",
                f"{flow.discovery_url} is unreachable or unusable ({type(error).__name__}: {str(error)[:200]})",
                "Check AUTHORITY's host and tenant, this machine's outbound access (firewall, HTTPS_PROXY) and "
                "REQUESTS_CA_BUNDLE if TLS is intercepted.",
            )
    return Result("ok", f"{authority.signin.discovery_url} answers with a consistent issuer")


def _check_issuer(authority: Authority, msal_authority: Mapping[str, str], document: dict) -> None:
    """Raises IssuerMismatch when the document's issuer cannot be AUTHORITY's (for Entra: its tenant)."""
    issuer = authority.expected_issuer(document, "{tenantid}")  # oidc: exactly OIDC_AUTHORITY
    if authority.kind != "entra":
        return
    tenant = urlsplit(msal_authority["authority"]).path.strip("/").split("/")[0].lower()
    named = urlsplit(issuer).path.strip("/").split("/")[0].lower()
    expected = {"common": "{tenantid}", "organizations": "{tenantid}", "consumers": MSA_TENANT}.get(tenant, tenant)
    if GUID.match(expected) or expected.startswith("{"):
        if named != expected:
            raise IssuerMismatch(f"the issuer {issuer[:100]!r} is not of the tenant {tenant} that AUTHORITY names")
    elif not GUID.match(named):  # a domain name: the issuer names the tenant by its id
        raise IssuerMismatch(f"the issuer {issuer[:100]!r} names no tenant id")


def check_clock(authority: Authority, http: requests.Session) -> Result:
    started = time.time()
    try:
        _, response = _document(authority.signin.discovery_url, http)
    except (requests.RequestException, ValueError) as error:
        return Result("skip", f"the authority did not answer ({type(error).__name__}), so its clock is unknown")
    local = datetime.datetime.fromtimestamp((started + time.time()) / 2, datetime.UTC)
    header = response.headers.get("Date", "")
    try:
        remote = email.utils.parsedate_to_datetime(header)
    except (TypeError, ValueError):
        return Result("skip", "the authority sent no usable Date header")
    skew = local - remote
    seconds = abs(skew.total_seconds())
    if abs(skew) > MAX_CLOCK_SKEW:
        return Result(
            "fail",
            f"this machine's clock is {seconds:.0f} s {'ahead of' if skew.total_seconds() > 0 else 'behind'} the "
            "authority's: client assertions and token time checks fail beyond 5 minutes",
            "Synchronise the clock with NTP (e.g. timedatectl set-ntp true, or chrony).",
        )
    return Result("ok", f"within {max(seconds, 1):.0f} s of the authority's")


def check_credential(settings: Settings, authority: Authority, http: requests.Session) -> Result:
    if authority.kind not in ("entra", "ciam"):
        what = "OIDC_AUTHORITY" if authority.kind == "oidc" else "B2C"
        return Result("skip", f"{what}: no client-credentials request to try (Entra's check only)")
    scope = f"https://{graph_host_for(urlsplit(settings.authority).hostname or '')}/.default"
    credential = client_credential(settings, http)
    try:
        app = msal.ConfidentialClientApplication(
            settings.client_id,
            client_credential=credential.for_msal(),
            authority=settings.authority,
            instance_discovery=False,
            http_client=http,
            token_cache=msal.TokenCache(),
        )
        result = app.acquire_token_for_client([scope])
    except CredentialUnavailable as unavailable:
        return Result("fail", f"the {credential.kind} credential is unavailable", unavailable.message)
    except (requests.RequestException, ValueError) as error:
        return Result(
            "fail", f"the token endpoint could not be reached ({type(error).__name__})", "See the metadata check."
        )
    if "access_token" in result:
        return Result("ok", f"the {credential.kind} gets an app token for {scope}")
    codes = result.get("error_codes") or []
    code = str(codes[0]) if codes else ""
    fix = _fix_for(code) if code else CREDENTIAL_FIX_UNKNOWN
    named = f"AADSTS{code}" if code else str(result.get("error"))
    return Result("fail", f"Entra refused the {credential.kind}: {named} ({result.get('error')})", fix)


def _fix_for(code: str) -> str:
    return CREDENTIAL_FIXES.get(code, CREDENTIAL_FIX_UNKNOWN)


def check_certificate(credential: ClientCredential) -> Result:
    expiry = credential.certificate_expiry()
    if expiry is None:
        return Result("skip", f"the credential is a {credential.kind}, not a certificate")
    left = expiry - datetime.datetime.now(datetime.UTC)
    fix = "Upload a new certificate under Certificates & secrets, then replace CLIENT_CERTIFICATE_PATH's file."
    if left <= datetime.timedelta(0):
        return Result("fail", f"expired on {expiry:%Y-%m-%d}", fix)
    if left <= EXPIRY_WARNING:
        return Result("warn", f"expires in {left.days} days ({expiry:%Y-%m-%d})", fix)
    return Result("ok", f"valid until {expiry:%Y-%m-%d}")
