"""/getAToken under hostile or broken input: always a clear 4xx page, never a 500 or a lost session."""

from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from tests.support.browser import ScriptedBrowser, assert_signed_out
from tests.support.html import Page


def callback_for(browser):
    """Go through the picker and return the /getAToken URL the authority redirects to (not followed)."""
    response = browser.choose(browser.open_account_picker(), follow=False)
    assert response.status_code == 302
    return response.headers["Location"]


def get(browser, url) -> Page:
    return Page(browser.http.get(url, allow_redirects=False))


def with_query(url, **changes):
    parts = urlsplit(url)
    query = {key: values[0] for key, values in parse_qs(parts.query).items()}
    query.update(changes)
    query = {key: value for key, value in query.items() if value is not None}
    return parts._replace(query=urlencode(query)).geturl()


@pytest.mark.parametrize(
    "change, error",
    [
        ({"state": "forged-state-value"}, "state_mismatch"),
        ({"state": None}, "state_mismatch"),
        ({"code": None}, "missing_code"),
    ],
)
def test_tampered_callback_is_refused_and_the_real_one_still_works(browser, change, error):
    callback = callback_for(browser)
    page = get(browser, with_query(callback, **change))
    assert page.response.status_code == 400 and error in page.text
    assert_signed_out(browser)
    assert "Welcome" in Page(browser.http.get(callback)).h1, "a forged callback must not cost the real sign-in"


def test_replayed_callback_is_refused(browser):
    callback = callback_for(browser)
    assert browser.http.get(callback).status_code == 200
    page = get(browser, callback)
    assert page.response.status_code == 400 and "state_mismatch" in page.text


def test_callback_in_another_browser_finds_no_sign_in(browser):
    callback = callback_for(browser)
    stranger = ScriptedBrowser(browser.app_url)
    page = get(stranger, callback)
    assert page.response.status_code == 400 and "sign_in_state_lost" in page.text
    assert_signed_out(stranger)


def test_error_description_with_html_is_shown_escaped(browser):
    callback = callback_for(browser)
    hostile = "<script>alert(1)</script><img src=x onerror=alert(2)>"
    page = get(browser, with_query(callback, code=None, error="access_denied", error_description=hostile))
    assert page.response.status_code == 403
    assert "<script>alert(1)</script>" not in page.response.text and "<img" not in page.response.text
    assert "&lt;script&gt;" in page.response.text


@pytest.mark.parametrize("size", [8_000, 60_000])
def test_very_long_parameters_get_a_4xx(browser, size):
    callback = callback_for(browser)
    for change in ({"state": "s" * size}, {"code": "c" * size}, {"error": "e" * size, "code": None}):
        response = browser.http.get(with_query(callback, **change), allow_redirects=False)
        assert 400 <= response.status_code < 500, (change.keys(), response.status_code)
        assert "Traceback" not in response.text
