"""One browser, many requests at once: parallel requests never spoil the sign-out form, and any number of tabs
can sign in at the same time."""

import concurrent.futures
from urllib.parse import urlsplit

import pytest

from tests.support.apps import serve_app
from tests.support.browser import ScriptedBrowser, is_signed_in
from tests.support.html import Page


def test_the_sign_out_form_still_works_after_many_parallel_requests(store_settings, store, mock_authority, report):
    """The sign-out form is fetched while other requests of the session run (and write it: a touch is due every
    second, /login starts sign-ins); once they are done, the form's token still signs out. Several trials."""
    trials, refused = 5, []
    with serve_app(store_settings(SESSION_IDLE_TIMEOUT=10)) as (app, url):
        name = app.config["SESSION_COOKIE_NAME"]
        for trial in range(trials):
            browser = ScriptedBrowser(url)
            browser.sign_in()
            cookie = browser.session_cookie()
            paths = ["/", "/call_api", "/login", "/"] * 10
            with concurrent.futures.ThreadPoolExecutor(6) as pool:
                burst = [pool.submit(browser.visit, path, cookie, name) for path in paths]
                form_page = browser.get("/logout")  # while the burst runs
                answers = [future.result().status_code for future in burst]
            assert all(status < 500 for status in answers), answers
            form = form_page.forms[0]
            assert form.fields.get("csrf_token"), "the sign-out form carries a token"
            with concurrent.futures.ThreadPoolExecutor(6) as pool:  # and more requests after it, before the post
                list(pool.map(browser.visit, paths, [cookie] * len(paths), [name] * len(paths)))
            response = browser.http.post(form_page.action_url(form), data=form.fields, allow_redirects=False)
            if response.status_code != 302:
                refused.append(f"trial {trial}: {response.status_code} {Page(response).h1}")
                continue
            assert "/oauth2/v2.0/logout" in response.headers["Location"]
            assert not is_signed_in(browser, cookie=cookie, cookie_name=name), "signed out"
    report(f"{store}: sign-out form refused in {len(refused)} of {trials} trials with 80 parallel requests each")
    assert not refused, refused


@pytest.mark.parametrize("tabs", [3, 8])
def test_tabs_signing_in_at_once_all_complete(store_settings, store, mock_authority, tabs, report):
    """`tabs` sign-ins started at once in one browser (one cookie jar), then finished at once: each comes back to
    the page it started from, and the browser ends signed in."""
    with serve_app(store_settings()) as (app, url):
        name = app.config["SESSION_COOKIE_NAME"]
        browser = ScriptedBrowser(url)
        nexts = [f"/call_api?tab={tab}" for tab in range(tabs)]
        with concurrent.futures.ThreadPoolExecutor(tabs) as pool:
            pickers = list(pool.map(lambda next_path: browser.open_account_picker(next_path), nexts))
            callbacks = list(pool.map(lambda picker: browser.choose(picker, follow=False).headers["Location"], pickers))
            answers = list(
                pool.map(lambda callback: browser.http.get(callback, allow_redirects=False, timeout=30), callbacks)
            )
        finished = [
            answer.status_code == 302 and urlsplit(answer.headers["Location"]).query == f"tab={tab}"
            for tab, answer in enumerate(answers)
        ]
        assert all(finished), [
            f"tab {tab}: {answer.status_code} {Page(answer).h1 or answer.text[:200]}"
            for tab, answer in enumerate(answers)
        ]
        assert is_signed_in(browser, "/call_api", cookie=browser.session_cookie(), cookie_name=name)
    report(f"{store}: {sum(finished)} of {tabs} sign-ins started at once in one browser completed")
