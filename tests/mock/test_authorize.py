"""Authorize endpoint: validation, account picker contract, cancel, prompt=none, faults."""

from __future__ import annotations

import re
import urllib.parse

import jwt
import msal
import pytest

from tests.support.authorize_page import redirect_query, submit


def test_picker_page_contract(mock, oauth):
    _, challenge = oauth.new_pkce()
    page = oauth.authorize(oauth.authorize_params(challenge))
    assert page.status_code == 200
    html = page.text
    assert '<html lang="en">' in html
    assert "<title>Pick an account</title>" in html
    assert html.count("<h1") == 1
    assert '<form id="account-picker" method="post"' in html
    assert 'type="hidden" name="ctx"' in html
    _, accounts = oauth.picker_fields(page)
    assert accounts == [u.oid for u in mock.state.users]
    for user in mock.state.users:
        assert user.name in html and user.upn in html
    assert '<button type="submit" name="cancel" value="1"' in html
    assert "<script" not in html.lower(), "no scripts: the CSP forbids them"
    assert "default-src 'none'" in page.headers["Content-Security-Policy"]
    css = oauth.session.get(mock.front_url + re.search(r'href="([^"]+\.css)"', html).group(1))
    assert css.status_code == 200 and "text/css" in css.headers["Content-Type"]


def test_pick_redirects_with_code_client_info_state_and_session_state(mock, oauth):
    flow = oauth.get_code()
    assert flow["state"] == flow["sent_state"]
    assert set(flow) >= {"code", "client_info", "state", "session_state"}
    assert "=" not in flow["client_info"], "client_info is unpadded base64url"


def test_login_hint_puts_user_first(mock, oauth):
    target = mock.state.users[3]
    _, challenge = oauth.new_pkce()
    page = oauth.authorize(
        oauth.authorize_params(challenge, login_hint=target.upn.upper(), **{"X-AnchorMailbox": f"UPN:{target.upn}"})
    )
    _, accounts = oauth.picker_fields(page)
    assert accounts[0] == target.oid
    assert 'data-login-hint="true"' in page.text


def test_unknown_client_shows_error_page_without_redirect(mock, oauth):
    _, challenge = oauth.new_pkce()
    response = oauth.authorize(oauth.authorize_params(challenge, client_id="00001111-aaaa-2222-bbbb-3333cccc4444"))
    assert response.status_code == 400
    assert "Location" not in response.headers
    assert "AADSTS700016" in response.text


@pytest.mark.parametrize(
    "redirect_uri",
    [
        "http://localhost:5000/other",
        "http://localhost:5000/GetAToken",  # case-sensitive
        "https://evil.example/getAToken",
        "http://localhost:5000/getAToken?x=1",
    ],
)
def test_unregistered_redirect_uri_shows_error_page_naming_it(mock, oauth, redirect_uri):
    _, challenge = oauth.new_pkce()
    response = oauth.authorize(oauth.authorize_params(challenge, redirect_uri=redirect_uri))
    assert response.status_code == 400
    assert "Location" not in response.headers, "must never redirect to an unregistered URI"
    assert "AADSTS50011" in response.text
    assert redirect_uri.replace("&", "&amp;") in response.text


def test_localhost_port_is_ignored(mock, oauth):
    flow = oauth.get_code(redirect_uri="http://localhost:61234/getAToken")
    assert "code" in flow


@pytest.mark.parametrize(
    "overrides,error,code",
    [
        ({"response_type": "token"}, "unsupported_response_type", "AADSTS70005"),
        ({"response_type": None}, "invalid_request", "AADSTS900144"),
        ({"scope": "User.Read offline_access"}, "invalid_request", "AADSTS900144"),
        ({"code_challenge": None}, "invalid_request", "AADSTS50148"),
        ({"code_challenge_method": "plain"}, "invalid_request", "AADSTS50148"),
        ({"prompt": "always"}, "invalid_request", "AADSTS90023"),
        ({"response_mode": "form_post"}, "invalid_request", "AADSTS900144"),
        ({"prompt": "none"}, "login_required", "AADSTS50058"),
    ],
)
def test_invalid_requests_redirect_errors_with_state(mock, oauth, overrides, error, code):
    _, challenge = oauth.new_pkce()
    params = oauth.authorize_params(challenge, **overrides)
    result = oauth.redirect_params(oauth.authorize(params))
    assert result["error"] == error
    assert result["error_description"].startswith(code + ":")
    assert "Trace ID:" in result["error_description"]
    assert result["state"] == params["state"]
    assert "code" not in result


@pytest.mark.parametrize("prompt", ["login", "consent", "select_account", "create"])
def test_allowed_prompts_show_picker(mock, oauth, prompt):
    _, challenge = oauth.new_pkce()
    assert oauth.authorize(oauth.authorize_params(challenge, prompt=prompt)).status_code == 200


def test_cancel_redirects_access_denied(mock, oauth):
    _, challenge = oauth.new_pkce()
    params = oauth.authorize_params(challenge)
    result = oauth.redirect_params(oauth.pick(oauth.authorize(params), cancel=True))
    assert result["error"] == "access_denied"
    assert result["error_subcode"] == "cancel"
    assert result["error_description"].startswith("AADSTS65004:")
    assert result["state"] == params["state"]


@pytest.mark.parametrize(
    "kind,subcode", [("access_denied", "cancel"), ("server_error", None), ("interaction_required", None)]
)
def test_authorize_faults(mock, oauth, kind, subcode):
    mock.state.enqueue_fault("authorize", kind)
    _, challenge = oauth.new_pkce()
    params = oauth.authorize_params(challenge)
    result = oauth.redirect_params(oauth.authorize(params))
    assert result["error"] == kind
    assert result.get("error_subcode") == subcode
    assert result["state"] == params["state"]
    assert oauth.authorize(params).status_code == 200, "fault is one-shot"


def test_prompt_none_uses_sso_cookie(mock, oauth):
    oauth.get_code()
    _, challenge = oauth.new_pkce()
    params = oauth.authorize_params(challenge, prompt="none")
    result = oauth.redirect_params(oauth.authorize(params))
    assert "code" in result and result["state"] == params["state"]


@pytest.mark.parametrize("ctx", ["", "forged-ctx"])
def test_unknown_ctx_is_error_page(mock, oauth, ctx):
    response = oauth.session.post(oauth.authorize_url(), data={"ctx": ctx, "account": "x"}, allow_redirects=False)
    assert response.status_code == 400
    assert "Location" not in response.headers


def test_ctx_is_single_use_and_pick_path_alias(mock, oauth):
    _, challenge = oauth.new_pkce()
    page = oauth.authorize(oauth.authorize_params(challenge))
    ctx, accounts = oauth.picker_fields(page)
    pick_url = oauth.authorize_url() + "/pick"
    first = oauth.session.post(pick_url, data={"ctx": ctx, "account": accounts[1]}, allow_redirects=False)
    assert first.status_code == 302
    assert urllib.parse.urlsplit(first.headers["Location"]).path == urllib.parse.urlsplit(oauth.redirect_uri).path
    again = oauth.session.post(pick_url, data={"ctx": ctx, "account": accounts[1]}, allow_redirects=False)
    assert again.status_code == 400


@pytest.mark.filterwarnings("ignore:.*response_mode.*:UserWarning")
def test_max_age_puts_auth_time_in_the_id_token_which_msal_requires(mock, oauth, monkeypatch):
    # OIDC Core 1.0 section 3.1.2.1: with max_age, auth_time is REQUIRED; msal raises without it (oidc.py).
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", mock.ca_bundle)
    app = msal.ConfidentialClientApplication(
        mock.config.client_id,
        client_credential=mock.config.client_secret,
        authority=mock.authority,
        instance_discovery=False,
    )
    flow = app.initiate_auth_code_flow([oauth.app_scope], redirect_uri=oauth.redirect_uri, max_age=300)
    page = oauth.session.get(flow["auth_uri"], allow_redirects=False)
    result = app.acquire_token_by_auth_code_flow(flow, redirect_query(submit(oauth.session, page)))
    assert "access_token" in result, result
    assert abs(result["id_token_claims"]["auth_time"] - mock.state.now()) < 60
    plain = jwt.decode(oauth.sign_in()["id_token"], options={"verify_signature": False})
    assert "auth_time" not in plain, "without max_age the mock leaves auth_time out"
