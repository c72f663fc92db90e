"""Discovery documents (v2 and v1), JWKS, and their faults."""

from __future__ import annotations

import time

import jwt
import pytest


@pytest.mark.parametrize("tenant_kind", ["tenant", "common", "organizations"])
def test_v2_discovery_document(mock, oauth, tenant_kind):
    tenant = mock.config.tenant_id if tenant_kind == "tenant" else tenant_kind
    response = oauth.session.get(f"{mock.base_url}/{tenant}/v2.0/.well-known/openid-configuration")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    assert response.headers["Cache-Control"] == "max-age=86400, private"
    doc = response.json()
    expected_issuer = mock.issuer if tenant_kind == "tenant" else f"{mock.base_url}/{{tenantid}}/v2.0"
    assert doc["issuer"] == expected_issuer
    assert doc["token_endpoint"] == f"{mock.base_url}/{tenant}/oauth2/v2.0/token", "msal needs https here"
    assert doc["authorization_endpoint"] == f"{mock.front_url}/{tenant}/oauth2/v2.0/authorize", (
        "browser-facing endpoints must be on the plain-http front channel"
    )
    assert doc["end_session_endpoint"] == f"{mock.front_url}/{tenant}/oauth2/v2.0/logout"
    assert doc["jwks_uri"] == f"{mock.base_url}/{tenant}/discovery/v2.0/keys"
    assert doc["id_token_signing_alg_values_supported"] == ["RS256"]
    assert "userinfo_endpoint" in doc
    assert doc["tenant_region_scope"] == ("WW" if tenant_kind == "tenant" else None)


def test_v1_discovery_document_for_identity_logout(mock, oauth):
    tenant = mock.config.tenant_id
    doc = oauth.session.get(f"{mock.authority}/.well-known/openid-configuration").json()
    assert doc["issuer"] == f"{mock.base_url}/{tenant}/"
    assert doc["end_session_endpoint"] == f"{mock.front_url}/{tenant}/oauth2/logout", (
        "identity reads the v1 document's end_session_endpoint"
    )
    assert doc["token_endpoint"].endswith(f"/{tenant}/oauth2/token")
    assert doc["scopes_supported"] == ["openid"]
    assert doc["microsoft_multi_refresh_token"] is True
    assert [r.endpoint for r in mock.state.requests] == ["discovery_v1"]


def test_trailing_slash_authority_double_slash_tolerated(mock, oauth):
    response = oauth.session.get(f"{mock.authority}//v2.0/.well-known/openid-configuration", allow_redirects=False)
    assert response.status_code == 200
    assert response.json()["issuer"] == mock.issuer


def test_unknown_tenant_is_entra_error(mock, oauth):
    response = oauth.session.get(f"{mock.base_url}/not-a-tenant/v2.0/.well-known/openid-configuration")
    assert response.status_code == 400
    assert response.json()["error_codes"] == [90002]


def test_jwks_verifies_issued_id_token(mock, oauth):
    keys = oauth.session.get(f"{mock.authority}/discovery/v2.0/keys").json()["keys"]
    assert len(keys) == 1
    key = keys[0]
    assert {"kty", "use", "kid", "x5t", "n", "e", "x5c", "issuer"} <= key.keys()
    assert key["use"] == "sig" and key["kty"] == "RSA" and key["issuer"] == mock.issuer
    id_token = oauth.sign_in()["id_token"]
    assert jwt.get_unverified_header(id_token)["kid"] == key["kid"]
    claims = jwt.decode(
        id_token, jwt.PyJWK(key).key, algorithms=["RS256"], audience=mock.config.client_id, issuer=mock.issuer
    )
    assert claims["tid"] == mock.config.tenant_id


@pytest.mark.parametrize(
    "endpoint,path",
    [
        ("discovery", "/v2.0/.well-known/openid-configuration"),
        ("jwks", "/discovery/v2.0/keys"),
    ],
)
@pytest.mark.parametrize("status", [404, 500, 503])
def test_status_faults(mock, oauth, endpoint, path, status):
    mock.state.enqueue_fault(endpoint, "status", status=status)
    url = f"{mock.authority}{path}"
    failed = oauth.session.get(url)
    assert failed.status_code == status
    assert failed.json()["error_codes"]
    assert ("Retry-After" in failed.headers) == (status == 503)
    assert oauth.session.get(url).status_code == 200, "faults are one-shot"


def test_slow_discovery_fault(mock, oauth):
    mock.state.enqueue_fault("discovery", "slow", delay=0.3)
    started = time.monotonic()
    response = oauth.session.get(f"{mock.authority}/v2.0/.well-known/openid-configuration")
    assert response.status_code == 200
    assert time.monotonic() - started >= 0.3
