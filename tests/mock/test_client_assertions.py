"""Certificate credentials (private_key_jwt) at the mock's token endpoint, with real msal and hand-built
assertions: every form msal 1.39 sends is accepted, and each defect gets Entra's AADSTS code (reference section 3;
https://learn.microsoft.com/entra/identity-platform/certificate-credentials)."""

from __future__ import annotations

import base64
import time

import jwt
import pytest
import requests

from tests.support.certificates import ClientCertificate, make_certificate
from tests.support.client_assertions import (
    GRAPH_DEFAULT,
    app_only_token,
    assert_msal_refused,
    assert_refused,
    client_credentials_request,
    confidential_app,
    own_assertion,
)

PASSPHRASE = "test-passphrase"


@pytest.fixture(scope="module")
def certificate() -> ClientCertificate:
    return make_certificate()


@pytest.fixture(scope="module")
def other_certificate() -> ClientCertificate:
    return make_certificate("another client")


@pytest.fixture()
def trusted(mock, monkeypatch):
    """msal and requests trust the mock's CA."""
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", mock.ca_bundle)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    return mock


@pytest.fixture()
def registered(mock, certificate) -> ClientCertificate:
    """The certificate, uploaded to the configured app."""
    mock.state.add_certificate(mock.config.client_id, certificate.cert_pem)
    return certificate


class RecordingSession(requests.Session):
    """msal's http_client, keeping each form it posts (to see the assertion msal built)."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict] = []

    def post(self, url, data=None, **kwargs):
        self.forms.append(dict(data or {}))
        return super().post(url, data=data, **kwargs)


def _header(form: dict) -> dict:
    return jwt.get_unverified_header(form["client_assertion"])


def test_msal_pem_key_with_public_certificate_signs_ps256_with_x5t_s256_and_x5c(trusted, oauth, registered):
    session = RecordingSession()
    credential = {"private_key": registered.key_pem.decode(), "public_certificate": registered.cert_pem.decode()}
    result = app_only_token(confidential_app(trusted, credential, http_client=session))

    assert "access_token" in result, result
    header = _header(session.forms[-1])
    assert header["alg"] == "PS256"
    assert base64.urlsafe_b64decode(header["x5t#S256"]).hex().upper() == registered.sha256_hex
    assert header["x5c"][0].replace("\n", "") in registered.cert_pem.decode().replace("\n", "")
    claims = jwt.decode(result["access_token"], options={"verify_signature": False})
    assert claims["appid"] == trusted.config.client_id and claims["idtyp"] == "app"
    assert claims["appidacr"] == "2", "a certificate is appidacr 2"
    assert "roles" not in claims, "no application permissions granted: Entra leaves roles out"


def test_msal_pfx_with_passphrase(trusted, registered, tmp_path):
    pfx = tmp_path / "client.pfx"
    pfx.write_bytes(registered.pfx(PASSPHRASE))
    app = confidential_app(trusted, {"private_key_pfx_path": str(pfx), "passphrase": PASSPHRASE})
    assert "access_token" in app_only_token(app)


def test_msal_encrypted_pem_key_with_passphrase(trusted, registered):
    credential = {
        "private_key": registered.encrypted_key_pem(PASSPHRASE).decode(),
        "passphrase": PASSPHRASE,
        "public_certificate": registered.cert_pem.decode(),
    }
    assert "access_token" in app_only_token(confidential_app(trusted, credential))


def test_msal_sha1_thumbprint_signs_rs256_with_x5t(trusted, registered):
    session = RecordingSession()
    credential = {"private_key": registered.key_pem.decode(), "thumbprint": registered.sha1_hex}
    assert "access_token" in app_only_token(confidential_app(trusted, credential, http_client=session))
    header = _header(session.forms[-1])
    assert header["alg"] == "RS256" and "x5t" in header and "x5t#S256" not in header


def test_msal_reuses_its_assertion_and_a_repeated_jti_is_accepted(trusted, oauth, registered):
    """msal regenerates its assertion only every 540 s; Entra accepts the same jti again."""
    token_endpoint = oauth.token_url()
    assertion = own_assertion(
        registered.key, {"x5t#S256": _s256(registered)}, client_id=trusted.config.client_id, audience=token_endpoint
    )
    for _ in range(2):
        assert client_credentials_request(oauth, assertion).status_code == 200


def test_msal_with_an_unregistered_certificate_is_refused(trusted, other_certificate, registered):
    credential = {
        "private_key": other_certificate.key_pem.decode(),
        "public_certificate": other_certificate.cert_pem.decode(),
    }
    assert_msal_refused(app_only_token(confidential_app(trusted, credential)), 700027)


def test_subject_name_issuer_accepts_a_renewed_certificate_sent_in_x5c(trusted, tmp_path):
    """Subject Name/Issuer auth: a registration trusts any certificate of that subject from that issuer."""
    ca = make_certificate("mock-authority test CA", ca=True)
    uploaded = make_certificate("sni client", issuer=ca)
    renewed = make_certificate("sni client", issuer=ca)
    pfx = tmp_path / "renewed.pfx"
    pfx.write_bytes(renewed.pfx(PASSPHRASE))
    credential = {"private_key_pfx_path": str(pfx), "passphrase": PASSPHRASE, "public_certificate": True}

    trusted.state.add_certificate(trusted.config.client_id, uploaded.cert_pem)
    assert_msal_refused(app_only_token(confidential_app(trusted, credential)), 700027)

    trusted.state.add_certificate(trusted.config.client_id, uploaded.cert_pem, subject_name_issuer=True)
    assert "access_token" in app_only_token(confidential_app(trusted, credential))


def test_authorization_code_grant_accepts_a_certificate_credential(trusted, oauth, registered):
    flow = oauth.get_code()
    assertion = own_assertion(
        registered.key, {"x5t#S256": _s256(registered)}, client_id=trusted.config.client_id, audience=oauth.token_url()
    )
    response = oauth.redeem(
        flow,
        client_secret=None,
        client_assertion_type="urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        client_assertion=assertion,
    )
    assert response.status_code == 200, response.text
    assert {"access_token", "id_token", "refresh_token"} <= set(response.json())


def _s256(cert: ClientCertificate) -> str:
    return base64.urlsafe_b64encode(bytes.fromhex(cert.sha256_hex)).decode().rstrip("=")


def _sha1(cert: ClientCertificate) -> str:
    return base64.urlsafe_b64encode(bytes.fromhex(cert.sha1_hex)).decode()


# Each defect Entra names, built by hand. Entra's codes: reference section 3 and the AADSTS error-code list
# (https://learn.microsoft.com/entra/identity-platform/reference-error-codes).
DEFECTS = {
    "unregistered thumbprint": 700027,
    "signed by another key": 700027,
    "sha1 thumbprint, signed by another key": 700027,
    "expired an hour ago": 700024,
    "not valid for another hour": 700024,
    "iss is not the client id": 700021,
    "sub is not the client id": 700021,
    "aud is another tenant's token endpoint": 700023,
    "aud is the issuer, not the token endpoint": 700023,
}


def _defective(defect: str, cert: ClientCertificate, other: ClientCertificate, client_id: str, endpoint: str) -> str:
    now = int(time.time())
    key, header, algorithm = cert.key, {"x5t#S256": _s256(cert)}, "PS256"
    claims: dict = {}
    if defect == "unregistered thumbprint":
        key, header = other.key, {"x5t#S256": _s256(other)}
    elif defect == "signed by another key":
        key = other.key
    elif defect == "sha1 thumbprint, signed by another key":
        key, header, algorithm = other.key, {"x5t": _sha1(cert)}, "RS256"
    elif defect == "expired an hour ago":
        claims = {"iat": now - 4200, "exp": now - 3600}
    elif defect == "not valid for another hour":
        claims = {"nbf": now + 3600, "exp": now + 4200}
    elif defect == "iss is not the client id":
        claims = {"iss": "00000000-0000-0000-0000-000000000001"}
    elif defect == "sub is not the client id":
        claims = {"sub": "someone-else"}
    elif defect == "aud is another tenant's token endpoint":
        claims = {"aud": endpoint.replace(client_id_tenant(endpoint), "00000000-0000-0000-0000-000000000002")}
    elif defect == "aud is the issuer, not the token endpoint":
        claims = {"aud": endpoint.split("/oauth2/")[0] + "/v2.0"}
    merged = {"client_id": client_id, "audience": endpoint, "algorithm": algorithm, **claims}
    return own_assertion(key, header, **merged)


def client_id_tenant(endpoint: str) -> str:
    """The tenant segment of https://host:port/<tenant>/oauth2/v2.0/token."""
    return endpoint.split("/")[3]


@pytest.mark.parametrize("defect", sorted(DEFECTS))
def test_each_defective_assertion_gets_entras_code(trusted, oauth, registered, other_certificate, defect):
    assertion = _defective(defect, registered, other_certificate, trusted.config.client_id, oauth.token_url())
    assert_refused(client_credentials_request(oauth, assertion), DEFECTS[defect])


def test_a_malformed_assertion_is_invalid_request_50027(trusted, oauth, registered):
    assert_refused(client_credentials_request(oauth, "not.a-jwt"), 50027, status=400, error="invalid_request")


def test_a_registered_certificate_past_its_not_after_is_refused_as_expired(trusted, oauth):
    expired = make_certificate("expired client", expired=True)
    trusted.state.add_certificate(trusted.config.client_id, expired.cert_pem)
    assertion = own_assertion(
        expired.key, {"x5t#S256": _s256(expired)}, client_id=trusted.config.client_id, audience=oauth.token_url()
    )
    body = assert_refused(client_credentials_request(oauth, assertion), 700027)
    assert "The key used is expired" in body["error_description"]


def test_a_certificate_expiring_in_a_day_is_refused_once_the_mock_clock_passes_it(trusted, oauth):
    soon = make_certificate("short-lived client", days_valid=1)
    trusted.state.add_certificate(trusted.config.client_id, soon.cert_pem)
    trusted.state.advance_clock(2 * 86400)
    now = int(trusted.state.now())
    assertion = own_assertion(
        soon.key,
        {"x5t#S256": _s256(soon)},
        client_id=trusted.config.client_id,
        audience=oauth.token_url(),
        iat=now,
        exp=now + 600,
    )
    assert_refused(client_credentials_request(oauth, assertion), 700027)


def test_the_time_range_is_checked_on_the_mock_clock(trusted, oauth, registered):
    assertion = own_assertion(
        registered.key, {"x5t#S256": _s256(registered)}, client_id=trusted.config.client_id, audience=oauth.token_url()
    )
    trusted.state.advance_clock(600 + 301)  # past exp by more than Entra's five minutes of skew
    assert_refused(client_credentials_request(oauth, assertion), 700024)


def test_no_credential_at_all_is_7000218(trusted, oauth):
    response = oauth.session.post(
        oauth.token_url(),
        data={"client_id": trusted.config.client_id, "grant_type": "client_credentials", "scope": GRAPH_DEFAULT},
    )
    assert_refused(response, 7000218)


def test_an_app_without_a_secret_refuses_any_secret_as_a_wrong_one(trusted, oauth):
    form = {
        "client_id": trusted.config.client_id,
        "client_secret": trusted.config.client_secret,
        "grant_type": "client_credentials",
        "scope": GRAPH_DEFAULT,
    }
    assert oauth.session.post(oauth.token_url(), data=form).status_code == 200
    trusted.state.allow_client_secret(trusted.config.client_id, False)
    assert_refused(oauth.session.post(oauth.token_url(), data=form), 7000215)


@pytest.mark.parametrize(
    "scope,code",
    [
        # AADSTS1002012: client credential flows take <resource>/.default only (MicrosoftDocs/azure-docs#99862).
        ("https://graph.microsoft.com/User.Read.All", 1002012),
        ("User.Read", 1002012),
        # One resource per token: two .default scopes of different resources are AADSTS70011 invalid_scope.
        ("https://graph.microsoft.com/.default api://other-api/.default", 70011),
    ],
)
def test_client_credentials_scope_must_be_one_resource_default(trusted, oauth, scope, code):
    form = {
        "client_id": trusted.config.client_id,
        "client_secret": trusted.config.client_secret,
        "grant_type": "client_credentials",
        "scope": scope,
    }
    assert_refused(oauth.session.post(oauth.token_url(), data=form), code, status=400, error="invalid_scope")


def test_control_api_uploads_a_certificate_and_turns_the_secret_off(trusted, oauth, certificate):
    client_id = trusted.config.client_id
    uploaded = oauth.session.post(
        f"{trusted.base_url}/_mock/clients/{client_id}/certificates",
        json={"certificate_pem": certificate.cert_pem.decode()},
    )
    assert uploaded.status_code == 201 and uploaded.json()["sha1"] == certificate.sha1_hex
    assert "access_token" in app_only_token(
        confidential_app(
            trusted, {"private_key": certificate.key_pem.decode(), "public_certificate": certificate.cert_pem.decode()}
        )
    )
    off = oauth.session.post(f"{trusted.base_url}/_mock/clients/{client_id}/secret", json={"allowed": False})
    assert off.status_code == 200
    assert_msal_refused(app_only_token(confidential_app(trusted, trusted.config.client_secret)), 7000215)
