"""One signed-in session, many requests at once, while its access token needs refreshing."""

import concurrent.futures
import threading

import requests

from tests.support.apps import serve_app
from tests.support.browser import ScriptedBrowser

REQUESTS = 32


def test_concurrent_requests_with_an_expired_access_token_all_succeed(store, store_settings, mock_authority, report):
    """The session's access token is already stale (msal refreshes under 300 s left) when 32 API calls arrive
    together: each succeeds with a single refresh-token redemption, the user stays signed in, and the session
    keeps a working token cache."""
    mock_authority.state.configure(access_token_lifetime=200)
    with serve_app(store_settings()) as (app, url):
        browser = ScriptedBrowser(url)
        user = mock_authority.state.users[0]
        assert browser.sign_in(upn=user.upn).h1 == f"Welcome, {user.name}"
        mock_authority.state.configure(access_token_lifetime=3600)  # refreshed tokens are good for an hour
        mock_authority.state.clear_requests()
        cookie = {"Cookie": f"{app.config['SESSION_COOKIE_NAME']}={browser.session_cookie()}"}
        start = threading.Barrier(REQUESTS)

        def call_api(_):
            with requests.Session() as http:
                start.wait(timeout=30)
                return http.get(f"{url}/call_api", headers=cookie, allow_redirects=False, timeout=30)

        with concurrent.futures.ThreadPoolExecutor(REQUESTS) as pool:
            responses = list(pool.map(call_api, range(REQUESTS)))

        failed = [
            (r.status_code, r.headers.get("Location"))
            for r in responses
            if r.status_code != 200 or "<table" not in r.text
        ]
        assert not failed, f"{len(failed)} of {REQUESTS} concurrent API calls failed: {failed[:3]}"
        redemptions = mock_authority.state.token_redemptions()
        assert redemptions["authorization_code"] == 0
        refreshes = redemptions["refresh_token"]
        assert refreshes == 1, "requests holding the same refresh token share one redemption (one process)"

        home = requests.get(f"{url}/", headers=cookie, allow_redirects=False, timeout=30)
        assert home.status_code == 200 and f"Welcome, {user.name}" in home.text, "the user must stay signed in"
        again = requests.get(f"{url}/call_api", headers=cookie, allow_redirects=False, timeout=30)
        assert again.status_code == 200 and "<table" in again.text
        assert mock_authority.state.token_redemptions()["refresh_token"] == refreshes, (
            "the session kept a refreshed access token: the next call needs no refresh"
        )
    report(
        f"{store}: {REQUESTS} concurrent API calls on one session with a stale access token: "
        f"{REQUESTS - len(failed)} succeeded, {refreshes} refresh-token redemption(s), user still signed in"
    )
