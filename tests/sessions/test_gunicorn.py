"""The production server: gunicorn.conf.py with several workers on the default (filesystem) session store."""

import re
import runpy
import time
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.support import servers
from tests.support.apps import app_settings
from tests.support.browser import ScriptedBrowser
from tests.support.html import Page

WORKERS = 3


def served_by(server, marker: str) -> str:
    """The pid of the worker that logged the request whose User-Agent is `marker` (the access log has both)."""
    return logged(server, rf'<(\d+)> "{re.escape(marker)}"$').group(1)


def logged(server, pattern: str):
    """The first match of pattern in the server's log, waiting for it a little: a worker writes its access-log
    line just after the response."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        found = re.search(pattern, server.log(), re.MULTILINE)
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"no log line matches {pattern}:\n{server.log()[-2000:]}")


def step(browser, server, marker, url, **kwargs):
    response = browser.http.get(url, headers={"User-Agent": marker}, allow_redirects=False, **kwargs)
    return response, served_by(server, marker)


@pytest.fixture
def server(mock_authority, tmp_path):
    with servers.gunicorn(app_settings(mock_authority, tmp_path), tmp_path, workers=WORKERS) as running:
        yield running


def test_sign_in_and_api_calls_work_whichever_worker_answers(server, mock_authority, report):
    """Each request on a new connection, so the workers share them out; sign in until one sign-in is started by
    one worker and completed by another, then call the API through every worker."""
    handed_over = None
    for attempt in range(12):
        browser = ScriptedBrowser(server.url)
        browser.http.headers["Connection"] = "close"
        login, login_pid = step(browser, server, f"login-{attempt}", f"{server.url}/login")
        assert login.status_code == 200
        picker = browser.get(Page(login).link(id="sign-in"))
        back = browser.choose(picker, follow=False)
        callback, callback_pid = step(browser, server, f"callback-{attempt}", back.headers["Location"])
        assert callback.status_code == 302, callback.text
        if callback_pid != login_pid:
            handed_over = (login_pid, callback_pid)
            break
    assert handed_over, f"in 12 sign-ins no worker ever completed a sign-in another one started (log:\n{server.log()})"

    api_pids = set()
    for call in range(30):
        response, pid = step(browser, server, f"api-{call}", f"{server.url}/call_api")
        assert response.status_code == 200 and "<table" in response.text, f"API call {call} on worker {pid} failed"
        api_pids.add(pid)
        if len(api_pids) == WORKERS:
            break
    assert len(api_pids) > 1, "the API calls were never answered by more than one worker"
    report(
        f"gunicorn, {WORKERS} workers, filesystem store: sign-in started on worker {handed_over[0]}, completed "
        f"on {handed_over[1]} (attempt {attempt + 1}); API calls answered by {len(api_pids)} workers"
    )


def test_access_log_never_holds_the_authorization_code(server):
    browser = ScriptedBrowser(server.url)
    picker = browser.open_account_picker()
    callback = browser.choose(picker, follow=False).headers["Location"]
    query = parse_qs(urlsplit(callback).query)
    assert browser.get(callback).h1.startswith("Welcome")
    logged(server, r'"GET /getAToken HTTP/1\.1" 302 ')  # the callback is logged, by its path alone
    log = server.log()
    for secret in (query["code"][0], query["state"][0], "code=", "state="):
        assert secret not in log, "the access log must not hold the callback's query string"


def test_sign_out_return_address_never_comes_from_forwarded_headers(server, mock_authority, tmp_path):
    """The address Entra sends the browser back to is REDIRECT_URI's origin, whatever Host or X-Forwarded-Host say,
    with gunicorn's defaults or behind trusted proxies."""
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "evil.example", "Host": "evil.example"}
    assert post_logout_target(server.url, forwarded) == f"{server.url}/"
    settings = app_settings(mock_authority, tmp_path, TRUSTED_PROXIES=1)
    with servers.gunicorn(settings, tmp_path, workers=1) as behind_proxy:
        assert post_logout_target(behind_proxy.url, forwarded) == f"{behind_proxy.url}/"


def post_logout_target(app_url, headers) -> str:
    """Where the app asks the authority to send the browser after sign-out: an external URL the app builds."""
    browser = ScriptedBrowser(app_url)
    browser.sign_in()
    form = browser.get("/logout").forms[0]
    response = browser.http.post(f"{app_url}/logout", data=form.fields, headers=headers, allow_redirects=False)
    assert response.status_code == 302, response.text
    return parse_qs(urlsplit(response.headers["Location"]).query)["post_logout_redirect_uri"][0]


def test_gunicorn_refuses_to_start_without_a_secret_key(mock_authority, tmp_path):
    result = servers.run_gunicorn(
        app_settings(mock_authority, tmp_path, SECRET_KEY=""), tmp_path, BIND=f"127.0.0.1:{servers.free_port()}"
    )
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr, result.stderr
    assert "Booting worker" not in result.stderr, "it must stop before starting workers"


@pytest.mark.parametrize(
    "env, bind",
    [
        ({}, "127.0.0.1:8000"),
        ({"PORT": "9123"}, "127.0.0.1:9123"),
        ({"BIND": "0.0.0.0:80", "PORT": "9123"}, "0.0.0.0:80"),
    ],
)
def test_server_settings_come_from_the_environment(monkeypatch, env, bind):
    import dotenv

    monkeypatch.setattr(dotenv, "load_dotenv", lambda *args, **kwargs: False)  # a developer's .env stays out
    for key in ("BIND", "PORT", "WEB_CONCURRENCY", "GUNICORN_THREADS"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("SECRET_KEY", "k")
    for key, value in {"WEB_CONCURRENCY": "5", "GUNICORN_THREADS": "7", **env}.items():
        monkeypatch.setenv(key, value)
    config = runpy.run_path(str(servers.ROOT / "gunicorn.conf.py"))
    assert (config["bind"], config["workers"], config["threads"]) == (bind, 5, 7)
    assert "%(U)s" in config["access_log_format"] and "%(r)s" not in config["access_log_format"], (
        "the access log must show the path without the query string"
    )
