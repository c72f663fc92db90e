"""The App Service managed-identity endpoint, driven by msal's ManagedIdentityClient, and a managed identity's
token as an app's federated credential ("managed identity as a federated identity credential")."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import jwt
import msal
import pytest
import requests

from mock_authority import MockConfig, run_in_thread
from mock_authority.credentials import TOKEN_EXCHANGE_APP_ID, TOKEN_EXCHANGE_AUDIENCE
from tests.support.certificates import make_certificate
from tests.support.client_assertions import app_only_token, assert_refused, client_credentials_request, confidential_app

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture()
def app_service(mock, monkeypatch):
    """The environment App Service gives a process: IDENTITY_ENDPOINT and IDENTITY_HEADER (and the mock's CA)."""
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", mock.ca_bundle)
    for name in ("CURL_CA_BUNDLE", "IDENTITY_SERVER_THUMBPRINT", "MSI_ENDPOINT", "MSI_SECRET", "IMDS_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("IDENTITY_ENDPOINT", mock.identity_endpoint)
    monkeypatch.setenv("IDENTITY_HEADER", mock.identity_header)
    return mock


def _exchange_token(identity_client_id: str) -> dict:
    client = msal.ManagedIdentityClient(
        msal.UserAssignedManagedIdentity(client_id=identity_client_id), http_client=requests.Session()
    )
    return client.acquire_token_for_client(resource=TOKEN_EXCHANGE_AUDIENCE)


def test_msal_gets_a_token_exchange_token_signed_by_the_tenant(app_service, oauth):
    identity = app_service.state.add_managed_identity()
    result = _exchange_token(identity.client_id)

    assert "access_token" in result, result
    keys = oauth.session.get(f"{app_service.authority}/discovery/v2.0/keys").json()["keys"]
    claims = jwt.decode(
        result["access_token"],
        jwt.PyJWK(keys[0]).key,
        algorithms=["RS256"],
        # Entra puts the token-exchange app's id in aud for resource api://AzureADTokenExchange.
        audience=TOKEN_EXCHANGE_APP_ID,
        issuer=app_service.issuer,
    )
    assert (claims["sub"], claims["oid"], claims["azp"]) == (
        identity.principal_id,
        identity.principal_id,
        identity.client_id,
    )
    assert app_service.identity_endpoint.startswith("http://"), "App Service's endpoint is plain http"


def test_a_managed_identity_token_is_the_apps_client_assertion(app_service):
    """The federated credential Entra documents for it: issuer = the tenant's v2.0 issuer, subject = the
    identity's principal id, audience api://AzureADTokenExchange."""
    identity = app_service.state.add_managed_identity()
    client = app_service.state.register_client()
    app_service.state.allow_client_secret(client.client_id, False)
    app_service.state.add_federated_credential(client.client_id, app_service.issuer, identity.principal_id)
    app = confidential_app(
        app_service,
        {"client_assertion": lambda: _exchange_token(identity.client_id)["access_token"]},
        client_id=client.client_id,
    )
    result = app_only_token(app)
    assert "access_token" in result, result
    assert jwt.decode(result["access_token"], options={"verify_signature": False})["appid"] == client.client_id


def test_another_identitys_token_is_refused_as_an_unknown_subject(app_service, oauth):
    mine, other = app_service.state.add_managed_identity(), app_service.state.add_managed_identity()
    client = app_service.state.register_client()
    app_service.state.add_federated_credential(client.client_id, app_service.issuer, mine.principal_id)
    token = _exchange_token(other.client_id)["access_token"]
    assert_refused(client_credentials_request(oauth, token, client.client_id), 700213)


def _get(mock, headers: dict | None, **params) -> requests.Response:
    query = {"api-version": "2019-08-01", "resource": TOKEN_EXCHANGE_AUDIENCE, **params}
    return requests.get(mock.identity_endpoint, params=query, headers=headers or {}, timeout=10)


@pytest.mark.parametrize(
    "headers,params,status",
    [
        (None, {}, 400),  # no X-IDENTITY-HEADER
        ({"X-IDENTITY-HEADER": "wrong"}, {}, 401),
        ("right", {"client_id": "11111111-1111-1111-1111-111111111111"}, 400),  # an identity it does not hold
        ("right", {}, 400),  # no system-assigned identity in the mock's App Service
        ("right", {"api-version": "2017-09-01"}, 400),
    ],
)
def test_app_service_refusals_are_status_code_and_message_bodies(app_service, headers, params, status):
    app_service.state.add_managed_identity()
    if headers == "right":
        headers = {"X-IDENTITY-HEADER": app_service.identity_header}
    response = _get(app_service, headers, **params)
    assert response.status_code == status
    assert response.json()["statusCode"] == status and response.json()["message"]


def test_msal_reports_an_unknown_identity_as_an_error(app_service):
    result = _exchange_token("11111111-1111-1111-1111-111111111111")
    assert "access_token" not in result and "400" in result["error_description"], result


def test_an_identity_is_found_by_its_object_id_too(app_service):
    identity = app_service.state.add_managed_identity()
    response = _get(app_service, {"X-IDENTITY-HEADER": app_service.identity_header}, object_id=identity.principal_id)
    assert response.status_code == 200 and response.json()["client_id"] == identity.client_id
    assert set(response.json()) == {"access_token", "expires_on", "resource", "token_type", "client_id"}


def test_control_api_creates_a_managed_identity(app_service, oauth):
    created = oauth.session.post(f"{app_service.base_url}/_mock/managed-identities", json={})
    assert created.status_code == 201
    body = created.json()
    assert (body["identity_endpoint"], body["identity_header"]) == (
        app_service.identity_endpoint,
        app_service.identity_header,
    )
    assert "access_token" in _exchange_token(body["client_id"])


def test_configured_certificate_and_identity_survive_a_reset(tmp_path):
    certificate = make_certificate()
    cert_path = tmp_path / "cert.pem"
    cert_path.write_bytes(certificate.cert_pem + certificate.key_pem)  # a key alongside is ignored
    with run_in_thread(MockConfig(client_certificate=str(cert_path), managed_identity=True)) as mock:
        before = mock.state.managed_identities
        mock.state.reset()
        assert mock.state.managed_identities == before and len(before) == 1
        registered = mock.state.credentials.certificates_for(mock.config.client_id)
        assert [c.sha1.hex().upper() for c in registered] == [certificate.sha1_hex]


def test_cli_managed_identity_prints_the_app_service_settings(tmp_path):
    process = subprocess.Popen(
        [sys.executable, "-m", "mock_authority", "--managed-identity"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        lines: dict[str, str] = {}
        for line in process.stdout:
            if "=" in line and not line.startswith("#"):
                key, _, value = line.strip().partition("=")
                lines[key] = value
            if "MANAGED_IDENTITY_CLIENT_ID" in lines:
                break
        assert lines["IDENTITY_ENDPOINT"].startswith("http://") and lines["IDENTITY_ENDPOINT"].endswith("/msi/token")
        assert lines["IDENTITY_HEADER"] and lines["MANAGED_IDENTITY_CLIENT_ID"]
        response = requests.get(
            lines["IDENTITY_ENDPOINT"],
            params={
                "api-version": "2019-08-01",
                "resource": TOKEN_EXCHANGE_AUDIENCE,
                "client_id": lines["MANAGED_IDENTITY_CLIENT_ID"],
            },
            headers={"X-IDENTITY-HEADER": lines["IDENTITY_HEADER"]},
            timeout=10,
        )
        assert response.status_code == 200, response.text
    finally:
        process.terminate()
        process.communicate(timeout=10)
