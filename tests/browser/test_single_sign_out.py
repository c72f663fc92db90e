"""Single sign-out in a real Chromium: two apps (two registrations, each with its front-channel logout URL) signed
into through one Entra session; signing out of app A, which goes through the authority's end-session page, ends the
session in app B too, through the hidden iframe that loads B's /logout/frontchannel?sid=.

B runs on 127.0.0.1 and A on localhost, so each keeps its own `session` cookie (cookies ignore ports)."""

import pytest

from tests.support.apps import app_settings, register_app
from tests.support.browser import ScriptedBrowser, assert_signed_out
from tests.support.served import serve_app_at

pytestmark = pytest.mark.browser


def _registered_app(mock, tmp_path, host, label):
    def settings(url):
        client = register_app(mock, url, frontchannel_logout_uri=f"{url}/logout/frontchannel")
        return app_settings(
            mock,
            tmp_path / label,
            CLIENT_ID=client.client_id,
            CLIENT_SECRET=client.client_secret,
            REDIRECT_URI=f"{url}/getAToken",
        )

    return serve_app_at(settings, host=host)


@pytest.fixture
def two_apps(mock_authority, tmp_path):
    with (
        _registered_app(mock_authority, tmp_path, "localhost", "a") as (_, a_url),
        _registered_app(mock_authority, tmp_path, "127.0.0.1", "b") as (_, b_url),
    ):
        yield a_url, b_url


@pytest.fixture
def page(chromium):
    context = chromium.new_context()
    context.set_default_timeout(15_000)
    try:
        yield context.new_page()
    finally:
        context.close()


def _sign_in(page, app_url, mock):
    page.goto(f"{app_url}/login")
    page.locator("#sign-in").click()
    page.wait_for_url(f"{mock.front_url}/**")
    page.locator("button[name=account]").first.click()
    page.wait_for_url(f"{app_url}/")
    assert page.locator("h1").inner_text().startswith("Welcome"), page.content()[:500]


def _session_cookie(page, app_url):
    [value] = [c["value"] for c in page.context.cookies(app_url) if c["name"] == "session"]
    return value


def test_signing_out_of_one_app_ends_the_session_in_the_other(two_apps, page, mock_authority):
    a_url, b_url = two_apps
    _sign_in(page, a_url, mock_authority)
    _sign_in(page, b_url, mock_authority)  # the authority's session: the same account, the same sid
    a_cookie, b_cookie = _session_cookie(page, a_url), _session_cookie(page, b_url)
    assert a_cookie != b_cookie
    ScriptedBrowser(b_url).visit("/", cookie=b_cookie).raise_for_status()  # B's copied cookie works, for now

    page.goto(f"{a_url}/logout")
    page.locator("form.actions button[type=submit]").click()
    page.wait_for_url(f"{a_url}/login", timeout=20_000)  # through the authority's page and its meta refresh

    [logout] = mock_authority.state.logouts
    frames = {call.url.split("?")[0]: call for call in logout.frontchannel}
    assert f"{b_url}/logout/frontchannel" in frames, f"the authority loaded no iframe for B: {logout}"
    assert_signed_out(ScriptedBrowser(b_url), cookie=b_cookie, why="B's session outlived the single sign-out")
    assert_signed_out(ScriptedBrowser(a_url), cookie=a_cookie, why="A's session outlived its own sign-out")
    page.goto(f"{b_url}/")
    page.wait_for_url(f"{b_url}/login")
