"""Each credential end to end against the mock's token endpoint: sign in, call ENDPOINT (with a refresh, a second
token request), sign out; rotation of certificate and federated token files between two token requests; Entra
refusing a credential shown as the misconfigured-sign-in page."""

import logging
import os
import time

import pytest

from tests.support.apps import TEST_CLIENT_ID, app_settings, serve_app
from tests.support.browser import ScriptedBrowser
from tests.support.certificates import ClientCertificate, make_certificate

SUBJECT = "system:serviceaccount:web:signin"
ROTATED_SUBJECT = "system:serviceaccount:web:signin-v2"


def credential_file(path, client: ClientCertificate, form: str = "pem", password: str = "") -> str:
    """The file CLIENT_CERTIFICATE_PATH names: key and certificate in one PEM (the key encrypted under a
    password), or a PFX."""
    if form == "pfx":
        path.write_bytes(client.pfx(password))
    else:
        path.write_bytes((client.encrypted_key_pem(password) if password else client.key_pem) + client.cert_pem)
    return str(path)


def no_secret(**credential):
    return {"CLIENT_SECRET": "", **credential}


def sign_in_call_api_and_sign_out(url, mock):
    """The whole journey; the access token lives 200 s, so /call_api refreshes it (a second token request)."""
    browser = ScriptedBrowser(url)
    page = browser.sign_in()
    assert page.response.status_code == 200 and "Welcome" in page.h1, page.text
    api = browser.get("/call_api")
    assert api.response.status_code == 200 and "User principal name" in api.text, api.text
    assert [r.grant_type for r in mock.state.requests_to("token")] == ["authorization_code", "refresh_token"]
    assert all(r.status == 200 for r in mock.state.requests_to("token"))
    assert "You have signed out" in browser.sign_out().text
    return browser


@pytest.fixture
def secretless(mock_authority):
    """The test app, with no secret at the mock (any client_secret is refused), and short access tokens."""
    mock_authority.state.allow_client_secret(TEST_CLIENT_ID, False)
    mock_authority.state.configure(access_token_lifetime=200)
    return mock_authority


def test_the_secret_signs_in(mock_authority, tmp_path):
    mock_authority.state.configure(access_token_lifetime=200)
    with serve_app(app_settings(mock_authority, tmp_path)) as (_, url):
        sign_in_call_api_and_sign_out(url, mock_authority)


@pytest.mark.parametrize("send_x5c", [False, True])
@pytest.mark.parametrize("form", ["pem", "encrypted pem", "pfx"])
def test_a_certificate_signs_in(secretless, tmp_path, form, send_x5c):
    client = make_certificate()
    secretless.state.add_certificate(TEST_CLIENT_ID, client.cert_pem)
    password = "" if form == "pem" else "a passphrase"
    credential = no_secret(
        CLIENT_CERTIFICATE_PATH=credential_file(tmp_path / "app.key", client, form, password),
        CLIENT_CERTIFICATE_PASSWORD=password,
        CLIENT_CERTIFICATE_SEND_X5C=send_x5c,
    )
    with serve_app(app_settings(secretless, tmp_path, **credential)) as (_, url):
        sign_in_call_api_and_sign_out(url, secretless)


@pytest.mark.parametrize("send_x5c", [True, False])
def test_subject_name_issuer_needs_x5c(secretless, tmp_path, send_x5c):
    # Subject Name/Issuer authentication trusts any certificate of the registered subject from the registered
    # issuer, which Entra can only see in x5c (msal's docs: public_certificate, "Subject Name/Issuer auth").
    ca = make_certificate("test issuing CA", ca=True)
    uploaded = make_certificate("my-web-app", issuer=ca)
    renewed = make_certificate("my-web-app", issuer=ca)  # renewed by the CA, never uploaded
    secretless.state.add_certificate(TEST_CLIENT_ID, uploaded.cert_pem, subject_name_issuer=True)
    credential = no_secret(
        CLIENT_CERTIFICATE_PATH=credential_file(tmp_path / "app.pem", renewed), CLIENT_CERTIFICATE_SEND_X5C=send_x5c
    )
    with serve_app(app_settings(secretless, tmp_path, **credential)) as (_, url):
        if send_x5c:
            sign_in_call_api_and_sign_out(url, secretless)
        else:
            assert_misconfigured(ScriptedBrowser(url).sign_in(), secretless, "AADSTS700027", "thumbprint")


def test_a_rotated_certificate_is_used_for_the_next_token_request(secretless, tmp_path):
    old, new = make_certificate(), make_certificate()
    path = tmp_path / "app.pem"
    credential_file(path, old)
    secretless.state.add_certificate(TEST_CLIENT_ID, old.cert_pem)
    with serve_app(app_settings(secretless, tmp_path, **no_secret(CLIENT_CERTIFICATE_PATH=str(path)))) as (_, url):
        browser = ScriptedBrowser(url)
        assert "Welcome" in browser.sign_in().h1
        # Swapped by a rename, as a secret volume does; the new certificate is not registered yet, so only a
        # request signed with the old key could still succeed.
        os.replace(credential_file(tmp_path / "rotated.pem", new), path)
        time.sleep(1.1)  # the app looks at the file at most once a second
        refused = browser.get("/call_api")
        assert refused.response.status_code == 503 and "AADSTS700027" in refused.text, "the new key signed it"
        assert new.sha256_hex in refused.text, "Entra names the (x5t#S256) thumbprint of the key it was sent"
        secretless.state.add_certificate(TEST_CLIENT_ID, new.cert_pem)  # the operator uploads it
        page = browser.get("/call_api")
        assert page.response.status_code == 200 and "User principal name" in page.text, page.text
    assert [r.status for r in secretless.state.requests_to("token")] == [200, 401, 200]


def test_a_rotated_federated_token_file_is_read_at_the_next_token_request(secretless, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    state = secretless.state
    state.add_federated_credential(TEST_CLIENT_ID, issuer=state.workload_issuer(), subject=SUBJECT)
    token_file = tmp_path / "azure-identity-token"
    tokens = [state.mint_workload_token(SUBJECT), state.mint_workload_token(ROTATED_SUBJECT)]
    token_file.write_text(tokens[0])
    settings = app_settings(secretless, tmp_path, **no_secret(AZURE_FEDERATED_TOKEN_FILE=str(token_file)))
    with serve_app(settings) as (_, url):
        browser = ScriptedBrowser(url)
        assert "Welcome" in browser.sign_in().h1
        token_file.write_text(tokens[1])  # rotated, here to a subject the app does not trust yet
        refused = browser.get("/call_api")
        assert refused.response.status_code == 503 and "AADSTS700213" in refused.text, "the new token was sent"
        state.add_federated_credential(TEST_CLIENT_ID, issuer=state.workload_issuer(), subject=ROTATED_SUBJECT)
        page = browser.get("/call_api")
        assert page.response.status_code == 200 and "User principal name" in page.text, page.text
        assert "You have signed out" in browser.sign_out().text
    assert [r.status for r in state.requests_to("token")] == [200, 401, 200]
    logs = "\n".join(record.getMessage() for record in caplog.records)
    for token in tokens:
        assert token not in logs and token.split(".")[2] not in logs, "an assertion leaked into the logs"


def test_a_missing_federated_token_file_is_a_clear_page(secretless, tmp_path):
    token_file = tmp_path / "azure-identity-token"
    token_file.write_text("placeholder")
    with serve_app(app_settings(secretless, tmp_path, **no_secret(CLIENT_ASSERTION_FILE=str(token_file)))) as (_, url):
        token_file.unlink()
        page = ScriptedBrowser(url).sign_in()
        assert page.response.status_code == 503 and "sign-in is misconfigured" in page.text
        assert "CLIENT_ASSERTION_FILE" in page.text and str(tmp_path) not in page.text
        assert "Content-Security-Policy" in page.response.headers


@pytest.fixture
def identity_endpoint(secretless, monkeypatch):
    """What App Service sets for a process with a managed identity."""
    monkeypatch.setenv("IDENTITY_ENDPOINT", secretless.identity_endpoint)
    monkeypatch.setenv("IDENTITY_HEADER", secretless.state.identity_header)
    return secretless.identity_endpoint


def test_a_managed_identity_signs_in(secretless, identity_endpoint, tmp_path):
    state = secretless.state
    identity = state.add_managed_identity()
    state.add_federated_credential(TEST_CLIENT_ID, issuer=secretless.issuer, subject=identity.principal_id)
    settings = app_settings(secretless, tmp_path, **no_secret(MANAGED_IDENTITY_CLIENT_ID=identity.client_id))
    with serve_app(settings) as (_, url):
        sign_in_call_api_and_sign_out(url, secretless)


def test_a_failing_managed_identity_endpoint_is_named(secretless, identity_endpoint, tmp_path, monkeypatch):
    identity = secretless.state.add_managed_identity()
    monkeypatch.setenv("IDENTITY_HEADER", "not the platform's secret")
    settings = app_settings(secretless, tmp_path, **no_secret(MANAGED_IDENTITY_CLIENT_ID=identity.client_id))
    with serve_app(settings) as (_, url):
        page = ScriptedBrowser(url).sign_in()
        assert page.response.status_code == 502 and "managed identity endpoint" in page.text, page.text
        assert secretless.state.requests_to("token") == [], "no token request without an assertion"


def test_an_unregistered_certificate_is_700027_with_its_fix(secretless, tmp_path):
    path = credential_file(tmp_path / "app.pem", make_certificate())
    with serve_app(app_settings(secretless, tmp_path, **no_secret(CLIENT_CERTIFICATE_PATH=path))) as (_, url):
        page = ScriptedBrowser(url).sign_in()
    assert_misconfigured(page, secretless, "AADSTS700027", "Certificates &amp; secrets")


def test_a_wrong_secret_is_7000215_with_its_fix(mock_authority, tmp_path):
    with serve_app(app_settings(mock_authority, tmp_path, CLIENT_SECRET="the-secret-id-not-its-value")) as (_, url):
        page = ScriptedBrowser(url).sign_in()
    assert_misconfigured(page, mock_authority, "AADSTS7000215", "not its Secret ID")


def assert_misconfigured(page, mock, code, fix):
    assert page.response.status_code == 503, page.text
    assert "sign-in is misconfigured" in page.text and code in page.text and fix in page.response.text
    token_call = mock.state.requests_to("token")[-1]
    assert token_call.status == 401 and token_call.client_request_id in page.text, "the correlation id is shown"
    for header in ("Content-Security-Policy", "X-Content-Type-Options", "Referrer-Policy"):
        assert header in page.response.headers
    assert "Traceback" not in page.response.text
