"""Security headers on every response, and session cookie flags, over http and https."""

import pytest

from app import create_app
from tests.support.apps import app_settings, serve_app
from tests.support.browser import ScriptedBrowser

ROUTES = ["/", "/login", "/logout", "/call_api", "/getAToken?state=x&code=y", "/static/style.css", "/no-such-page"]


@pytest.fixture
def app_factory(mock_authority, tmp_path):
    def make(**overrides):
        return create_app(app_settings(mock_authority, tmp_path, **overrides))

    return make


@pytest.mark.parametrize("path", ROUTES)
@pytest.mark.parametrize("scheme", ["http", "https"])
def test_every_response_carries_the_security_headers(app_factory, path, scheme):
    with app_factory().test_client() as client, client.get(path, base_url=f"{scheme}://localhost") as response:
        headers = response.headers
        csp = headers["Content-Security-Policy"]
        assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp and "script-src" not in csp
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "no-referrer", "the callback's code must never leave in a Referer"
        assert headers["X-Frame-Options"] == "DENY"
        if not path.startswith("/static/"):
            assert headers["Cache-Control"] == "no-store"
        assert ("Strict-Transport-Security" in headers) == (scheme == "https")
        assert response.status_code < 500


def test_sign_out_page_may_post_to_the_authoritys_end_session(app_factory, mock_authority):
    with app_factory().test_client() as client:
        csp = client.get("/logout").headers["Content-Security-Policy"]
    assert f"form-action 'self' {mock_authority.front_url}" in csp


def set_cookies(response) -> dict[str, str]:
    """Each Set-Cookie header by cookie name, from a Flask test client's or a requests response."""
    if hasattr(response.headers, "getlist"):
        headers = response.headers.getlist("Set-Cookie")
    else:
        headers = response.raw.headers.getlist("Set-Cookie")
    return {header.partition("=")[0]: header for header in headers}


def callback_cookies(browser) -> dict[str, str]:
    """The Set-Cookie headers of the redirect URI's answer, at the end of a real sign-in."""
    authority_redirect = browser.choose(browser.open_account_picker(), follow=False)
    return set_cookies(browser.http.get(authority_redirect.headers["Location"], allow_redirects=False))


def test_session_cookie_is_httponly_lax_and_holds_only_a_ticket(mock_authority, tmp_path):
    # Over https (Secure, __Host-): tests/browser/test_https_cookies.py, in Chromium.
    with serve_app(app_settings(mock_authority, tmp_path)) as (_app, url):
        cookies = callback_cookies(ScriptedBrowser(url))
    cookie = cookies["session"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/;" in cookie + ";" and "Domain" not in cookie
    assert "Secure" not in cookie
    assert len(cookie.split(";")[0].partition("=")[2]) == 64, "the cookie holds a ticket, never the session's data"
    deleted = [value for key, value in cookies.items() if "signin-" in key]
    assert deleted and all("Max-Age=0" in value or "Expires=Thu, 01 Jan 1970" in value for value in deleted)


@pytest.mark.parametrize(
    "overrides", [{"REDIRECT_URI": "https://app.example.test/getAToken"}, {"COOKIE_SECURE": "true"}]
)
def test_login_sets_only_a_short_lived_pending_sign_in_cookie(app_factory, overrides):
    with app_factory(**overrides).test_client() as client:
        cookies = set_cookies(client.get("/login", base_url="https://app.example.test"))
    assert len(cookies) == 1, f"an anonymous visit gets no session cookie: {list(cookies)}"
    name, cookie = next(iter(cookies.items()))
    assert name.startswith("__Host-signin-"), name
    assert "Secure" in cookie and "HttpOnly" in cookie and "Path=/;" in cookie and "SameSite=Lax" in cookie
    assert "Max-Age=600" in cookie, "a pending sign-in lives at most 10 minutes"


FORWARDED = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "app.example.test", "X-Forwarded-For": "203.0.113.9"}


@pytest.mark.parametrize("path", ROUTES)
def test_behind_a_trusted_tls_proxy_responses_are_https_ones(app_factory, path):
    app = app_factory(TRUSTED_PROXIES="1", REDIRECT_URI="https://app.example.test/getAToken")
    with app.test_client() as client, client.get(path, headers=FORWARDED) as response:
        assert response.headers["Strict-Transport-Security"] == "max-age=31536000"
        assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
        pending = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("__Host-signin-")]
        assert pending or path != "/login", "a sign-in start must set its pending sign-in cookie"
        for cookie in pending:
            assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_behind_a_trusted_tls_proxy_sign_out_returns_to_the_https_site(app_factory):
    app = app_factory(TRUSTED_PROXIES="1", REDIRECT_URI="https://app.example.test/getAToken")
    with app.test_client() as client:
        form_page = client.get("/logout", headers=FORWARDED).get_data(as_text=True)
        token = form_page.split('name="csrf_token" value="')[1].split('"')[0]
        response = client.post("/logout", data={"csrf_token": token}, headers=FORWARDED)
    assert "post_logout_redirect_uri=https%3A%2F%2Fapp.example.test%2F" in response.headers["Location"]


def test_forwarded_headers_are_ignored_without_trusted_proxies(app_factory):
    with app_factory().test_client() as client, client.get("/login", headers=FORWARDED) as response:
        assert "Strict-Transport-Security" not in response.headers, "any client can send X-Forwarded-Proto"
