"""Over https, in a real Chromium: the session cookie is `__Host-session` (Secure, HttpOnly, Path=/) while signed
in, and really gone from the browser's jar after sign-out; the pending sign-in cookie (`__Host-signin-*` or
`__Secure-signin-*`) is gone after the callback.

Chromium ignores a `Set-Cookie` that deletes a `__Host-`/`__Secure-` cookie without `Secure`: a deletion sent
with the wrong attributes leaves the old cookie in the jar, which only a real browser shows."""

import pytest

from tests.support.apps import app_settings, register_app
from tests.support.served import serve_app_at

pytestmark = pytest.mark.browser


@pytest.fixture
def https_app(mock_authority, tmp_path):
    """The app over TLS on https://localhost:<port>, registered at the mock as an app of its own."""
    registered = {}

    def settings(url):
        client = register_app(mock_authority, url)
        registered["client"] = client
        return app_settings(
            mock_authority,
            tmp_path,
            CLIENT_ID=client.client_id,
            CLIENT_SECRET=client.client_secret,
            REDIRECT_URI=f"{url}/getAToken",
        )

    with serve_app_at(settings, tls=True) as (app, url):
        assert app.config["SESSION_COOKIE_NAME"] == "__Host-session", "an https REDIRECT_URI means Secure cookies"
        yield url


def _cookies(page, prefix):
    return [cookie for cookie in page.context.cookies() if cookie["name"].startswith(prefix)]


PENDING = ("__Host-signin-", "__Secure-signin-")  # the pending sign-in's cookie, whichever prefix it has


def test_https_session_cookie_is_host_prefixed_and_gone_after_sign_out(https_app, tls_page, mock_authority, chromium):
    page = tls_page
    page.goto(f"{https_app}/login")
    [pending] = _cookies(page, PENDING)
    assert pending["secure"] and pending["httpOnly"], pending

    page.locator("#sign-in").click()
    page.wait_for_url(f"{mock_authority.front_url}/**")
    page.locator("button[name=account]").first.click()
    page.wait_for_url(f"{https_app}/")
    assert page.locator("h1").inner_text().startswith("Welcome"), page.content()[:500]
    assert _cookies(page, PENDING) == [], "the pending sign-in cookie outlived its callback"
    [session] = _cookies(page, "__Host-session")
    assert session["secure"] and session["httpOnly"] and session["path"] == "/", session
    assert session["sameSite"] == "Lax" and session["domain"] == "localhost", session
    assert not _cookies(page, "session"), "a plain `session` cookie beside __Host-session"

    page.goto(f"{https_app}/logout")
    page.locator("form.actions button[type=submit]").click()
    page.wait_for_url(f"{https_app}/login")
    [logout] = mock_authority.state.logouts
    assert logout.post_logout_redirect_uri == f"{https_app}/" and logout.redirect_accepted
    assert _cookies(page, "__Host-session") == [], "Chromium still holds __Host-session after sign-out"

    # And the session itself is over: the cookie as it was, replayed in another browser, is worthless.
    other = chromium.new_context(ignore_https_errors=True)
    try:
        other.add_cookies([session])
        replay = other.new_page()
        replay.goto(f"{https_app}/")
        replay.wait_for_url(f"{https_app}/login")
    finally:
        other.close()
