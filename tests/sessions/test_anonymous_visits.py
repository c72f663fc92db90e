"""Anonymous visitors store nothing: a flood of cookie-less requests leaves the store as it was; and a full Redis
costs a new sign-in a "try again" page while users already signed in keep reading."""

import concurrent.futures
import threading
from pathlib import Path

import pytest
import requests

from tests.support import servers
from tests.support.apps import app_settings, serve_app
from tests.support.browser import ScriptedBrowser, is_signed_in
from tests.support.html import Page
from tests.support.store import app_store


def store_size(app, store, request) -> int:
    """Every entry in the store: Redis keys (DBSIZE) or directory entries."""
    if store == "redis":
        return request.getfixturevalue("redis_client").dbsize()
    return len(list(Path(app_store(app).directory).iterdir()))


def test_cookieless_visits_store_nothing(store_settings, store, request, report):
    with serve_app(store_settings()) as (app, url):
        ScriptedBrowser(url).sign_in()  # one real user, so the store is in use
        before = store_size(app, store, request)
        local = threading.local()
        set_cookies = []

        def visit(path):
            if not hasattr(local, "http"):
                local.http = requests.Session()
            response = local.http.get(f"{url}{path}", allow_redirects=False, timeout=30)
            local.http.cookies.clear()  # each request without any cookie, like a bot
            assert response.status_code < 500, f"{path}: {response.status_code}"
            if "session" in response.headers.get("Set-Cookie", ""):
                set_cookies.append(path)

        paths = ["/login"] * 2000 + ["/logout"] * 500 + ["/"] * 100
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            list(pool.map(visit, paths))
        after = store_size(app, store, request)
        assert after == before, f"{len(paths)} anonymous visits added {after - before} store entries"
        assert not set_cookies, f"anonymous visits got a session cookie: {set_cookies[:5]}"

        static = requests.get(f"{url}/static/style.css", timeout=10)
        assert static.status_code == 200 and "Set-Cookie" not in static.headers, "a static file sets no cookie"
    report(f"{store}: {len(paths)} cookie-less visits (/login, /logout, /): {after - before} new store entries")


@pytest.mark.redis
def test_a_full_redis_gives_a_new_sign_in_a_try_again_page(mock_authority, tmp_path, report):
    """maxmemory reached with noeviction: signing in answers the 503 page (not "sign-in state lost"); a user
    already signed in still reads pages and calls the API."""
    import redis

    with servers.redis_instance(tmp_path) as redis_server:
        settings = app_settings(mock_authority, tmp_path, SESSION_TYPE="redis", REDIS_URL=redis_server.url)
        with serve_app(settings) as (app, url), redis.Redis.from_url(redis_server.url) as client:
            name = app.config["SESSION_COOKIE_NAME"]
            present = ScriptedBrowser(url)
            present.sign_in()
            cookie = present.session_cookie()

            client.config_set("maxmemory-policy", "noeviction")
            client.config_set("maxmemory", client.info("memory")["used_memory"] + 256 * 1024)
            filler, junk = 0, b"x" * 4096
            with pytest.raises(redis.exceptions.ResponseError, match="maxmemory"):
                while filler < 10_000:
                    client.set(f"junk:{filler}", junk)
                    filler += 1

            newcomer = ScriptedBrowser(url)
            picker = newcomer.open_account_picker()  # /login needs no store
            callback = newcomer.choose(picker, follow=False).headers["Location"]
            answer = newcomer.http.get(callback, allow_redirects=False, timeout=30)
            assert answer.status_code == 503, f"{answer.status_code}: {answer.text[:300]}"
            assert "Try again in a moment" in Page(answer).h1 and "sign_in_state_lost" not in answer.text
            assert answer.headers.get("Retry-After")

            for path in ("/", "/call_api"):
                assert is_signed_in(present, path, cookie=cookie, cookie_name=name), f"{path}: not signed in"

            client.config_set("maxmemory", 0)
            again = ScriptedBrowser(url)
            assert again.sign_in().h1.startswith("Welcome"), "with room again, signing in works"
    report(f"redis full after {filler} 4 KiB keys: new sign-in 503 with Retry-After; the signed-in user kept reading")
