"""Two app servers (separate gunicorn processes) behind one site address, sharing one real Redis."""

from urllib.parse import urlsplit

import pytest

from tests.support import servers
from tests.support.apps import app_settings
from tests.support.browser import ScriptedBrowser, assert_signed_out
from tests.support.html import Page
from tests.support.store import redis_key

pytestmark = pytest.mark.redis


def on(server, url: str) -> str:
    """The same path and query, sent to this server: what a load balancer does with each request."""
    parts = urlsplit(url)
    return f"{server.url}{parts.path}" + (f"?{parts.query}" if parts.query else "")


def test_each_step_on_either_server(mock_authority, redis_url, redis_client, tmp_path, report):
    """Sign-in started on A, the authority's redirect answered by B, the API called on A, sign-out on B."""
    settings = app_settings(mock_authority, tmp_path, SESSION_TYPE="redis", REDIS_URL=redis_url)
    with (
        servers.gunicorn(settings, tmp_path, workers=1) as a,
        servers.gunicorn(settings, tmp_path, workers=1, public_url=a.url) as b,
    ):
        assert a.process.pid != b.process.pid
        browser = ScriptedBrowser(a.url)
        user = mock_authority.state.users[1]

        picker = browser.open_account_picker()  # GET /login on A
        callback = browser.choose(picker, upn=user.upn, follow=False).headers["Location"]
        home = browser.get(on(b, callback))  # B redeems the code with the PKCE verifier A stored
        assert home.h1 == f"Welcome, {user.name}", home.text[:500]
        assert urlsplit(home.url).port == urlsplit(b.url).port

        api = browser.get(f"{a.url}/call_api")
        assert api.response.status_code == 200 and "<table" in api.response.text, api.text[:500]

        cookie = browser.session_cookie()
        assert redis_client.exists(redis_key(cookie)), "the session lives in Redis"
        form = Page(browser.http.get(f"{b.url}/logout")).forms[0]
        signed_out = browser.http.post(f"{b.url}/logout", data=form.fields, allow_redirects=False)
        assert signed_out.status_code == 302 and "/oauth2/v2.0/logout" in signed_out.headers["Location"]
        assert not redis_client.exists(redis_key(cookie)), "sign-out on B deletes the session from Redis"

        for server in (a, b):
            assert_signed_out(
                ScriptedBrowser(server.url),
                "/call_api",
                cookie=cookie,
                why="a cookie copied before sign-out must not work on any server afterwards",
            )
    report("redis, two gunicorn processes: login on A, callback on B, API on A, sign-out on B: all worked")
