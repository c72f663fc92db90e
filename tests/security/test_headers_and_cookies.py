"""Security headers on every response, and session cookie flags, over http and https."""

import pytest

from app import create_app
from tests.support.apps import app_settings

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


def session_cookie_header(app, base_url):
    with app.test_client() as client:
        response = client.get("/login", base_url=base_url)
        return next(value for name, value in response.headers.items() if name == "Set-Cookie")


def test_http_cookie_is_httponly_lax_and_holds_only_an_id(app_factory):
    cookie = session_cookie_header(app_factory(), "http://localhost")
    name, _, rest = cookie.partition("=")
    assert name == "session" and "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    assert len(rest.split(";")[0]) < 64, "the cookie holds a session id, never the session's data"


@pytest.mark.parametrize(
    "overrides", [{"REDIRECT_URI": "https://app.example.test/getAToken"}, {"COOKIE_SECURE": "true"}]
)
def test_https_cookie_is_secure_with_the_host_prefix(app_factory, overrides):
    cookie = session_cookie_header(app_factory(**overrides), "https://app.example.test")
    assert cookie.startswith("__Host-session=")
    assert "Secure" in cookie and "HttpOnly" in cookie and "Path=/" in cookie and "Domain" not in cookie


FORWARDED = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "app.example.test", "X-Forwarded-For": "203.0.113.9"}


@pytest.mark.parametrize("path", ROUTES)
def test_behind_a_trusted_tls_proxy_responses_are_https_ones(app_factory, path):
    app = app_factory(TRUSTED_PROXIES="1", REDIRECT_URI="https://app.example.test/getAToken")
    with app.test_client() as client, client.get(path, headers=FORWARDED) as response:
        assert response.headers["Strict-Transport-Security"] == "max-age=31536000"
        assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
        sessions = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("__Host-session=")]
        assert sessions or path != "/login", "a sign-in start must set the session cookie"
        for cookie in sessions:
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
