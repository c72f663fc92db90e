"""ID tokens are validated before a session exists: every kind of bad token is refused, with no session."""

import uuid

import pytest

from tests.support.apps import app_settings, serve_app
from tests.support.browser import ScriptedBrowser, assert_signed_out

BAD_TOKENS = [
    ("id_token_wrong_aud", "another application"),
    ("id_token_wrong_iss", "unexpected issuer"),
    ("id_token_expired", "has expired"),
    ("id_token_not_yet_valid", "not valid yet"),
    ("id_token_bad_signature", "signature is invalid"),
    ("id_token_unknown_kid", "key the authority does not publish"),
    ("id_token_wrong_nonce", "nonce"),
]


@pytest.mark.parametrize("fault, reason", BAD_TOKENS)
def test_bad_id_token_at_sign_in_is_refused(browser, mock_authority, fault, reason):
    mock_authority.state.enqueue_fault("token", fault)
    page = browser.sign_in()
    assert page.response.status_code == 400, page.text
    assert "invalid_id_token" in page.text and reason in page.text
    assert_signed_out(browser, why="a refused ID token must not leave a session behind")


@pytest.mark.parametrize("fault, reason", BAD_TOKENS[:6])
def test_bad_id_token_on_refresh_is_refused_and_not_stored(browser, mock_authority, fault, reason):
    mock_authority.state.configure(access_token_lifetime=200)  # MSAL refreshes at once
    browser.sign_in()
    mock_authority.state.enqueue_fault("token", fault)
    page = browser.get("/call_api")
    assert page.response.status_code == 400 and reason in page.text
    assert browser.get("/call_api").response.status_code == 200, "the next refresh, with a good token, works"


def test_key_rotation_is_picked_up_without_a_restart(browser, mock_authority, monkeypatch):
    monkeypatch.setattr("webapp.discovery.MIN_KEY_REFETCH_SECONDS", 0)
    browser.sign_in()
    mock_authority.state.rotate_keys()
    other = ScriptedBrowser(browser.app_url)
    assert "Welcome" in other.sign_in().h1
    assert len(mock_authority.state.requests_to("jwks")) == 2, "one fetch, then one refetch for the new kid"


def test_keys_are_fetched_once_for_many_sign_ins(live_app, mock_authority):
    for _ in range(3):
        assert "Welcome" in ScriptedBrowser(live_app.url).sign_in().h1
    assert len(mock_authority.state.requests_to("jwks")) == 1


@pytest.fixture
def foreign_user(mock_authority):
    return mock_authority.state.add_user(name="Guest Person", upn="guest@fabrikam.example", tenant_id=str(uuid.uuid4()))


def multi_tenant_app(mock, tmp_path, **settings):
    authority = mock.authority.rsplit("/", 1)[0] + "/organizations"
    return serve_app(app_settings(mock, tmp_path, AUTHORITY=authority, **settings))


def test_allowed_tenants_refuses_other_tenants(mock_authority, foreign_user, tmp_path):
    home = mock_authority.config.tenant_id
    with multi_tenant_app(mock_authority, tmp_path, ALLOWED_TENANTS=home) as (_, url):
        stranger = ScriptedBrowser(url)
        page = stranger.sign_in(upn=foreign_user.upn)
        assert page.response.status_code == 403 and "tenant_not_allowed" in page.text
        assert "not allowed to sign in" in page.text
        assert_signed_out(stranger)
        member = ScriptedBrowser(url)
        assert "Welcome" in member.sign_in(upn=mock_authority.state.users[0].upn).h1


def test_multi_tenant_without_allow_list_accepts_each_tenant_by_its_own_issuer(mock_authority, foreign_user, tmp_path):
    with multi_tenant_app(mock_authority, tmp_path) as (_, url):
        page = ScriptedBrowser(url).sign_in(upn=foreign_user.upn)
        assert page.h1 == f"Welcome, {foreign_user.name}"
        assert foreign_user.tenant_id in page.text
