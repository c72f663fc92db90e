"""Azure AD B2C user flows through real msal (an authority whose path ends in a B2C_1_ policy is B2C to msal).

B2C's documented behaviour (https://learn.microsoft.com/azure/active-directory-b2c/tokens-overview,
.../openid-connect, .../add-password-reset-policy, .../error-codes): the metadata lives at
/<tenant>/<user_flow>/v2.0/.well-known/openid-configuration, the issuer is https://<host>/<tid>/v2.0/ (trailing
slash), tfp names the flow, sub is the object id (the default subject claim), user-flow names are
case-insensitive; a "Forgot your password?" click comes back as access_denied / AADB2C90118, a cancel as
access_denied / AADB2C90091 (the wording public threads quote).

Access tokens (https://learn.microsoft.com/azure/active-directory-b2c/access-tokens): only for a scope of an API
registered in the tenant, https://<tenant>.onmicrosoft.com/<api>/<scope>; aud is that API's client id, scp the
scope's name, azp the app, iss the same issuer, ver 1.0. Any other scope, e.g. Microsoft Graph's, is refused with
AADB2C90117 "The scope '…' provided in the request is not supported" (public threads)."""

from __future__ import annotations

import base64
import json

import jwt
import msal
import pytest
import requests

from mock_authority.b2c import DEMO_API, PASSWORD_RESET, PROFILE_EDITING, SIGN_UP_SIGN_IN
from tests.support.authorize_page import msal_sign_in, redirect_query, submit

pytestmark = pytest.mark.filterwarnings("ignore:.*response_mode.*:UserWarning")


@pytest.fixture()
def trusted(mock, monkeypatch):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", mock.ca_bundle)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    return mock


def _b2c_app(mock, user_flow: str = SIGN_UP_SIGN_IN.name) -> msal.ConfidentialClientApplication:
    return msal.ConfidentialClientApplication(
        mock.config.client_id,
        client_credential=mock.config.client_secret,
        authority=mock.b2c_authority(user_flow),
        token_cache=msal.SerializableTokenCache(),
    )


def test_b2c_metadata_under_the_user_flow(mock, oauth):
    flow = "B2C_1_SignUpSignIn1"  # any case
    doc = oauth.session.get(f"{mock.b2c_authority(flow)}/v2.0/.well-known/openid-configuration").json()
    assert doc["issuer"] == f"{mock.base_url}/{mock.config.tenant_id}/v2.0/"
    base = f"{mock.tenant_domain}/{flow.lower()}"
    assert doc["token_endpoint"] == f"{mock.base_url}/{base}/oauth2/v2.0/token"
    assert doc["authorization_endpoint"] == f"{mock.front_url}/{base}/oauth2/v2.0/authorize"
    assert doc["end_session_endpoint"] == f"{mock.front_url}/{base}/oauth2/v2.0/logout"
    assert doc["jwks_uri"] == f"{mock.base_url}/{base}/discovery/v2.0/keys"
    keys = oauth.session.get(doc["jwks_uri"]).json()["keys"]
    assert keys and keys[0]["kid"]
    # identity 0.11 reads {authority}/.well-known/openid-configuration for its end_session_endpoint.
    v1 = oauth.session.get(f"{mock.b2c_authority()}/.well-known/openid-configuration").json()
    assert v1["end_session_endpoint"].endswith("/oauth2/v2.0/logout")


def test_unknown_user_flow_is_not_found(mock, oauth):
    url = f"{mock.b2c_authority('B2C_1_nosuchflow')}/v2.0/.well-known/openid-configuration"
    assert oauth.session.get(url).status_code == 404


def test_msal_sign_in_through_the_sign_up_sign_in_flow(trusted, oauth):
    mock = trusted
    user = mock.state.users[2]
    app = _b2c_app(mock)
    result = msal_sign_in(app, oauth.session, oauth.redirect_uri, account=user.oid)
    assert "id_token" in result, result
    claims = result["id_token_claims"]
    assert claims["tfp"] == SIGN_UP_SIGN_IN.name
    assert claims["sub"] == claims["oid"] == user.oid
    assert claims["iss"] == mock.b2c_issuer() and claims["iss"].endswith("/v2.0/")
    assert "tid" not in claims
    assert claims["emails"] == [user.mail]
    assert [r.path for r in mock.state.requests_to("token")] == [
        f"/{mock.tenant_domain}/{SIGN_UP_SIGN_IN.name.lower()}/oauth2/v2.0/token"
    ]
    # B2C's client_info makes each user flow its own account: uid "<oid>-<policy>".
    account = app.get_accounts()[0]
    assert account["home_account_id"] == f"{user.oid}-{SIGN_UP_SIGN_IN.name.lower()}.{mock.config.tenant_id}"
    refreshed = app.acquire_token_silent_with_error([], account, force_refresh=True)
    assert refreshed and refreshed["id_token_claims"]["tfp"] == SIGN_UP_SIGN_IN.name, refreshed


def _start(mock, oauth, user_flow):
    _, challenge = oauth.new_pkce()
    params = oauth.authorize_params(challenge, scope="openid offline_access")
    page = oauth.session.get(f"{mock.front_url}/{mock.tenant_domain}/{user_flow}/oauth2/v2.0/authorize", params=params)
    return page, params


def test_forgot_password_link_returns_aadb2c90118(mock, oauth):
    page, params = _start(mock, oauth, SIGN_UP_SIGN_IN.name)
    assert "Forgot your password?" in page.text
    back = redirect_query(submit(oauth.session, page, forgot_password="1"))
    assert back["error"] == "access_denied"
    assert back["error_description"].startswith("AADB2C90118: The user has forgotten their password.")
    assert back["state"] == params["state"]


@pytest.mark.parametrize("user_flow", [SIGN_UP_SIGN_IN.name, PROFILE_EDITING.name, PASSWORD_RESET.name])
def test_cancel_returns_aadb2c90091(mock, oauth, user_flow):
    page, _ = _start(mock, oauth, user_flow)
    back = redirect_query(submit(oauth.session, page, cancel="1"))
    assert back["error"] == "access_denied"
    assert back["error_description"].startswith("AADB2C90091: The user has cancelled entering self-asserted")


def test_profile_editing_flow_changes_the_display_name(trusted, oauth):
    mock = trusted
    user = mock.state.users[0]
    result = msal_sign_in(
        _b2c_app(mock, PROFILE_EDITING.name), oauth.session, oauth.redirect_uri, account=user.oid, display_name="Ada B"
    )
    assert result["id_token_claims"]["name"] == "Ada B"
    assert result["id_token_claims"]["tfp"] == PROFILE_EDITING.name
    assert mock.state.find_user(user.oid).name == "Ada B"


def test_password_reset_flow_signs_in_with_its_own_page(trusted, oauth):
    mock = trusted
    page, _ = _start(mock, oauth, PASSWORD_RESET.name)
    assert "Reset your password" in page.text
    assert "Forgot your password?" not in page.text
    result = msal_sign_in(_b2c_app(mock, PASSWORD_RESET.name), oauth.session, oauth.redirect_uri)
    assert result["id_token_claims"]["tfp"] == PASSWORD_RESET.name


def test_b2c_sign_out_under_the_policy(mock, oauth):
    doc = oauth.session.get(f"{mock.b2c_authority()}/v2.0/.well-known/openid-configuration").json()
    response = requests.get(
        doc["end_session_endpoint"],
        params={"post_logout_redirect_uri": "http://localhost:5000/"},
        allow_redirects=False,
        timeout=10,
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "http://localhost:5000/"


def test_b2c_client_info_on_the_redirect(mock, oauth):
    page, _ = _start(mock, oauth, SIGN_UP_SIGN_IN.name)
    back = redirect_query(submit(oauth.session, page))
    raw = back["client_info"]
    info = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
    assert info["uid"].endswith(f"-{SIGN_UP_SIGN_IN.name.lower()}")
    assert info["utid"] == mock.config.tenant_id


def _api_token_claims(mock, token: str) -> dict:
    """The access token's claims, verified as an API would: the tenant's JWKS, its issuer, the API's audience."""
    doc = requests.get(f"{mock.b2c_authority()}/v2.0/.well-known/openid-configuration", timeout=10).json()
    keys = jwt.PyJWKSet.from_dict(requests.get(doc["jwks_uri"], timeout=10).json())
    key = next(k.key for k in keys.keys if k.key_id == jwt.get_unverified_header(token)["kid"])
    return jwt.decode(token, key, algorithms=["RS256"], audience=DEMO_API.client_id, issuer=doc["issuer"])


def _call_api(mock, token: str | None) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    return requests.get(mock.b2c_api_endpoint, headers=headers, timeout=10)


def test_b2c_access_token_for_the_tenants_api_calls_it(trusted, oauth):
    mock = trusted
    user = mock.state.users[1]
    app = _b2c_app(mock)
    result = msal_sign_in(app, oauth.session, oauth.redirect_uri, scopes=[mock.b2c_api_scope], account=user.oid)
    assert "access_token" in result, result
    assert mock.b2c_api_scope == f"https://{mock.tenant_domain}/demo-api/demo.read"
    claims = _api_token_claims(mock, result["access_token"])
    assert claims["iss"] == mock.b2c_issuer()
    assert claims["scp"] == "demo.read" and claims["azp"] == mock.config.client_id
    assert claims["sub"] == claims["oid"] == user.oid and claims["tfp"] == SIGN_UP_SIGN_IN.name
    assert claims["ver"] == "1.0"
    answer = _call_api(mock, result["access_token"])
    assert answer.status_code == 200, answer.text
    assert answer.json() | {"name": user.name, "oid": user.oid, "scopes": ["demo.read"]} == answer.json()
    # msal refreshes the access token with the refresh token, at the same user flow.
    account = app.get_accounts()[0]
    refreshed = app.acquire_token_silent_with_error([mock.b2c_api_scope], account, force_refresh=True)
    assert refreshed and "access_token" in refreshed, refreshed
    assert refreshed["access_token"] != result["access_token"]
    assert _call_api(mock, refreshed["access_token"]).status_code == 200
    assert mock.state.requests_to("token")[-1].grant_type == "refresh_token"


def test_b2c_refuses_a_graph_scope(trusted, oauth):
    result = msal_sign_in(_b2c_app(trusted), oauth.session, oauth.redirect_uri, scopes=["User.Read"])
    assert result.get("error") == "invalid_scope", result
    assert result["error_description"].startswith("AADB2C90117: The scope 'User.Read' provided in the request")


def test_b2c_openid_scopes_alone_issue_no_access_token(trusted, oauth):
    result = msal_sign_in(_b2c_app(trusted), oauth.session, oauth.redirect_uri)
    assert "id_token" in result and "access_token" not in result, result


def test_demo_api_refuses_what_is_not_its_valid_token(trusted, oauth):
    mock = trusted
    missing = _call_api(mock, None)
    assert missing.status_code == 401 and missing.headers["WWW-Authenticate"] == "Bearer", "RFC 6750 section 3.1"
    token = msal_sign_in(_b2c_app(mock), oauth.session, oauth.redirect_uri, scopes=[mock.b2c_api_scope])["access_token"]
    head, payload, signature = token.split(".")
    tampered = f"{head}.{payload}.{'A' if signature[0] != 'A' else 'B'}{signature[1:]}"
    graph_token = oauth.sign_in()["access_token"]  # an Entra token for Graph: another issuer and audience
    for bad in (tampered, graph_token, "not-a-jwt"):
        refused = _call_api(mock, bad)
        assert refused.status_code == 401, refused.text
        assert refused.headers["WWW-Authenticate"].startswith('Bearer error="invalid_token"')
    mock.state.advance_clock(mock.config.access_token_lifetime + 1)
    expired = _call_api(mock, token)
    assert expired.status_code == 401 and 'error="invalid_token"' in expired.headers["WWW-Authenticate"]
