"""`flask doctor` against the mock authority with faults: each failure exits 1 and prints its fix."""

import copy
import json
import secrets
import socket
import time
import uuid

import pytest
import requests

from app import create_app
from tests.support.apps import TEST_CLIENT_ID, app_settings
from tests.support.certificates import make_certificate

FAILED = "✗"


def run_doctor(mock, tmp_path, charset="utf-8", **overrides):
    settings = {"REDIRECT_URI": "http://localhost:5000/getAToken", **overrides}
    app = create_app(app_settings(mock, tmp_path, **settings))
    return app.test_cli_runner(charset=charset).invoke(args=["doctor", "--timeout", "3"])


def line_of(output: str, check: str) -> str:
    return next(line for line in output.splitlines() if line.split(" ", 1)[-1].startswith(check + ":"))


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # closed again when the socket is: nothing listens there


def test_all_good_exits_0(mock_authority, tmp_path):
    result = run_doctor(mock_authority, tmp_path)
    assert result.exit_code == 0, result.output
    assert FAILED not in result.output and "All checks passed." in result.output
    assert line_of(result.output, "Credential").startswith("✓")
    assert mock_authority.state.requests_to("token")[-1].grant_type == "client_credentials"


def test_incomplete_settings_are_listed_and_exit_1(mock_authority, tmp_path):
    result = run_doctor(mock_authority, tmp_path, CLIENT_ID="", SESSION_TYPE="memcached")
    assert result.exit_code == 1
    assert line_of(result.output, "CLIENT_ID").startswith(FAILED) and "Application (client) ID" in result.output
    assert line_of(result.output, "SESSION_TYPE").startswith(FAILED)


# Entra's codes for a refused app credential (learn.microsoft.com/entra/identity-platform/reference-error-codes).
@pytest.mark.parametrize(
    "overrides, fault, code, fix",
    [
        ({"CLIENT_SECRET": secrets.token_urlsafe(32)}, None, "AADSTS7000215", "secret's Value"),
        ({"CLIENT_ID": str(uuid.uuid4())}, None, "AADSTS700016", "Application (client) ID"),
        ({}, "invalid_client", "AADSTS7000222", "has expired"),
    ],
)
def test_a_refused_credential_names_its_code_and_fix(mock_authority, tmp_path, overrides, fault, code, fix):
    if fault:
        mock_authority.state.enqueue_fault("token", fault)
    result = run_doctor(mock_authority, tmp_path, **overrides)
    assert result.exit_code == 1, result.output
    assert code in line_of(result.output, "Credential") and fix in result.output


def test_discovery_down_fails(mock_authority, tmp_path):
    mock_authority.state.enqueue_fault("discovery", "status", status=503)
    result = run_doctor(mock_authority, tmp_path)
    assert result.exit_code == 1
    assert line_of(result.output, "Authority metadata").startswith(FAILED) and "AUTHORITY's host" in result.output


def test_an_issuer_of_another_tenant_fails(mock_authority, tmp_path):
    url = f"{mock_authority.authority}/v2.0/.well-known/openid-configuration"
    document = requests.get(url, verify=mock_authority.ca_bundle, timeout=5).json()
    forged = copy.deepcopy(document)
    forged["issuer"] = document["issuer"].replace(mock_authority.config.tenant_id, str(uuid.uuid4()))
    mock_authority.state.enqueue_fault("discovery", "body", body=json.dumps(forged))
    result = run_doctor(mock_authority, tmp_path)
    assert result.exit_code == 1
    assert "is not of the tenant" in line_of(result.output, "Authority metadata")
    assert "Check the tenant in AUTHORITY" in result.output


@pytest.mark.parametrize("key", ["secret", "changeme-changeme-changeme-changeme", "a" * 40])
def test_a_weak_secret_key_fails(mock_authority, tmp_path, key):
    result = run_doctor(mock_authority, tmp_path, SECRET_KEY=key)
    assert result.exit_code == 1
    assert line_of(result.output, "SECRET_KEY").startswith(FAILED) and "token_hex" in result.output


def test_redis_unreachable_fails(mock_authority, tmp_path):
    result = run_doctor(
        mock_authority, tmp_path, SESSION_TYPE="redis", REDIS_URL=f"redis://127.0.0.1:{closed_port()}/0"
    )
    assert result.exit_code == 1
    assert line_of(result.output, "Session store").startswith(FAILED) and "Check REDIS_URL" in result.output


def test_several_workers_on_files_get_a_note(mock_authority, tmp_path, monkeypatch):
    monkeypatch.setenv("WEB_CONCURRENCY", "4")
    result = run_doctor(mock_authority, tmp_path)
    assert result.exit_code == 0 and "several machines need SESSION_TYPE=redis" in result.output


def test_an_http_redirect_uri_off_localhost_fails(mock_authority, tmp_path):
    # Entra accepts http redirect URIs for localhost only (learn.microsoft.com/entra/identity-platform/reply-url).
    result = run_doctor(mock_authority, tmp_path, REDIRECT_URI="http://app.example.test/getAToken")
    assert result.exit_code == 1
    assert line_of(result.output, "Redirect URI").startswith(FAILED) and "https://app.example.test" in result.output


def test_https_without_trusted_proxies_warns(mock_authority, tmp_path):
    result = run_doctor(mock_authority, tmp_path, REDIRECT_URI="https://app.example.test/getAToken")
    assert result.exit_code == 0, result.output
    assert line_of(result.output, "Redirect URI").startswith("!") and "TRUSTED_PROXIES" in result.output


def test_clock_skew_fails(mock_authority, tmp_path):
    mock_authority.state.advance_clock(600)
    result = run_doctor(mock_authority, tmp_path)
    assert result.exit_code == 1
    assert "behind the authority's" in line_of(result.output, "Clock") and "NTP" in result.output


def test_a_hanging_authority_costs_seconds(mock_authority, tmp_path):
    mock_authority.state.enqueue_fault("discovery", "slow", delay=6)
    started = time.monotonic()
    result = run_doctor(mock_authority, tmp_path)
    assert result.exit_code == 1
    assert time.monotonic() - started < 10
    assert line_of(result.output, "Authority metadata").startswith(FAILED)


def test_plain_ascii_when_stdout_is_not_utf8(mock_authority, tmp_path):
    result = run_doctor(mock_authority, tmp_path, charset="ascii", SECRET_KEY="secret")
    assert result.exit_code == 1
    assert line_of(result.output, "SECRET_KEY").startswith("[FAIL]") and line_of(result.output, "Clock").startswith(
        "[ok]"
    )


def certificate_settings(mock, tmp_path, certificate, registered=True):
    if registered:
        mock.state.add_certificate(TEST_CLIENT_ID, certificate.cert_pem)
    mock.state.allow_client_secret(TEST_CLIENT_ID, False)
    path = tmp_path / "app.pem"
    path.write_bytes(certificate.key_pem + certificate.cert_pem)
    return {"CLIENT_SECRET": "", "CLIENT_CERTIFICATE_PATH": str(path)}


def test_an_unregistered_certificate_is_700027(mock_authority, tmp_path):
    settings = certificate_settings(mock_authority, tmp_path, make_certificate(), registered=False)
    result = run_doctor(mock_authority, tmp_path, **settings)
    assert result.exit_code == 1
    assert "AADSTS700027" in line_of(result.output, "Credential") and "Certificates & secrets" in result.output


def test_a_certificate_expiring_within_30_days_warns(mock_authority, tmp_path):
    settings = certificate_settings(mock_authority, tmp_path, make_certificate(days_valid=10))
    result = run_doctor(mock_authority, tmp_path, **settings)
    assert result.exit_code == 0, result.output
    assert line_of(result.output, "Certificate").startswith("!") and "expires in" in result.output
    assert line_of(result.output, "Credential").startswith("✓")


def test_an_expired_certificate_is_a_setting_to_fix(mock_authority, tmp_path):
    settings = certificate_settings(mock_authority, tmp_path, make_certificate(expired=True))
    result = run_doctor(mock_authority, tmp_path, **settings)
    assert result.exit_code == 1
    assert line_of(result.output, "CLIENT_CERTIFICATE_PATH").startswith(FAILED) and "expired on" in result.output


def test_an_oidc_provider_skips_the_credential_check(mock_authority, tmp_path):
    # The mock's tenant is also an OpenID provider whose issuer is its v2.0 issuer.
    result = run_doctor(mock_authority, tmp_path, AUTHORITY="", OIDC_AUTHORITY=mock_authority.issuer)
    assert line_of(result.output, "Credential").startswith("- ") and "OIDC_AUTHORITY" in result.output
