"""Continuous Access Evaluation at the mock: client capabilities in `claims`, xms_cc in access tokens, Graph's
claims challenge for a CAE token issued before the user's sessions were revoked, refresh tokens refused after a
revocation, and a fresh sign-in that satisfies the challenge; with real msal (client_capabilities=["cp1"]).

https://learn.microsoft.com/entra/identity-platform/claims-challenge (header form, xms_cc: "cp1" is the only known
value, case-insensitive); https://learn.microsoft.com/entra/identity/conditional-access/concept-continuous-access-evaluation
(only clients that declare the capability get CAE tokens and challenges); AADSTS50173 (FreshTokenNeeded) in
https://learn.microsoft.com/entra/identity-platform/reference-error-codes."""

from __future__ import annotations

import base64
import json
import re

import jwt
import pytest

from tests.support.authorize_page import redirect_query, submit

CP1 = json.dumps({"access_token": {"xms_cc": {"values": ["cp1"]}}})


def claims_of(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


def me(mock, oauth, token: str):
    return oauth.session.get(
        mock.graph_endpoint.rsplit("/", 1)[0] + "/me", headers={"Authorization": f"Bearer {token}"}
    )


def challenge_params(header: str) -> dict[str, str]:
    """RFC 6750 auth-params of a Bearer challenge (any order)."""
    assert header.startswith("Bearer "), header
    return dict(re.findall(r'(\w+)="([^"]*)"', header))


@pytest.fixture()
def msal_app(make_msal_app):
    return make_msal_app(client_capabilities=["cp1"])


def cp1_sign_in(oauth, account: str) -> dict:
    response = oauth.redeem(oauth.get_code(account=account), claims=CP1)
    assert response.status_code == 200, response.text
    return response.json()


@pytest.mark.parametrize(
    "claims,expected",
    [
        (CP1, ["cp1"]),
        (json.dumps({"access_token": {"xms_cc": {"values": ["CP1", "unknown-capability"]}}}), ["cp1"]),
        (None, None),
    ],
)
def test_access_tokens_carry_the_known_client_capabilities(mock, oauth, claims, expected):
    response = oauth.redeem(oauth.get_code(), claims=claims)
    assert claims_of(response.json()["access_token"]).get("xms_cc") == expected


@pytest.mark.filterwarnings("ignore:.*response_mode.*:UserWarning")
def test_msal_with_cp1_gets_a_cae_token_on_code_and_refresh(mock, oauth, msal_app):
    flow = msal_app.initiate_auth_code_flow([oauth.app_scope], redirect_uri=oauth.redirect_uri)
    result = msal_app.acquire_token_by_auth_code_flow(
        flow, redirect_query(submit(oauth.session, oauth.session.get(flow["auth_uri"])))
    )
    assert claims_of(result["access_token"])["xms_cc"] == ["cp1"]
    account = msal_app.get_accounts()[0]
    refreshed = msal_app.acquire_token_silent_with_error([oauth.app_scope], account, force_refresh=True)
    assert claims_of(refreshed["access_token"])["xms_cc"] == ["cp1"], "msal sends cp1 on refresh too"


def test_graph_challenges_a_cae_token_issued_before_revocation(mock, oauth):
    user = mock.state.users[0]
    tokens = cp1_sign_in(oauth, user.oid)
    mock.state.advance_clock(5)
    revoked_at = mock.state.revoke_user_sessions(user.oid)

    response = me(mock, oauth, tokens["access_token"])

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "InvalidAuthenticationToken"
    params = challenge_params(response.headers["WWW-Authenticate"])
    assert params["error"] == "insufficient_claims" and params["realm"] == ""
    assert params["authorization_uri"] == f"{mock.front_url}/common/oauth2/authorize"
    assert json.loads(base64.b64decode(params["claims"])) == {
        "access_token": {"nbf": {"essential": True, "value": str(int(revoked_at))}}
    }


def test_a_token_without_cp1_keeps_working_after_revocation(mock, oauth):
    user = mock.state.users[0]
    tokens = oauth.sign_in(account=user.oid)
    mock.state.advance_clock(5)
    mock.state.revoke_user_sessions(user.oid)
    assert me(mock, oauth, tokens["access_token"]).status_code == 200, "not a CAE token: valid until it expires"


def test_other_users_cae_tokens_are_not_challenged(mock, oauth):
    tokens = cp1_sign_in(oauth, mock.state.users[1].oid)
    mock.state.advance_clock(5)
    mock.state.revoke_user_sessions(mock.state.users[0].oid)
    assert me(mock, oauth, tokens["access_token"]).status_code == 200


def test_refresh_tokens_issued_before_revocation_are_refused_with_50173(mock, oauth):
    user = mock.state.users[0]
    tokens = cp1_sign_in(oauth, user.oid)
    mock.state.advance_clock(5)
    mock.state.revoke_user_sessions(user.oid)
    body = oauth.refresh(tokens["refresh_token"], claims=CP1).json()
    assert body["error"] == "invalid_grant" and body["error_codes"] == [50173]


def test_prompt_none_after_revocation_needs_a_fresh_sign_in(mock, oauth):
    user = mock.state.users[0]
    oauth.sign_in(account=user.oid)
    mock.state.advance_clock(5)
    mock.state.revoke_user_sessions(user.oid)
    _, challenge = oauth.new_pkce()
    params = oauth.redirect_params(oauth.authorize(oauth.authorize_params(challenge, prompt="none")))
    assert params["error"] == "interaction_required"


@pytest.mark.filterwarnings("ignore:.*response_mode.*:UserWarning")
def test_a_fresh_sign_in_with_the_challenge_satisfies_graph(mock, oauth, msal_app):
    user = mock.state.users[0]
    scopes = [oauth.app_scope]
    flow = msal_app.initiate_auth_code_flow(scopes, redirect_uri=oauth.redirect_uri)
    first = msal_app.acquire_token_by_auth_code_flow(
        flow, redirect_query(submit(oauth.session, oauth.session.get(flow["auth_uri"]), user.oid))
    )
    mock.state.advance_clock(5)
    mock.state.revoke_user_sessions(user.oid)
    challenge = challenge_params(me(mock, oauth, first["access_token"]).headers["WWW-Authenticate"])
    claims_challenge = base64.b64decode(challenge["claims"]).decode()  # msal takes the JSON, not the base64
    account = msal_app.get_accounts(username=user.upn)[0]

    silent = msal_app.acquire_token_silent_with_error(scopes, account, claims_challenge=claims_challenge)
    assert silent["error"] == "invalid_grant" and 50173 in silent["error_codes"], silent

    flow = msal_app.initiate_auth_code_flow(scopes, redirect_uri=oauth.redirect_uri, claims_challenge=claims_challenge)
    page = oauth.session.get(flow["auth_uri"], allow_redirects=False)
    result = msal_app.acquire_token_by_auth_code_flow(flow, redirect_query(submit(oauth.session, page, user.oid)))
    fresh = claims_of(result["access_token"])
    assert fresh["iat"] >= int(json.loads(claims_challenge)["access_token"]["nbf"]["value"])
    assert me(mock, oauth, result["access_token"]).status_code == 200
    again = msal_app.acquire_token_silent_with_error(
        scopes, msal_app.get_accounts(username=user.upn)[0], force_refresh=True
    )
    assert "access_token" in again, "the new refresh token was issued after the revocation"


def test_control_route_revokes_sessions(mock, oauth):
    user = mock.state.users[0]
    tokens = cp1_sign_in(oauth, user.oid)
    mock.state.advance_clock(5)
    answer = oauth.session.post(f"{mock.base_url}/_mock/users/{user.upn}/revoke-sessions").json()
    assert answer["revoked_at"] == mock.state.policies.revoked_at(user.oid)
    assert me(mock, oauth, tokens["access_token"]).status_code == 401
