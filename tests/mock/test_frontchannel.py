"""Sign-out as Entra does it: sid and login_hint in ID tokens, per-browser-session tracking of the apps a user
signed into, the sign-out page's front-channel iframes (?sid= only), logout_hint, a second registered app."""

from __future__ import annotations

import re
import urllib.parse

import jwt
import pytest

from mock_authority import MockConfig, run_in_thread
from mock_authority.tokens import login_hint

FRONTCHANNEL_A = "http://localhost:5000/auth/frontchannel-logout"
FRONTCHANNEL_B = "https://other.example/signout?from=entra"
OTHER_REDIRECT = "https://other.example/callback"
OTHER_ROOT = "https://other.example/"


def claims_of(body: dict) -> dict:
    return jwt.decode(body["id_token"], options={"verify_signature": False})


def sign_in_to(oauth, client, account=None) -> dict:
    """Code flow for any registered app in oauth's browser (its cookie jar); returns the ID token's claims."""
    verifier, challenge = oauth.new_pkce()
    params = oauth.authorize_params(challenge, client_id=client.client_id, redirect_uri=client.redirect_uris[0])
    flow = oauth.redirect_params(oauth.pick(oauth.authorize(params), account))
    data = {
        "client_id": client.client_id,
        "client_secret": client.client_secret,
        "grant_type": "authorization_code",
        "code": flow["code"],
        "redirect_uri": client.redirect_uris[0],
        "code_verifier": verifier,
        "scope": params["scope"],
    }
    response = oauth.session.post(oauth.token_url(), data=data)
    assert response.status_code == 200, response.text
    claims = claims_of(response.json())
    assert claims["sid"] == flow["session_state"], "the redirect's session_state is the ID token's sid"
    return claims


def end_session(oauth, **params):
    url = f"{oauth.mock.front_url}/{oauth.tenant}/oauth2/v2.0/logout"
    return oauth.session.get(url, params=params, allow_redirects=False)


def iframes(page) -> list[str]:
    return [
        src.replace("&amp;", "&") for src in re.findall(r'<iframe class="frontchannel-logout" src="([^"]+)"', page.text)
    ]


@pytest.fixture()
def apps(mock):
    """The configured app (no front-channel URL) and a second one registered with one."""
    main = mock.state.clients[mock.config.client_id]
    # Its site root is registered too (a post-logout URI must be), and an admin consented to what it asks for:
    # apps registered at run time start with no consent.
    other = mock.state.register_client(
        redirect_uris=(OTHER_REDIRECT, OTHER_ROOT), frontchannel_logout_uri=FRONTCHANNEL_B
    )
    mock.state.grant_admin_consent(other.client_id, "User.ReadBasic.All openid profile email offline_access")
    return main, other


def test_id_tokens_carry_the_sessions_sid_and_an_opaque_login_hint(mock, oauth, apps):
    main, other = apps
    user = mock.state.users[0]
    first = sign_in_to(oauth, main)
    second = sign_in_to(oauth, other)
    assert first["sid"] == second["sid"], "one browser session at the authority, one sid for this account"
    assert first["login_hint"] == login_hint(user.oid, mock.config.tenant_id)
    assert user.upn.lower() not in first["login_hint"].lower()
    again = sign_in_to(oauth, main)
    assert again["sid"] == first["sid"], "signing in again in the same browser keeps the sid"
    oauth.session.cookies.clear()
    assert sign_in_to(oauth, main)["sid"] != first["sid"], "another browser session gets another sid"


def test_sign_out_loads_each_signed_in_apps_frontchannel_url_then_continues(mock, oauth, apps):
    main, other = apps
    sid = sign_in_to(oauth, main)["sid"]
    sign_in_to(oauth, other)
    target = "http://localhost:5000/"
    page = end_session(oauth, post_logout_redirect_uri=target)

    assert page.status_code == 200, "a sign-out page, not a redirect, while front-channel URLs load"
    assert iframes(page) == [f"{FRONTCHANNEL_B}&sid={sid}"], "?sid= only (no iss), apps without a URL skipped"
    assert "iss=" not in iframes(page)[0]
    assert "<script" not in page.text.lower()
    csp = page.headers["Content-Security-Policy"]
    assert "frame-src https://other.example" in csp and "default-src 'none'" in csp
    assert re.search(rf'<meta http-equiv="refresh" content="\d+;url={re.escape(target)}">', page.text)
    assert f'<a id="continue" href="{target}">' in page.text
    assert page.headers["Cache-Control"] == "no-store"
    assert "MOCK_ESTSAUTH" in page.headers["Set-Cookie"] and "Max-Age=0" in page.headers["Set-Cookie"]

    [call] = mock.state.frontchannel_calls
    assert (call.client_id, call.sid, call.user_oid) == (other.client_id, sid, mock.state.users[0].oid)
    [logout] = mock.state.logouts
    assert logout.signed_out == (sid,) and logout.redirect_accepted and logout.post_logout_redirect_uri == target
    _, challenge = oauth.new_pkce()
    silent = oauth.redirect_params(oauth.authorize(oauth.authorize_params(challenge, prompt="none")))
    assert silent["error"] == "login_required", "the browser session at the mock is over"


def test_the_configured_app_can_have_a_frontchannel_url_too(oauth_driver):
    config = MockConfig(redirect_uris=("http://localhost:5000/getAToken",), frontchannel_logout_uri=FRONTCHANNEL_A)
    with run_in_thread(config) as mock:
        oauth = oauth_driver(mock)
        sid = sign_in_to(oauth, mock.state.clients[mock.config.client_id])["sid"]
        page = end_session(oauth)
        assert iframes(page) == [f"{FRONTCHANNEL_A}?sid={sid}"]
        assert "frame-src http://localhost:5000" in page.headers["Content-Security-Policy"]
        assert 'id="continue"' not in page.text, "nowhere to continue to without post_logout_redirect_uri"


def test_logout_hint_signs_out_only_that_account(mock, oauth, apps):
    _, other = apps
    first, second = mock.state.users[0], mock.state.users[1]
    first_sid = sign_in_to(oauth, other, first.oid)["sid"]
    claims = sign_in_to(oauth, other, second.oid)
    assert claims["sid"] != first_sid, "each account signed in at a browser session has its own sid"

    page = end_session(oauth, logout_hint=claims["login_hint"], post_logout_redirect_uri=OTHER_REDIRECT)
    assert iframes(page) == [f"{FRONTCHANNEL_B}&sid={claims['sid']}"]
    [logout] = mock.state.logouts
    assert logout.logout_hint == claims["login_hint"] and logout.signed_out == (claims["sid"],)
    assert "Max-Age=0" not in page.headers.get("Set-Cookie", ""), "the other account is still signed in"

    _, challenge = oauth.new_pkce()
    still = oauth.authorize(oauth.authorize_params(challenge, prompt="none", login_hint=first.upn))
    assert "code" in oauth.redirect_params(still)
    gone = oauth.authorize(oauth.authorize_params(challenge, prompt="none", login_hint=second.upn))
    assert oauth.redirect_params(gone)["error"] == "login_required"


def test_without_a_matching_logout_hint_every_account_is_signed_out(mock, oauth, apps):
    _, other = apps
    sids = {sign_in_to(oauth, other, user.oid)["sid"] for user in mock.state.users[:2]}
    page = end_session(oauth, logout_hint="not-a-hint-of-this-session")
    assert {urllib.parse.parse_qs(urllib.parse.urlsplit(src).query)["sid"][0] for src in iframes(page)} == sids
    assert set(mock.state.logouts[0].signed_out) == sids


def test_prompt_none_with_two_accounts_and_no_hint_needs_interaction(mock, oauth, apps):
    main, _ = apps
    for user in mock.state.users[:2]:
        sign_in_to(oauth, main, user.oid)
    _, challenge = oauth.new_pkce()
    result = oauth.redirect_params(oauth.authorize(oauth.authorize_params(challenge, prompt="none")))
    assert result["error"] == "interaction_required" and result["error_description"].startswith("AADSTS16000:")


def test_sign_out_without_a_session_redirects_at_once(mock, oauth):
    response = end_session(oauth, post_logout_redirect_uri="http://localhost:5000/")
    assert response.status_code == 302 and mock.state.frontchannel_calls == []
    assert mock.state.logouts[0].signed_out == ()


def test_second_app_signs_in_with_its_own_credentials_only(mock, oauth, apps):
    main, other = apps
    assert other.client_id != main.client_id and other.client_secret != main.client_secret
    verifier, challenge = oauth.new_pkce()
    wrong = oauth.authorize(oauth.authorize_params(challenge, client_id=other.client_id))
    assert wrong.status_code == 400 and "AADSTS50011" in wrong.text, "the main app's redirect URI is not its"
    assert end_session(oauth, post_logout_redirect_uri=OTHER_ROOT).status_code == 302
    with pytest.raises(ValueError):
        mock.state.register_client(client_id=other.client_id)
    mock.state.reset()
    assert other.client_id not in mock.state.clients, "apps registered at run time last until the next reset"


def test_control_api_registers_apps_and_lists_sign_outs(mock, oauth):
    control = f"{mock.front_url}/_mock"
    created = oauth.session.post(
        f"{control}/clients", json={"redirect_uris": [OTHER_REDIRECT], "frontchannel_logout_uri": FRONTCHANNEL_B}
    )
    assert created.status_code == 201
    body = created.json()
    assert body["client_secret"] and body["frontchannel_logout_uri"] == FRONTCHANNEL_B
    listed = oauth.session.get(f"{control}/clients").json()
    assert [c["client_id"] for c in listed] == [mock.config.client_id, body["client_id"]]
    assert all("client_secret" not in c for c in listed), "the listing never shows secrets"
    assert oauth.session.post(f"{control}/clients", json={"redirect_uris": 5}).status_code == 400

    # A run-time app starts without consent: an admin grants what it asks for, through the control API too.
    consent = {"scopes": "User.ReadBasic.All openid profile email offline_access"}
    granted = oauth.session.post(f"{control}/clients/{body['client_id']}/admin-consent", json=consent)
    assert granted.status_code == 201 and "User.ReadBasic.All" in granted.json()["granted"]
    client = mock.state.clients[body["client_id"]]
    sid = sign_in_to(oauth, client)["sid"]
    end_session(oauth, logout_hint="x", post_logout_redirect_uri=OTHER_REDIRECT)
    [logout] = oauth.session.get(f"{control}/logouts").json()
    assert logout["logout_hint"] == "x" and logout["signed_out"] == [sid] and logout["redirect_accepted"]
    [call] = oauth.session.get(f"{control}/frontchannel").json()
    assert call["url"] == f"{FRONTCHANNEL_B}&sid={sid}" and call["client_id"] == client.client_id
