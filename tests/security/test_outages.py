"""Outages of the authority: a clear page, no crash, and recovery without a restart."""

from urllib.parse import urlsplit

from tests.support.browser import ScriptedBrowser, assert_signed_out


def test_one_users_token_failure_does_not_refuse_other_users(live_app, mock_authority):
    # msal would replay this 5xx to every auth-code redemption in the process for 5 s.
    mock_authority.state.enqueue_fault("token", "server_error")
    assert ScriptedBrowser(live_app.url).sign_in().response.status_code == 502
    assert "Welcome" in ScriptedBrowser(live_app.url).sign_in().h1
    assert len(mock_authority.state.requests_to("token")) == 2, "the second sign-in must reach the authority"


def test_discovery_failure_then_recovery(browser, mock_authority):
    mock_authority.state.enqueue_fault("discovery", "status", status=500)
    page = browser.get("/login")
    assert page.response.status_code == 502 and "Try signing in again" in page.text
    assert "Welcome" in browser.sign_in().h1


def test_discovery_timeout_is_a_clear_page(browser, mock_authority):
    mock_authority.state.enqueue_fault("discovery", "slow", delay=5)
    page = browser.get("/login")
    assert page.response.status_code == 504 and "did not answer in time" in page.text


def test_jwks_unreachable_then_recovery(browser, mock_authority):
    mock_authority.state.enqueue_fault("jwks", "status", status=503)
    page = browser.sign_in()
    assert page.response.status_code == 502 and "authority_unreachable" in page.text
    assert "Welcome" in browser.sign_in().h1


def test_sign_out_still_works_when_discovery_is_down(live_app, mock_authority, monkeypatch):
    browser = ScriptedBrowser(live_app.url)
    browser.sign_in()
    monkeypatch.setattr("webapp.discovery.TTL_SECONDS", -1)  # force a refetch
    for _ in range(3):  # requests retries once; make sure every attempt fails
        mock_authority.state.enqueue_fault("discovery", "status", status=500)
    form = browser.get("/logout").forms[0]
    response = browser.http.post(browser.url("/logout"), data=form.fields, allow_redirects=False)
    # The copy of the discovery document fetched at sign-in still names the end-session endpoint (stale-if-error).
    assert response.status_code == 302 and urlsplit(response.headers["Location"]).path.endswith("/oauth2/v2.0/logout")
    assert_signed_out(browser)
