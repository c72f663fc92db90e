"""Each AADSTS code the token endpoint can answer at sign-in, as the app's page: plain words, the fix, the ids.

The mock answers with Entra's documented token-endpoint error shape (reference-error-codes.md, "Handling error
codes in your application"); 50011, 500113 and 90102 are Entra's own page at authorize (never the app's), so the
redirect URI case here is 500112, the token request's mismatch."""

import html
import uuid

import pytest

from webapp import aadsts

CREDENTIAL = {"7000215", "7000222", "700016", "700027"}
CODES = ["500112", "7000215", "7000222", "65001", "700016", "50076", "50079", "53003", "700082", "700027", "50020"]
CODES += ["9002313", "50194", "90094"]


def entra_error(code: str, error: str) -> dict:
    trace, correlation = str(uuid.uuid4()), str(uuid.uuid4())
    stamp = "2026-01-09 02:02:12Z"
    return {
        "error": error,
        "error_description": f"AADSTS{code}: Injected.\r\nTrace ID: {trace}\r\nCorrelation ID: {correlation}"
        f"\r\nTimestamp: {stamp}",
        "error_codes": [int(code)],
        "timestamp": stamp,
        "trace_id": trace,
        "correlation_id": correlation,
        "error_uri": f"https://login.microsoftonline.com/error?code={code}",
    }


@pytest.mark.parametrize("code", CODES)
def test_the_page_explains_the_code(browser, mock_authority, code):
    error = "invalid_client" if code in CREDENTIAL else "invalid_grant"
    body = entra_error(code, error)
    mock_authority.state.enqueue_fault("token", "body", status=401 if code in CREDENTIAL else 400, body=body)
    page = browser.sign_in()
    text = html.unescape(page.response.text)
    assert page.response.status_code < 500 or page.response.status_code == 503, text[:500]
    assert "Traceback" not in text
    explanation = aadsts.explain(code)
    assert explanation is not None
    assert explanation.fix in text, text[:2000]
    if code != "53003":  # its own page keeps its headline, and takes the rest from aadsts.py
        assert explanation.what in text and explanation.cause in text
    for value in (body["trace_id"], body["correlation_id"], body["timestamp"]):
        assert value in text


def test_a_redirect_uri_mismatch_shows_the_uri_the_app_sends(browser, mock_authority):
    mock_authority.state.enqueue_fault("token", "body", status=400, body=entra_error("500112", "invalid_grant"))
    page = browser.sign_in()
    assert f'<code id="redirect-uri">{browser.app_url}/getAToken</code>' in page.response.text


def test_an_unknown_code_links_to_microsofts_lookup(browser, mock_authority):
    mock_authority.state.enqueue_fault("token", "body", status=400, body=entra_error("4242424", "invalid_grant"))
    page = browser.sign_in()
    assert page.response.status_code == 400
    assert 'href="https://login.microsoftonline.com/error?code=4242424"' in page.response.text
