"""Real msal against the mock: auth-code flow with PKCE and nonce, then a silent refresh."""

from __future__ import annotations

import hashlib
import urllib.parse

import jwt
import msal
import pytest


@pytest.fixture()
def msal_app(make_msal_app):
    return make_msal_app()


@pytest.mark.filterwarnings("ignore:.*response_mode.*:UserWarning")
def test_msal_auth_code_flow_and_silent_refresh(mock, oauth, msal_app):
    flow = msal_app.initiate_auth_code_flow([oauth.app_scope], redirect_uri=oauth.redirect_uri)
    assert flow["auth_uri"].startswith(f"{mock.front_url}/"), "authorize is on the plain-http front channel"
    page = oauth.session.get(flow["auth_uri"], allow_redirects=False)
    redirect = oauth.pick(page, account=mock.state.users[1].oid)
    auth_response = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(redirect.headers["Location"]).query))

    result = msal_app.acquire_token_by_auth_code_flow(flow, auth_response)

    assert "access_token" in result, result
    assert oauth.app_scope in result["scope"].split()
    claims = result["id_token_claims"]
    # msal keeps the raw nonce in the flow and sends its SHA-256 hex; the mock must echo what it received.
    assert claims["nonce"] == hashlib.sha256(flow["nonce"].encode()).hexdigest()
    assert claims["preferred_username"] == mock.state.users[1].upn
    keys = oauth.session.get(f"{mock.authority}/discovery/v2.0/keys").json()["keys"]
    key = jwt.PyJWK(keys[0]).key
    verified = jwt.decode(
        result["id_token"], key, algorithms=["RS256"], audience=mock.config.client_id, issuer=mock.issuer
    )
    assert verified["oid"] == mock.state.users[1].oid

    account = msal_app.get_accounts(username=mock.state.users[1].upn)[0]
    refreshed = msal_app.acquire_token_silent_with_error([oauth.app_scope], account, force_refresh=True)
    assert "access_token" in refreshed, refreshed
    assert [r.grant_type for r in mock.state.requests_to("token")] == ["authorization_code", "refresh_token"]
    assert mock.state.requests_to("discovery_v2"), "msal discovered the tenant over TLS"


def _sign_in_once(mock, oauth, msal_app):
    flow = msal_app.initiate_auth_code_flow([oauth.app_scope], redirect_uri=oauth.redirect_uri)
    redirect = oauth.pick(oauth.session.get(flow["auth_uri"], allow_redirects=False))
    auth_response = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(redirect.headers["Location"]).query))
    try:
        return msal_app.acquire_token_by_auth_code_flow(flow, auth_response)
    except msal.exceptions.MsalServiceError as exc:
        return exc


@pytest.mark.filterwarnings("ignore:.*response_mode.*:UserWarning")
@pytest.mark.parametrize("params,second_call_reaches_mock", [({}, False), ({"retry_after": 0}, True)])
def test_msal_replays_a_token_5xx_for_any_new_code(mock, oauth, msal_app, params, second_call_reaches_mock):
    """msal 1.39 keys its 5xx throttle on url+client+scope+hash(None) for code grants, so a fresh code is
    refused locally for Retry-After (default 5 s); the fault's retry_after=0 lets a test recover at once."""
    mock.state.enqueue_fault("token", "server_error", **params)
    assert isinstance(_sign_in_once(mock, oauth, msal_app), msal.exceptions.MsalServiceError)
    second = _sign_in_once(mock, oauth, msal_app)
    assert len(mock.state.requests_to("token")) == (2 if second_call_reaches_mock else 1)
    assert isinstance(second, dict) == second_call_reaches_mock
