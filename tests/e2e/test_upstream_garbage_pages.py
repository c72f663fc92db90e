"""Garbage and slowness from the authority and Graph, through the whole app: a clear 502/504 page (or Graph's own
status where it means something to the user) with the security headers, never a 500, and never a worker held
beyond the outbound deadline while other pages wait."""

import threading
import time

import pytest
import requests

from tests.support.apps import app_settings, serve_app
from tests.support.browser import ScriptedBrowser, assert_signed_out, is_signed_in

DEEP = 100_000
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def assert_error_page(response, status):
    assert response.status_code == status, (response.status_code, response.text[:500])
    assert "text/html" in response.headers.get("Content-Type", "")
    for header, value in SECURITY_HEADERS.items():
        assert value in response.headers.get(header, ""), (header, response.headers.get(header))
    assert "Traceback" not in response.text


# -- sign-in: JWKS and the token endpoint ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "endpoint, kind, params",
    [
        ("jwks", "empty_array", {}),
        ("jwks", "null_keys", {}),
        ("jwks", "body", {"nested_depth": DEEP}),
        ("token", "body", {"nested_depth": DEEP}),
        ("token", "body", {"body": ["not", "a", "token", "answer"]}),
        ("token", "body", {"body": []}),
    ],
    ids=["jwks-[]", "jwks-null-keys", "jwks-deep", "token-deep", "token-array", "token-empty-array"],
)
def test_garbage_at_sign_in_is_a_502_page(browser, mock_authority, endpoint, kind, params):
    picker = browser.open_account_picker()
    mock_authority.state.enqueue_fault(endpoint, kind, **params)
    page = browser.choose(picker)
    assert_error_page(page.response, 502)
    assert not mock_authority.state.faults, "the fault was never used: the test proved nothing"
    assert_signed_out(browser, why="no session from a sign-in that failed")
    assert browser.sign_in().h1.startswith("Welcome"), "sign-in works again once the authority does"


# -- Graph -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "params, status",
    [
        ({"nested_depth": DEEP}, 502),
        ({"body": [{"error": "not an object"}], "status": 500}, 502),
        ({"body": ["error"], "status": 403}, 403),
        ({"body": [], "status": 404}, 404),
        ({"body": [1, 2, 3], "status": 401}, 502),
        ({"nested_depth": DEEP, "status": 500}, 502),
    ],
    ids=["success-deep", "500-array", "403-array", "404-array", "401-array", "500-deep"],
)
def test_graph_garbage_is_an_error_page_not_a_500(signed_in, mock_authority, params, status):
    # (429 and 503 are retried once, so a one-shot fault there proves nothing; the other statuses are not.)
    mock_authority.state.enqueue_fault("graph", "body", **params)
    page = signed_in.get("/call_api")
    assert_error_page(page.response, status)
    assert not mock_authority.state.faults, "the fault was never used"
    assert is_signed_in(signed_in), "a Graph failure is no reason to sign out"


# -- an authority that drips ------------------------------------------------------------------------------------


def test_dripping_discovery_is_a_504_within_the_deadline_and_holds_nothing_else(mock_authority, tmp_path):
    total = 3
    settings = app_settings(mock_authority, tmp_path, HTTP_TOTAL_TIMEOUT=total, HTTP_READ_TIMEOUT=5)
    with serve_app(settings) as (_, url):
        mock_authority.state.enqueue_fault("discovery", "drip", interval=2)
        outcome = {}

        def open_login():
            started = time.monotonic()
            try:
                outcome["response"] = requests.get(f"{url}/login", timeout=30)
            except requests.RequestException as exc:  # the old app never answered
                outcome["error"] = exc
            outcome["seconds"] = time.monotonic() - started

        login = threading.Thread(target=open_login, daemon=True)
        login.start()
        deadline = time.monotonic() + 10
        while not mock_authority.state.drips and time.monotonic() < deadline:
            time.sleep(0.05)
        assert mock_authority.state.drips, "the app never asked for discovery"

        # Meanwhile, pages that need no fresh discovery answer at once, not after the stuck one.
        for path, expected in (("/static/style.css", 200), ("/", 302), ("/logout", 200)):
            response = requests.get(f"{url}{path}", allow_redirects=False, timeout=30)
            assert response.status_code == expected, (path, response.status_code)
            assert login.is_alive(), f"{path} waited for the dripping discovery to end"

        login.join(timeout=40)
        assert "error" not in outcome, f"/login never answered: {outcome['error']!r}"
        assert_error_page(outcome["response"], 504)
        assert outcome["seconds"] < total + 5, f"/login took {outcome['seconds']:.1f} s with a {total} s deadline"

        # The authority answers again: the next sign-in works.
        browser = ScriptedBrowser(url)
        assert browser.sign_in().h1.startswith("Welcome")
