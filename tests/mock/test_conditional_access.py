"""Conditional Access at the mock: MFA required of a user (at refresh, at sign-in, silently) and a user blocked
by policy, at the authorize and token endpoints; with real msal where its classification matters.

Entra's error codes: https://learn.microsoft.com/entra/identity-platform/reference-error-codes (50076, 50079,
53003). The token endpoint's form (invalid_grant with suberror basic_action or message_only, and a claims member
naming the policy in capolids) is Entra's observed answer; msal's own tests classify basic_action as needing
interaction (msal application.py, acquire_token_silent_with_error)."""

from __future__ import annotations

import json
import re
import urllib.parse

import jwt
import pytest

from tests.support.authorize_page import redirect_query, submit


def claims_of(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


def approve_mfa(oauth, page):
    """Post the MFA page's Approve button (what a user does in the authenticator app)."""
    assert page.status_code == 200 and 'id="mfa"' in page.text, page.text[:300]
    ctx = re.search(r'name="ctx" value="([^"]+)"', page.text).group(1)
    account = re.search(r'name="account" value="([^"]+)"', page.text).group(1)
    return oauth.session.post(
        oauth.authorize_url(), data={"ctx": ctx, "account": account, "mfa": "approve"}, allow_redirects=False
    )


@pytest.fixture()
def msal_app(make_msal_app):
    return make_msal_app(client_capabilities=["cp1"])


@pytest.mark.parametrize("code", [50076, 50079])
def test_mfa_required_at_refresh_is_invalid_grant_basic_action_with_the_policy_as_claims(mock, oauth, code):
    user = mock.state.users[0]
    tokens = oauth.sign_in(account=user.oid)
    policy_id = mock.state.require_mfa(user.oid, code)

    response = oauth.refresh(tokens["refresh_token"])

    assert response.status_code == 400, response.text
    body = response.json()
    assert body["error"] == "invalid_grant", "Entra answers MFA at refresh with invalid_grant, not interaction_required"
    assert body["error_codes"] == [code] and body["error_description"].startswith(f"AADSTS{code}: ")
    assert body["suberror"] == "basic_action"
    assert json.loads(body["claims"]) == {"access_token": {"capolids": {"essential": True, "values": [policy_id]}}}


def test_other_users_refresh_normally_while_one_must_use_mfa(mock, oauth):
    tokens = oauth.sign_in(account=mock.state.users[1].oid)
    mock.state.require_mfa(mock.state.users[0].oid)
    assert oauth.refresh(tokens["refresh_token"]).status_code == 200


@pytest.mark.filterwarnings("ignore:.*response_mode.*:UserWarning")
def test_msal_needs_interaction_then_an_mfa_sign_in_lets_refresh_work_again(mock, oauth, msal_app):
    user = mock.state.users[0]
    scopes = [oauth.app_scope]
    flow = msal_app.initiate_auth_code_flow(scopes, redirect_uri=oauth.redirect_uri)
    first = msal_app.acquire_token_by_auth_code_flow(
        flow, redirect_query(submit(oauth.session, oauth.session.get(flow["auth_uri"]), user.oid))
    )
    assert "access_token" in first, first
    mock.state.require_mfa(user.oid)
    account = msal_app.get_accounts(username=user.upn)[0]

    refused = msal_app.acquire_token_silent_with_error(scopes, account, force_refresh=True)

    assert refused["error"] == "invalid_grant" and refused["classification"] == "basic_action", refused
    # The app signs the user in again with the claims Entra returned; msal merges cp1 into them.
    flow = msal_app.initiate_auth_code_flow(scopes, redirect_uri=oauth.redirect_uri, claims_challenge=refused["claims"])
    sent = json.loads(dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(flow["auth_uri"]).query))["claims"])
    assert "capolids" in sent["access_token"] and sent["access_token"]["xms_cc"] == {"values": ["cp1"]}
    mfa_page = submit(oauth.session, oauth.session.get(flow["auth_uri"], allow_redirects=False), user.oid)
    assert "Approve sign-in request" in mfa_page.text, "a user whose policy requires MFA gets the MFA step"
    result = msal_app.acquire_token_by_auth_code_flow(flow, redirect_query(approve_mfa(oauth, mfa_page)))
    assert "access_token" in result, result
    assert "mfa" in claims_of(result["access_token"])["amr"]

    again = msal_app.acquire_token_silent_with_error(
        scopes, msal_app.get_accounts(username=user.upn)[0], force_refresh=True
    )
    assert "access_token" in again, f"a refresh token of an MFA sign-in satisfies the policy: {again}"


def test_cancel_on_the_mfa_page_is_access_denied(mock, oauth):
    user = mock.state.users[0]
    mock.state.require_mfa(user.oid)
    verifier, challenge = oauth.new_pkce()
    mfa_page = oauth.pick(oauth.authorize(oauth.authorize_params(challenge)), user.oid)
    ctx = re.search(r'name="ctx" value="([^"]+)"', mfa_page.text).group(1)
    cancelled = oauth.session.post(oauth.authorize_url(), data={"ctx": ctx, "cancel": "1"}, allow_redirects=False)
    assert oauth.redirect_params(cancelled)["error"] == "access_denied"


def test_prompt_none_needs_interaction_when_mfa_is_required(mock, oauth):
    """A silent request cannot show the MFA step: interaction_required (OIDC Core 3.1.2.6) with the MFA code."""
    user = mock.state.users[0]
    oauth.sign_in(account=user.oid)  # a browser session exists
    mock.state.require_mfa(user.oid)
    _, challenge = oauth.new_pkce()
    silent = oauth.authorize(oauth.authorize_params(challenge, prompt="none", login_hint=user.upn))
    params = oauth.redirect_params(silent)
    assert params["error"] == "interaction_required" and "AADSTS50076" in params["error_description"]


def test_blocked_user_at_refresh_is_53003_and_not_retried_away(mock, oauth):
    user = mock.state.users[0]
    tokens = oauth.sign_in(account=user.oid)
    mock.state.block_user(user.oid)

    body = oauth.refresh(tokens["refresh_token"]).json()

    assert body["error"] == "invalid_grant" and body["error_codes"] == [53003]
    assert body["suberror"] == "message_only", "53003: nothing the user can do in an interaction helps"
    assert "capolids" in json.loads(body["claims"])["access_token"]


def test_code_issued_before_a_block_is_refused_at_redemption(mock, oauth):
    user = mock.state.users[0]
    flow = oauth.get_code(account=user.oid)
    mock.state.block_user(user.oid)
    body = oauth.redeem(flow).json()
    assert body["error"] == "invalid_grant" and body["error_codes"] == [53003]


def test_blocked_user_sees_entras_error_page_and_the_app_gets_no_redirect(mock, oauth):
    user = mock.state.users[0]
    mock.state.block_user(user.oid)
    _, challenge = oauth.new_pkce()
    page = oauth.pick(oauth.authorize(oauth.authorize_params(challenge)), user.oid)
    assert page.status_code != 302 and "Location" not in page.headers, "Entra keeps a blocked user on its own page"
    assert "53003" in page.text


def test_unblocked_user_signs_in_again(mock, oauth):
    user = mock.state.users[0]
    mock.state.block_user(user.oid)
    mock.state.block_user(user.oid, blocked=False)
    assert "access_token" in oauth.sign_in(account=user.oid)


def test_malformed_claims_at_the_token_endpoint_is_invalid_request(mock, oauth):
    tokens = oauth.sign_in()
    response = oauth.refresh(tokens["refresh_token"], claims="{not json")
    assert response.status_code == 400 and response.json()["error"] == "invalid_request"


def test_control_routes_mirror_the_python_api(mock, oauth):
    user = mock.state.users[0]
    tokens = oauth.sign_in(account=user.oid)
    base = f"{mock.base_url}/_mock/users/{user.oid}"
    assert oauth.session.post(f"{base}/require-mfa", json={"code": 50079}).json()["policy_id"]
    assert oauth.refresh(tokens["refresh_token"]).json()["error_codes"] == [50079]
    assert oauth.session.post(f"{base}/require-mfa", json={"required": False}).status_code == 200
    assert oauth.session.post(f"{base}/block", json={"blocked": True}).status_code == 200
    assert oauth.refresh(tokens["refresh_token"]).json()["error_codes"] == [53003]
    assert oauth.session.post(f"{base}/block", json={"blocked": "yes"}).status_code == 400


def test_after_a_revocation_the_next_sign_in_asks_for_mfa_again(mock, oauth):
    user = mock.state.users[0]
    mock.state.require_mfa(user.oid)
    _, challenge = oauth.new_pkce()
    assert (
        approve_mfa(oauth, oauth.pick(oauth.authorize(oauth.authorize_params(challenge)), user.oid)).status_code == 302
    )
    mock.state.advance_clock(5)
    mock.state.revoke_user_sessions(user.oid)
    page = oauth.pick(oauth.authorize(oauth.authorize_params(challenge)), user.oid)
    assert 'id="mfa"' in page.text, "a revoked session's MFA does not carry over to the next sign-in"
