"""The session store down, stuck, refusing us or read-only: every route answers fast with the app's own page (a
503 that says to try again, with the security headers), or normally where no session is needed; sign-out never
claims a success it did not have; and once the store is back the same cookie works, without restarting the app."""

import contextlib
import logging
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

from tests.support import servers
from tests.support.apps import app_settings, serve_app
from tests.support.browser import ScriptedBrowser, is_signed_in
from tests.support.html import Page
from tests.support.store import session_files

BOUND = 3.0  # seconds: generous; the app's own Redis timeout is 1 s

# (method, path, needs the store when the request carries a session cookie)
ROUTES = [
    ("GET", "/static/style.css", False),
    ("GET", "/login", False),
    ("GET", "/", True),
    ("GET", "/call_api", True),
    ("GET", "/logout", True),
    ("POST", "/logout", True),
    ("GET", "/getAToken?state=abc&code=def", True),
    ("GET", "/logout/frontchannel?sid=abc", True),
]


def check_route(url, name, cookie, method, path, needs_store, csrf=""):
    """One request during the outage: (status, seconds), asserting the app's own answer."""
    started = time.monotonic()
    response = requests.request(
        method,
        f"{url}{path}",
        headers={"Cookie": f"{name}={cookie}"},
        data={"csrf_token": csrf} if method == "POST" else None,
        allow_redirects=False,
        timeout=30,
    )
    elapsed = time.monotonic() - started
    where = f"{method} {path}"
    assert elapsed < BOUND, f"{where} took {elapsed:.1f} s"
    assert response.status_code != 500, f"{where}: a bare 500: {response.text[:300]}"
    assert "Content-Security-Policy" in response.headers and "X-Content-Type-Options" in response.headers, where
    if needs_store:
        assert response.status_code == 503, f"{where}: {response.status_code} {response.text[:300]}"
        assert response.headers.get("Retry-After"), where
        assert Page(response).h1 == "Try again in a moment", where
        assert "signed_out=1" not in response.headers.get("Set-Cookie", ""), f"{where} set the signed-out flag"
    else:  # its normal answer: the page, or a redirect to sign in
        assert response.status_code in (200, 302), f"{where}: {response.status_code}"
    return response.status_code, elapsed


@pytest.mark.redis
@pytest.mark.parametrize("outage", ["stopped", "stuck"])
def test_redis_down_then_back(mock_authority, tmp_path, outage, report):
    """stopped: redis-server exits (connections refused), then starts again on the same port with its data;
    stuck: the process is frozen (SIGSTOP: connections hang), then thawed."""
    with servers.redis_instance(tmp_path, persist=True) as redis_server:
        settings = app_settings(mock_authority, tmp_path, SESSION_TYPE="redis", REDIS_URL=redis_server.url)
        with servers.gunicorn(settings, tmp_path, workers=2, threads=4) as app:
            name = "session"
            browser = ScriptedBrowser(app.url)
            browser.sign_in()
            cookie = browser.session_cookie()
            csrf = browser.get("/logout").forms[0].fields["csrf_token"]
            for _ in range(8):  # connections to Redis in both workers' pools, to go stale during the outage
                assert is_signed_in(browser, "/call_api", cookie=cookie, cookie_name=name)

            if outage == "stopped":
                redis_server.stop()
            else:
                redis_server.process.send_signal(signal.SIGSTOP)
            try:
                timings = [check_route(app.url, name, cookie, *route, csrf=csrf) for route in ROUTES]
                anonymous = [check_route(app.url, name, "", m, p, False) for m, p, _ in ROUTES[:3]]
            finally:
                if outage == "stopped":
                    assert redis_server.start(), "redis-server did not start again on its port"
                else:
                    redis_server.process.send_signal(signal.SIGCONT)

            for attempt in range(8):  # new connections each time: both workers answer
                response = requests.get(
                    f"{app.url}/call_api", headers={"Cookie": f"{name}={cookie}", "Connection": "close"}, timeout=30
                )
                assert response.status_code == 200 and "<table" in response.text, (
                    f"request {attempt} after Redis came back: {response.status_code} {response.text[:300]}"
                )
            assert browser.sign_out().response.status_code == 200
            assert not is_signed_in(browser, cookie=cookie, cookie_name=name), "sign-out works again"
    slowest = max(seconds for _status, seconds in timings + anonymous)
    report(
        f"redis {outage}: {len(ROUTES)} routes answered {sorted({s for s, _ in timings})}, slowest {slowest:.2f} s; "
        "the same cookie worked once Redis was back"
    )


@pytest.mark.redis
def test_a_wrong_redis_password_is_a_503_page(mock_authority, tmp_path, redis_url, caplog):
    caplog.set_level(logging.INFO)
    parts = urlsplit(redis_url)
    assert parts.password, "the test Redis requires a password"
    wrong = parts._replace(netloc=f"{parts.username}:not-the-password@{parts.hostname}:{parts.port}").geturl()
    with serve_app(app_settings(mock_authority, tmp_path, SESSION_TYPE="redis", REDIS_URL=wrong)) as (app, url):
        browser = ScriptedBrowser(url)
        picker = browser.open_account_picker()  # /login needs no store
        callback = browser.choose(picker, follow=False).headers["Location"]
        answer = browser.http.get(callback, allow_redirects=False, timeout=30)
        assert answer.status_code == 503 and Page(answer).h1 == "Try again in a moment", answer.text[:300]
        from webapp.sealing import Ticket

        for route in ROUTES:
            check_route(url, app.config["SESSION_COOKIE_NAME"], Ticket.new().cookie, *route)
    assert "not-the-password" not in caplog.text, "the log never holds the Redis password"


@contextlib.contextmanager
def read_only(directory: Path):
    """Make the session directory and its files immutable (chattr +i): even root cannot create, write or delete
    there (file permissions alone would not stop root, who runs these tests in CI containers)."""
    chattr = shutil.which("chattr")
    if not chattr:
        pytest.skip("chattr is not installed")
    paths = [directory, *directory.iterdir()]
    result = subprocess.run([chattr, "+i", *map(str, paths)], capture_output=True, text=True)
    if result.returncode != 0:
        pytest.skip(f"chattr +i is not possible here: {result.stderr.strip()}")
    try:
        probe = directory / "probe"
        try:
            probe.write_text("x")
        except PermissionError:
            pass
        else:
            probe.unlink()
            pytest.skip("chattr +i does not stop writes here")
        yield
    finally:
        subprocess.run([chattr, "-i", *map(str, paths)], check=True)


def test_sign_out_on_a_read_only_store_says_you_are_still_signed_in(mock_authority, tmp_path):
    with serve_app(app_settings(mock_authority, tmp_path)) as (app, url):
        name = app.config["SESSION_COOKIE_NAME"]
        browser = ScriptedBrowser(url)
        browser.sign_in()
        cookie = browser.session_cookie()
        directory = tmp_path / "sessions"
        with read_only(directory):
            form_page = browser.get("/logout")
            form = form_page.forms[0]
            response = browser.http.post(form_page.action_url(form), data=form.fields, allow_redirects=False)
            assert response.status_code == 503, f"{response.status_code}: {response.text[:300]}"
            assert "you are not signed out yet" in response.text
            assert "signed_out" not in response.headers.get("Set-Cookie", ""), "no signed-out flag"
            assert is_signed_in(browser, cookie=cookie, cookie_name=name), "nothing changed: still signed in"
            assert session_files(directory), "the session file is still there"
        assert browser.sign_out().response.status_code == 200, "writable again: sign-out works"
        assert not is_signed_in(browser, cookie=cookie, cookie_name=name), "and the cookie is dead"
        assert os.listdir(directory) == [] or not session_files(directory)
