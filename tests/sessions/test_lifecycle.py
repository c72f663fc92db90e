"""A session's life on either store: a new id at sign-in, gone at sign-out, idle and absolute lifetimes."""

import concurrent.futures
import json
import logging
import time

from tests.support.apps import app_settings, serve_app
from tests.support.browser import ScriptedBrowser, answers_signed_in, assert_signed_out, is_signed_in
from tests.support.store import read_session, redis_key, session_files
from webapp.sealing import Ticket


def test_each_sign_in_starts_a_new_session_and_ends_the_one_before(store_settings, mock_authority):
    """Signing in as B in a browser signed in as A: B gets a new session holding none of A's tokens."""
    with serve_app(store_settings()) as (app, url):
        name = app.config["SESSION_COOKIE_NAME"]
        browser = ScriptedBrowser(url)
        first, second = mock_authority.state.users[0], mock_authority.state.users[1]
        browser.sign_in(upn=first.upn)
        before = browser.session_cookie()
        assert browser.sign_in(upn=second.upn).h1.startswith("Welcome")
        after = browser.session_cookie()
        assert after != before
        assert_signed_out(browser, cookie=before, cookie_name=name, why="A's session must end when B signs in")
        assert read_session(app, before) is None
        cache = json.dumps(read_session(app, after))
        assert first.upn.lower() not in cache.lower(), "B's session must hold nothing of A"


def test_a_planted_session_cookie_is_worthless_after_the_victim_signs_in(store_settings, mock_authority):
    """Session fixation: the attacker signs in, plants their own session cookie in the victim's browser, and
    hopes the victim's sign-in lands in it. Anonymous visits get no session at all, so a real one is all there is."""
    with serve_app(store_settings()) as (app, url):
        name = app.config["SESSION_COOKIE_NAME"]
        attacker = ScriptedBrowser(url)
        attacker.get("/login")
        assert not [c for c in attacker.http.cookies if c.name == name], "an anonymous visit gets no session cookie"
        attacker.sign_in(upn=mock_authority.state.users[0].upn)
        planted = attacker.session_cookie()
        victim = ScriptedBrowser(url)
        victim.http.cookies.set(name, planted, domain="localhost.local", path="/")
        assert victim.sign_in(upn=mock_authority.state.users[1].upn).h1.startswith("Welcome")
        assert victim.session_cookie() != planted, "the victim must get a new session"
        for path in ("/", "/call_api"):
            assert_signed_out(attacker, path, planted, name, why=f"the planted cookie must be worthless ({path})")


def test_a_cookie_copied_before_sign_out_is_worthless_after(store_settings, store, request):
    with serve_app(store_settings()) as (app, url):
        name = app.config["SESSION_COOKIE_NAME"]
        browser = ScriptedBrowser(url)
        browser.sign_in()
        copied = browser.session_cookie()
        assert is_signed_in(browser, cookie=copied, cookie_name=name)
        browser.sign_out()
        for path in ("/", "/call_api"):
            assert_signed_out(browser, path, copied, name, why=f"replayed cookie still works on {path}")
        if store == "redis":
            assert not request.getfixturevalue("redis_client").exists(redis_key(copied)), (
                "sign-out must delete the session from Redis"
            )


def test_idle_session_ends_but_an_active_one_slides(store_settings, store, request):
    """SESSION_IDLE_TIMEOUT=2: requests 0.8 s apart keep the session past 2 s; 3 s of silence ends it.
    (2 s is the shortest reliable idle time: expiry times are whole seconds.)"""
    with serve_app(store_settings(SESSION_IDLE_TIMEOUT=2, SESSION_ABSOLUTE_TIMEOUT=60)) as (app, url):
        name = app.config["SESSION_COOKIE_NAME"]
        browser = ScriptedBrowser(url)
        browser.sign_in()
        cookie, signed_in = browser.session_cookie(), time.monotonic()
        while time.monotonic() - signed_in < 2.5:
            time.sleep(0.8)
            assert is_signed_in(browser, cookie=cookie, cookie_name=name), "a session in use must not expire"
        if store == "redis":
            assert 0 < request.getfixturevalue("redis_client").ttl(redis_key(cookie)) <= 2
        time.sleep(3.2)
        assert_signed_out(browser, cookie=cookie, cookie_name=name, why="an idle session must expire on the server")


def test_absolute_lifetime_signs_out_even_an_active_user(store_settings, store, request):
    """SESSION_ABSOLUTE_TIMEOUT=2: a user active every 0.6 s is still signed out 2-3 s after signing in."""
    with serve_app(store_settings(SESSION_IDLE_TIMEOUT=2, SESSION_ABSOLUTE_TIMEOUT=2)) as (app, url):
        name = app.config["SESSION_COOKIE_NAME"]
        browser = ScriptedBrowser(url)
        browser.sign_in()
        cookie, signed_in = browser.session_cookie(), time.monotonic()
        while True:
            time.sleep(0.6)
            response = browser.visit("/", cookie, name)
            if not answers_signed_in(response):  # False only for a redirect to sign in; anything else fails
                break
            assert time.monotonic() - signed_in < 3.5, "still signed in past the absolute lifetime"
        assert time.monotonic() - signed_in > 1, "signed out before the absolute lifetime"
        assert f"{name}=;" in response.headers.get("Set-Cookie", ""), "the session cookie is deleted"
        assert read_session(app, cookie) is None, (
            "the store no longer holds it (its expiry is capped at the absolute one)"
        )
        if store == "redis":
            assert not request.getfixturevalue("redis_client").exists(redis_key(cookie))
        assert browser.sign_in().h1.startswith("Welcome"), "signing in again works"


def test_session_files_are_private(mock_authority, tmp_path):
    with serve_app(app_settings(mock_authority, tmp_path)) as (app, url):
        ScriptedBrowser(url).sign_in()
        directory = tmp_path / "sessions"
        files = session_files(directory)
        assert files
        assert directory.stat().st_mode & 0o777 == 0o700
        assert {path.stat().st_mode & 0o777 for path in files} == {0o600}


def test_a_sign_in_started_on_one_server_completes_on_another(mock_authority, tmp_path):
    """The pending sign-in lives in the browser (sealed under SECRET_KEY), so servers sharing SECRET_KEY can each
    finish what another started, even with stores of their own."""
    a_settings = app_settings(mock_authority, tmp_path / "a")
    b_settings = app_settings(mock_authority, tmp_path / "b", SECRET_KEY=a_settings["SECRET_KEY"])
    with serve_app(a_settings) as (_a, a_url), serve_app(b_settings) as (_b, b_url):
        browser = ScriptedBrowser(a_url)
        callback = browser.choose(browser.open_account_picker(), follow=False).headers["Location"]
        assert browser.get(callback.replace(a_url, b_url)).h1.startswith("Welcome")


def test_callback_on_a_server_with_another_secret_key_says_so(mock_authority, tmp_path, caplog):
    caplog.set_level(logging.WARNING, logger="webapp.signin")
    a_settings, b_settings = app_settings(mock_authority, tmp_path / "a"), app_settings(mock_authority, tmp_path / "b")
    with serve_app(a_settings) as (_a, a_url), serve_app(b_settings) as (_b, b_url):
        browser = ScriptedBrowser(a_url)
        callback = browser.choose(browser.open_account_picker(), follow=False).headers["Location"]
        page = browser.get(callback.replace(a_url, b_url))
        assert_lost_sign_in_page(page, caplog)
        assert "another SECRET_KEY" in caplog.text, "the likely cause is logged"


def test_a_sign_in_left_pending_too_long_says_so(store_settings, caplog, monkeypatch):
    caplog.set_level(logging.WARNING, logger="webapp.signin")
    monkeypatch.setattr("webapp.pending_sign_in.PENDING_LIFETIME", 1)
    with serve_app(store_settings()) as (_app, url):
        browser = ScriptedBrowser(url)
        picker = browser.open_account_picker()
        time.sleep(2.2)  # the user took longer than a pending sign-in may live on the authority's pages
        page = browser.choose(picker)
        assert_lost_sign_in_page(page, caplog)
        monkeypatch.undo()  # the next sign-in gets the real lifetime: one second is too short on a busy machine
        again = browser.get(page.link(href="/login"))
        assert browser.choose(browser.get(again.link(id="sign-in"))).h1.startswith("Welcome"), "signing in again works"


def assert_lost_sign_in_page(page, caplog):
    assert page.response.status_code == 400 and "sign_in_state_lost" in page.text, page.text[:300]
    assert page.link(href="/login"), "the page offers to sign in again"
    assert "no usable sign-in pending" in caplog.text, "the reason is logged"


def test_a_request_still_running_at_sign_out_does_not_bring_the_session_back(store_settings, mock_authority):
    """An API call loads the session, then waits for Graph; meanwhile the user signs out. When the call ends,
    saving what it loaded must not recreate the session that sign-out deleted."""
    mock_authority.state.configure(graph_latency=1.5)
    with serve_app(store_settings()) as (app, url):
        name = app.config["SESSION_COOKIE_NAME"]
        browser = ScriptedBrowser(url)
        browser.sign_in()
        copied = browser.session_cookie()
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            slow_call = pool.submit(browser.visit, "/call_api", copied, name)
            time.sleep(0.5)  # the call has loaded the session and waits for Graph
            browser.sign_out()
            assert slow_call.result().status_code == 200, "the call in flight still completes"
        for path in ("/", "/call_api"):
            assert_signed_out(browser, path, copied, name, why=f"the signed-out session came back ({path})")


def test_users_stay_signed_in_across_a_restart(store_settings):
    settings = store_settings()
    with serve_app(settings) as (app, url):
        browser = ScriptedBrowser(url)
        browser.sign_in()
        name, cookie = app.config["SESSION_COOKIE_NAME"], browser.session_cookie()
    with serve_app(settings) as (_restarted, url):  # a new app object and server: nothing kept in memory
        again = ScriptedBrowser(url)
        assert is_signed_in(again, cookie=cookie, cookie_name=name), "a restart must not sign anyone out"
        assert is_signed_in(again, "/call_api", cookie=cookie, cookie_name=name)


def test_a_cookie_with_the_right_id_and_another_secret_opens_nothing(store_settings):
    """The id half of a ticket names the store key; only the secret half opens the session, even right after the
    real cookie was used (each process remembers recently opened sessions by the whole cookie)."""
    with serve_app(store_settings()) as (app, url):
        name = app.config["SESSION_COOKIE_NAME"]
        browser = ScriptedBrowser(url)
        browser.sign_in()
        real = Ticket.from_cookie(browser.session_cookie())
        assert is_signed_in(browser, cookie=real.cookie, cookie_name=name)
        forged = Ticket(real.id, bytes(32)).cookie
        assert_signed_out(browser, cookie=forged, cookie_name=name, why="an id without its secret opened a session")
        assert is_signed_in(browser, cookie=real.cookie, cookie_name=name)
