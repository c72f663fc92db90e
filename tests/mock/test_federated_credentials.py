"""Federated identity credentials (workload identity federation) at the mock: a token from a trusted issuer is
the app's client_assertion, matched on issuer, subject and audience (reference section 3;
https://learn.microsoft.com/entra/workload-id/workload-identity-federation)."""

from __future__ import annotations

import time
import uuid

import jwt
import pytest

from mock_authority.credentials import TOKEN_EXCHANGE_AUDIENCE
from mock_authority.keys import SigningKey
from tests.support.client_assertions import (
    app_only_token,
    assert_msal_refused,
    assert_refused,
    client_credentials_request,
    confidential_app,
)

SUBJECT = "system:serviceaccount:demo:webapp"


@pytest.fixture()
def trusted(mock, monkeypatch):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", mock.ca_bundle)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    return mock


@pytest.fixture()
def federated_app(trusted):
    """A secret-less app that trusts the mock's workload issuer for SUBJECT."""
    client = trusted.state.register_client()
    trusted.state.allow_client_secret(client.client_id, False)
    trusted.state.add_federated_credential(client.client_id, trusted.workload_issuer, SUBJECT)
    return client


def test_msal_with_a_token_file_callable_gets_an_app_only_token(trusted, federated_app, tmp_path):
    """AKS style: the pod's projected token sits in AZURE_FEDERATED_TOKEN_FILE; msal calls the callable per request."""
    token_file = tmp_path / "azure-identity-token"
    token_file.write_text(trusted.state.mint_workload_token(SUBJECT))
    app = confidential_app(trusted, {"client_assertion": token_file.read_text}, client_id=federated_app.client_id)

    result = app_only_token(app)

    assert "access_token" in result, result
    claims = jwt.decode(result["access_token"], options={"verify_signature": False})
    assert claims["appid"] == federated_app.client_id and claims["appidacr"] == "2"


def test_the_workload_issuer_publishes_discovery_and_the_key_that_signs_its_tokens(trusted, oauth):
    issuer = trusted.workload_issuer
    document = oauth.session.get(f"{issuer}/.well-known/openid-configuration").json()
    assert document["issuer"] == issuer
    keys = oauth.session.get(document["jwks_uri"]).json()["keys"]
    token = trusted.state.mint_workload_token(SUBJECT, lifetime=120)
    claims = jwt.decode(token, jwt.PyJWK(keys[0]).key, algorithms=["RS256"], audience=TOKEN_EXCHANGE_AUDIENCE)
    assert (claims["iss"], claims["sub"], claims["exp"] - claims["iat"]) == (issuer, SUBJECT, 120)


def test_an_issuer_without_a_federated_record_is_700211(trusted, oauth):
    client = trusted.state.register_client()
    trusted.state.add_federated_credential(client.client_id, "https://token.actions.example/", SUBJECT)
    token = trusted.state.mint_workload_token(SUBJECT)
    body = assert_refused(client_credentials_request(oauth, token, client.client_id), 700211)
    assert trusted.workload_issuer in body["error_description"]


def test_an_app_with_no_federated_credential_refuses_a_workload_token_with_700211(trusted, oauth):
    token = trusted.state.mint_workload_token(SUBJECT)
    assert_refused(client_credentials_request(oauth, token), 700211)


@pytest.mark.parametrize("subject", ["system:serviceaccount:demo:other", SUBJECT.upper()])
def test_a_subject_without_a_record_is_700213_and_matching_is_case_sensitive(trusted, oauth, federated_app, subject):
    """Entra matches subjects case-sensitively since 2024-25 (AADSTS7002138 notices, Azure/login#517)."""
    token = trusted.state.mint_workload_token(subject)
    assert_refused(client_credentials_request(oauth, token, federated_app.client_id), 700213)


def test_an_audience_other_than_the_registered_one_is_700212(trusted, oauth, federated_app):
    token = trusted.state.mint_workload_token(SUBJECT, audience="api://AzureADMyOrg")
    assert_refused(client_credentials_request(oauth, token, federated_app.client_id), 700212)


def test_a_registered_custom_audience_is_honoured(trusted, oauth):
    client = trusted.state.register_client()
    trusted.state.add_federated_credential(client.client_id, trusted.workload_issuer, SUBJECT, audience="api://custom")
    token = trusted.state.mint_workload_token(SUBJECT, audience="api://custom")
    assert client_credentials_request(oauth, token, client.client_id).status_code == 200


def test_an_expired_federated_token_is_700024(trusted, oauth, federated_app):
    token = trusted.state.mint_workload_token(SUBJECT, lifetime=60)
    trusted.state.advance_clock(60 + 301)
    assert_refused(client_credentials_request(oauth, token, federated_app.client_id), 700024)


def test_a_token_the_issuer_did_not_sign_is_refused(trusted, oauth, federated_app):
    forged_by = SigningKey()
    now = int(time.time())
    claims = {"iss": trusted.workload_issuer, "sub": SUBJECT, "aud": [TOKEN_EXCHANGE_AUDIENCE], "iat": now}
    claims |= {"exp": now + 600, "jti": str(uuid.uuid4())}
    # The issuer's kid, another key: the signature must not verify.
    forged = jwt.encode(
        claims, forged_by.private_key, algorithm="RS256", headers={"kid": trusted.state.workload_issuer_key.kid}
    )
    assert_refused(client_credentials_request(oauth, forged, federated_app.client_id), 700027)


def test_msal_hands_the_app_entras_refusal(trusted, tmp_path):
    client = trusted.state.register_client()
    app = confidential_app(
        trusted, {"client_assertion": lambda: trusted.state.mint_workload_token(SUBJECT)}, client_id=client.client_id
    )
    assert_msal_refused(app_only_token(app), 700211)


def test_control_api_registers_a_federated_credential_and_mints_a_token(trusted, oauth):
    client = trusted.state.register_client()
    base = f"{trusted.base_url}/_mock"
    added = oauth.session.post(
        f"{base}/clients/{client.client_id}/federated-credentials",
        json={"issuer": trusted.workload_issuer, "subject": SUBJECT},
    )
    assert added.status_code == 201 and added.json()["audience"] == TOKEN_EXCHANGE_AUDIENCE
    minted = oauth.session.post(f"{base}/workload-tokens", json={"subject": SUBJECT})
    assert minted.status_code == 201
    assert client_credentials_request(oauth, minted.json()["token"], client.client_id).status_code == 200
    unknown = oauth.session.post(
        f"{base}/clients/no-such-app/federated-credentials", json={"issuer": "x", "subject": "y"}
    )
    assert unknown.status_code == 400
