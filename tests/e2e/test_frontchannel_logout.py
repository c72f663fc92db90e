"""Front-channel logout without a browser: GET /logout/frontchannel?sid=… ends every session of that Entra sign-in
session (and no other), answers a page the authority may frame; sign-out sends Entra the ID token's login_hint."""

import copy

import pytest
import requests

from mock_authority import tokens
from mock_authority.authorize import SSO_COOKIE
from tests.support.browser import ScriptedBrowser, assert_signed_out, is_signed_in

SECURITY_HEADERS = ("Content-Security-Policy", "X-Content-Type-Options", "Referrer-Policy")


def _sso_cookie(browser: ScriptedBrowser) -> str:
    [value] = [cookie.value for cookie in browser.http.cookies if cookie.name == SSO_COOKIE]
    return value


def _share_authority_session(source: ScriptedBrowser, target: ScriptedBrowser) -> None:
    """Give target the authority's SSO cookie of source (one Entra session; each app session its own)."""
    for cookie in source.http.cookies:
        if cookie.name == SSO_COOKIE:
            target.http.cookies.set_cookie(copy.copy(cookie))


def _sid(mock, browser: ScriptedBrowser) -> str:
    [account] = mock.state.sessions.accounts(_sso_cookie(browser))
    return account.sid


def test_frontchannel_ends_every_session_of_that_sid_and_no_other(live_app, mock_authority):
    name = live_app.config["SESSION_COOKIE_NAME"]
    user, other_user = mock_authority.state.users[0], mock_authority.state.users[1]
    first = ScriptedBrowser(live_app.url)
    first.sign_in(upn=user.upn)
    second = ScriptedBrowser(live_app.url)  # a second app session in the same Entra session (e.g. after a lost cookie)
    _share_authority_session(first, second)
    second.sign_in(upn=user.upn)
    same_user_elsewhere = ScriptedBrowser(live_app.url)  # the same user, another Entra session
    same_user_elsewhere.sign_in(upn=user.upn)
    someone_else = ScriptedBrowser(live_app.url)
    someone_else.sign_in(upn=other_user.upn)

    sid = _sid(mock_authority, first)
    assert _sid(mock_authority, second) == sid
    assert _sid(mock_authority, same_user_elsewhere) != sid and _sid(mock_authority, someone_else) != sid
    copied = {label: b.session_cookie() for label, b in (("first", first), ("second", second))}
    assert copied["first"] != copied["second"]

    # The authority's iframe: no app cookie on it (a third-party frame may not send one).
    response = requests.get(f"{live_app.url}/logout/frontchannel", params={"sid": sid}, timeout=30)
    assert response.status_code == 200, response.text[:500]
    assert "no-store" in response.headers.get("Cache-Control", "")
    csp = response.headers["Content-Security-Policy"]
    ancestors = next(part.strip() for part in csp.split(";") if part.strip().startswith("frame-ancestors"))
    assert ancestors.split()[1:] == [mock_authority.front_url], csp
    assert "X-Frame-Options" not in response.headers, "X-Frame-Options would forbid the authority's frame"

    for label, browser in (("first", first), ("second", second)):
        assert_signed_out(browser, why=f"the {label} browser of sid is still signed in")
        assert_signed_out(browser, "/call_api", copied[label], name, why=f"the {label} copied cookie still works")
    assert is_signed_in(same_user_elsewhere), "another Entra session of the same user was ended"
    assert is_signed_in(someone_else), "another user's session was ended"

    # Loaded again (the authority retries, or a second tab's iframe): nothing left to end, still a page.
    again = requests.get(f"{live_app.url}/logout/frontchannel", params={"sid": sid}, timeout=30)
    assert again.status_code == 200
    assert is_signed_in(same_user_elsewhere) and is_signed_in(someone_else)


@pytest.mark.parametrize(
    "query", ["", "?sid=", "?sid=" + "a" * 201, "?other=1"], ids=["none", "empty", "huge", "no-sid"]
)
def test_frontchannel_without_a_usable_sid_is_a_400_page(signed_in, live_app, query):
    response = requests.get(f"{live_app.url}/logout/frontchannel{query}", timeout=30)
    assert response.status_code == 400, response.text[:300]
    assert "text/html" in response.headers["Content-Type"] and "sid" in response.text
    for header in SECURITY_HEADERS:
        assert header in response.headers, header
    assert "Traceback" not in response.text
    assert is_signed_in(signed_in), "a bad front-channel call ended a session"


def test_frontchannel_with_an_unknown_sid_ends_nothing(signed_in, live_app):
    response = requests.get(f"{live_app.url}/logout/frontchannel", params={"sid": "not-a-sid-of-anyone"}, timeout=30)
    assert response.status_code == 200
    assert is_signed_in(signed_in)


def test_sign_out_sends_the_id_tokens_login_hint(signed_in, live_app, mock_authority):
    user = mock_authority.state.users[0]
    expected = tokens.login_hint(user.oid, user.home_tenant(mock_authority.state.config.tenant_id))
    signed_in.sign_out()
    [logout] = mock_authority.state.logouts
    assert logout.logout_hint == expected, logout
    assert logout.post_logout_redirect_uri == f"{live_app.url}/" and logout.redirect_accepted
    assert logout.signed_out, "the authority ended no sign-in: the hint did not name the signed-in account"
    assert_signed_out(signed_in)
