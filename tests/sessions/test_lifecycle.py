"""A session's life on either store: a new id at sign-in, gone at sign-out, idle and absolute lifetimes."""

import concurrent.futures
import logging
import time

import requests

from tests.conftest import app_settings, serve_app
from tests.scripted_browser import ScriptedBrowser
from tests.sessions.people import session_cookie


def visit(url, cookie_name, cookie, path="/"):
    """A request carrying exactly this session cookie (no cookie jar that might drop or replace it)."""
    return requests.get(
        f"{url}{path}", headers={"Cookie": f"{cookie_name}={cookie}"}, allow_redirects=False, timeout=30
    )


def signed_in_as(response) -> bool:
    return response.status_code == 200 and "Welcome," in response.text


def sent_to_sign_in(response) -> bool:
    return response.status_code == 302 and "/login" in response.headers["Location"]


def test_session_id_changes_at_sign_in(store_settings):
    with serve_app(store_settings()) as (_app, url):
        browser = ScriptedBrowser(url)
        browser.get("/login")
        before = session_cookie(browser.http.cookies)
        browser.sign_in()
        assert session_cookie(browser.http.cookies) != before


def test_a_planted_session_id_is_worthless_after_the_victim_signs_in(store_settings):
    """Session fixation: the attacker gets a real session id from the app and plants it in the victim's browser."""
    with serve_app(store_settings()) as (app, url):
        name = app.config["SESSION_COOKIE_NAME"]
        attacker = ScriptedBrowser(url)
        attacker.get("/login")
        planted = session_cookie(attacker.http.cookies)
        victim = ScriptedBrowser(url)
        victim.http.cookies.set(name, planted, domain="localhost.local", path="/")
        victim.get("/login")
        assert session_cookie(victim.http.cookies) == planted, "precondition: the app took the planted id"
        assert victim.sign_in().h1.startswith("Welcome")
        assert session_cookie(victim.http.cookies) != planted, "the victim must get a new session id"
        for path in ("/", "/call_api"):
            assert sent_to_sign_in(visit(url, name, planted, path)), f"the planted id must not be signed in ({path})"


def test_a_cookie_copied_before_sign_out_is_worthless_after(store_settings, store, request):
    with serve_app(store_settings()) as (app, url):
        name = app.config["SESSION_COOKIE_NAME"]
        browser = ScriptedBrowser(url)
        browser.sign_in()
        copied = session_cookie(browser.http.cookies)
        assert signed_in_as(visit(url, name, copied))
        browser.sign_out()
        for path in ("/", "/call_api"):
            assert sent_to_sign_in(visit(url, name, copied, path)), f"replayed cookie still works on {path}"
        if store == "redis":
            assert not request.getfixturevalue("redis_client").exists(f"session:{copied}"), (
                "sign-out must delete the session from Redis"
            )


def test_idle_session_ends_but_an_active_one_slides(store_settings, store, request):
    """SESSION_IDLE_TIMEOUT=2: requests 0.8 s apart keep the session past 2 s; 3 s of silence ends it.
    (2 s is the shortest reliable idle time: cachelib stores expiry times in whole seconds.)"""
    with serve_app(store_settings(SESSION_IDLE_TIMEOUT=2, SESSION_ABSOLUTE_TIMEOUT=60)) as (app, url):
        name = app.config["SESSION_COOKIE_NAME"]
        browser = ScriptedBrowser(url)
        browser.sign_in()
        cookie, signed_in = session_cookie(browser.http.cookies), time.monotonic()
        while time.monotonic() - signed_in < 2.5:
            time.sleep(0.8)
            assert signed_in_as(visit(url, name, cookie)), "a session in use must not expire"
        if store == "redis":
            assert 0 < request.getfixturevalue("redis_client").ttl(f"session:{cookie}") <= 2
        time.sleep(3.2)
        assert sent_to_sign_in(visit(url, name, cookie)), "an idle session must expire on the server"


def test_absolute_lifetime_signs_out_even_an_active_user(store_settings, store, request, caplog):
    """SESSION_ABSOLUTE_TIMEOUT=2: a user active every 0.6 s is still signed out 2-3 s after signing in."""
    caplog.set_level(logging.INFO, logger="webapp.signin")
    with serve_app(store_settings(SESSION_IDLE_TIMEOUT=2, SESSION_ABSOLUTE_TIMEOUT=2)) as (app, url):
        name = app.config["SESSION_COOKIE_NAME"]
        browser = ScriptedBrowser(url)
        browser.sign_in()
        cookie, signed_in = session_cookie(browser.http.cookies), time.monotonic()
        while True:
            time.sleep(0.6)
            response = visit(url, name, cookie)
            if not signed_in_as(response):
                break
            assert time.monotonic() - signed_in < 3.5, "still signed in past the absolute lifetime"
        assert time.monotonic() - signed_in > 1, "signed out before the absolute lifetime"
        assert sent_to_sign_in(response), "the user is sent to sign in again"
        assert f"{name}=;" in response.headers.get("Set-Cookie", ""), "the session cookie is deleted"
        assert "absolute lifetime" in caplog.text
        if store == "redis":
            assert not request.getfixturevalue("redis_client").exists(f"session:{cookie}")
        assert browser.sign_in().h1.startswith("Welcome"), "signing in again works"


def test_session_files_are_private(mock_authority, tmp_path):
    with serve_app(app_settings(mock_authority, tmp_path)) as (app, url):
        ScriptedBrowser(url).sign_in()
        directory = tmp_path / "sessions"
        files = [path for path in directory.iterdir() if len(path.name) == 64]
        assert files
        assert directory.stat().st_mode & 0o777 == 0o700
        assert {path.stat().st_mode & 0o777 for path in files} == {0o600}


def test_callback_on_a_server_without_the_session_says_so(mock_authority, tmp_path, caplog):
    """Two servers, each with its own filesystem store (no shared store, no sticky sessions): the sign-in
    started on A comes back to B, which has never seen it."""
    caplog.set_level(logging.WARNING, logger="webapp.signin")
    a_settings = app_settings(mock_authority, tmp_path / "a")
    b_settings = app_settings(mock_authority, tmp_path / "b", SECRET_KEY=a_settings["SECRET_KEY"])
    with serve_app(a_settings) as (_a, a_url), serve_app(b_settings) as (_b, b_url):
        browser = ScriptedBrowser(a_url)
        callback = browser.choose(browser.open_account_picker(), follow=False).headers["Location"]
        page = browser.get(callback.replace(a_url, b_url))
        assert_lost_sign_in_page(page, caplog)


def test_session_expiring_mid_login_says_so(store_settings, caplog):
    caplog.set_level(logging.WARNING, logger="webapp.signin")
    with serve_app(store_settings(SESSION_IDLE_TIMEOUT=2, SESSION_ABSOLUTE_TIMEOUT=2)) as (_app, url):
        browser = ScriptedBrowser(url)
        picker = browser.open_account_picker()
        time.sleep(3.2)  # the user took longer than the idle timeout on the authority's pages
        page = browser.choose(picker)
        assert_lost_sign_in_page(page, caplog)
        again = browser.get(page.link(href="/login"))
        assert browser.choose(browser.get(again.link(id="sign-in"))).h1.startswith("Welcome"), "signing in again works"


def assert_lost_sign_in_page(page, caplog):
    assert page.response.status_code == 400 and "sign_in_state_lost" in page.text, page.text[:300]
    assert page.link(href="/login"), "the page offers to sign in again"
    assert "no sign-in pending" in caplog.text, "the reason is logged"


def test_a_request_still_running_at_sign_out_does_not_bring_the_session_back(store_settings, mock_authority):
    """An API call loads the session, then waits for Graph; meanwhile the user signs out. When the call ends,
    saving what it loaded must not recreate the session that sign-out deleted."""
    mock_authority.state.configure(graph_latency=1.5)
    with serve_app(store_settings()) as (app, url):
        name = app.config["SESSION_COOKIE_NAME"]
        browser = ScriptedBrowser(url)
        browser.sign_in()
        copied = session_cookie(browser.http.cookies)
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            slow_call = pool.submit(visit, url, name, copied, "/call_api")
            time.sleep(0.5)  # the call has loaded the session and waits for Graph
            browser.sign_out()
            assert slow_call.result().status_code == 200, "the call in flight still completes"
        for path in ("/", "/call_api"):
            assert sent_to_sign_in(visit(url, name, copied, path)), f"the signed-out session came back ({path})"


def test_users_stay_signed_in_across_a_restart(store_settings):
    settings = store_settings()
    with serve_app(settings) as (app, url):
        browser = ScriptedBrowser(url)
        browser.sign_in()
        name, cookie = app.config["SESSION_COOKIE_NAME"], session_cookie(browser.http.cookies)
    with serve_app(settings) as (_restarted, url):  # a new app object and server: nothing kept in memory
        assert signed_in_as(visit(url, name, cookie)), "a restart must not sign anyone out"
        assert visit(url, name, cookie, "/call_api").status_code == 200
