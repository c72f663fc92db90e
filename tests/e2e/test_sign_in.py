"""Sign-in end to end: app on a real WSGI server, the mock authority over TLS, a scripted browser."""

from urllib.parse import parse_qs, urlsplit

import pytest

from tests.support.browser import ScriptedBrowser, assert_signed_out, is_signed_in


def test_index_sends_a_signed_out_visitor_to_login(browser):
    response = browser.http.get(browser.url("/"), allow_redirects=False)
    assert response.status_code == 302 and urlsplit(response.headers["Location"]).path == "/login"


def test_login_link_is_an_auth_code_request_with_pkce_state_nonce_and_scopes(browser, mock_authority):
    page = browser.get("/login")
    link = urlsplit(page.link(id="sign-in"))
    query = {key: values[0] for key, values in parse_qs(link.query).items()}
    assert link.path.endswith("/oauth2/v2.0/authorize")
    assert query["response_type"] == "code"
    assert query["code_challenge_method"] == "S256" and len(query["code_challenge"]) == 43
    assert query["prompt"] == "select_account"
    assert set(query["scope"].split()) == {"User.ReadBasic.All", "openid", "profile", "offline_access"}
    assert query["redirect_uri"] == f"{browser.app_url}/getAToken"
    assert query["state"] and len(query["nonce"]) == 64
    again = parse_qs(urlsplit(browser.get("/login").link(id="sign-in")).query)
    assert again["state"][0] != query["state"] and again["nonce"][0] != query["nonce"], "each login needs fresh values"


def test_navigation_offers_only_what_the_visitor_can_do(browser):
    signed_out = browser.get("/login")
    assert [link["href"] for link in signed_out.links if link.get("href") in ("/call_api", "/logout")] == []
    signed_in = browser.sign_in()
    assert {"/call_api", "/logout"} <= {link["href"] for link in signed_in.links}


def test_sign_in_shows_welcome_name_and_claims(browser, mock_authority):
    user = mock_authority.state.users[1]
    page = browser.sign_in(upn=user.upn)
    assert page.response.status_code == 200
    assert page.h1 == f"Welcome, {user.name}"
    for claim in ("iss", "aud", "tid", "oid", "sub", "preferred_username", "exp"):
        assert claim in page.text
    assert mock_authority.issuer in page.text and user.oid in page.text
    assert "UTC" in page.text, "iat/exp should be shown as readable times"
    assert len(mock_authority.state.requests_to("token")) == 1, "a sign-in redeems exactly one code"


def test_sign_in_returns_to_the_page_the_user_wanted(browser):
    assert browser.sign_in(next_path="/call_api").url.endswith("/call_api")


@pytest.mark.parametrize(
    "target", ["//evil.example/", "https://evil.example/", "/\\evil.example", "javascript:alert(1)"]
)
def test_sign_in_never_redirects_off_site(browser, target):
    page = browser.sign_in(next_path=target)
    assert urlsplit(page.url).netloc == urlsplit(browser.app_url).netloc and urlsplit(page.url).path == "/"


def test_two_tabs_can_sign_in_at_once(browser):
    first = browser.open_account_picker()
    second = browser.open_account_picker()
    assert "Welcome" in browser.choose(first).h1, "the older tab's sign-in must still complete"
    assert browser.choose(second).response.status_code == 200


def test_user_cancelling_sees_the_error_page(browser):
    page = browser.choose(browser.open_account_picker(), cancel=True)
    assert page.response.status_code == 403
    assert "access_denied" in page.text and "cancelled" in page.text
    assert page.link(href="/login")
    assert_signed_out(browser, why="not signed in")


def test_sign_out_ends_the_session_and_the_old_cookie(signed_in, mock_authority):
    cookie = signed_in.session_cookie()
    page = signed_in.sign_out()
    assert urlsplit(page.url).path == "/login", "sign-out lands back at sign-in"
    assert "You have signed out" in page.text and "Sign in" in page.text
    logout = mock_authority.state.requests_to("logout")
    assert logout, "the browser went through the authority's end-session endpoint"
    assert_signed_out(ScriptedBrowser(signed_in.app_url), cookie=cookie, why="old cookie must be worthless")


def test_sign_out_redirect_carries_an_encoded_return_address(signed_in):
    form = signed_in.get("/logout").forms[0]
    response = signed_in.http.post(signed_in.url("/logout"), data=form.fields, allow_redirects=False)
    location = urlsplit(response.headers["Location"])
    assert location.path.endswith("/oauth2/v2.0/logout")
    assert "post_logout_redirect_uri=http%3A%2F%2Flocalhost%3A" in location.query
    assert parse_qs(location.query)["post_logout_redirect_uri"] == [f"{signed_in.app_url}/"]


def test_sign_out_refuses_a_post_without_the_form_token(signed_in):
    response = signed_in.http.post(signed_in.url("/logout"), data={"csrf_token": "forged"}, allow_redirects=False)
    assert response.status_code == 400
    assert is_signed_in(signed_in), "still signed in"


def test_reloading_the_sign_in_page_keeps_at_most_three_pending_sign_ins(browser, mock_authority):
    """Each visit to /login starts a sign-in (a 1.4 KB cookie). Servers and proxies refuse a Cookie header over
    8 KB (gunicorn: 8,190 bytes), so older ones are dropped: the callback must still fit, and still work."""
    for _ in range(12):
        browser.get("/login")
    pending = [cookie for cookie in browser.http.cookies if cookie.name.startswith("signin-")]
    assert len(pending) <= 3, f"{len(pending)} pending sign-in cookies kept"
    picker = browser.open_account_picker()
    callback = browser.choose(picker, follow=False).headers["Location"]
    cookie_header = "; ".join(f"{c.name}={c.value}" for c in browser.http.cookies)
    assert len(cookie_header) < 8190, f"the callback's Cookie header is {len(cookie_header)} bytes"
    assert browser.get(callback).h1.startswith("Welcome")
