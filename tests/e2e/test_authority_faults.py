"""The token endpoint failing at sign-in: a clear page with Entra's ids, no session, no 500."""

import pytest

from tests.support.apps import app_settings, serve_app
from tests.support.browser import ScriptedBrowser, assert_signed_out


@pytest.mark.parametrize(
    "kind, status, code",
    [
        ("invalid_grant", 400, "invalid_grant"),
        ("invalid_client", 503, "invalid_client"),  # the app's own credential: misconfigured, not the user's fault
        ("server_error", 502, "server_error"),
        ("temporarily_unavailable", 502, "server_error"),
        ("id_token_wrong_nonce", 400, "invalid_id_token"),
        ("id_token_missing", 502, "invalid_id_token"),
    ],
)
def test_token_endpoint_failure_at_sign_in(browser, mock_authority, kind, status, code):
    mock_authority.state.enqueue_fault("token", kind)
    page = browser.sign_in()
    assert page.response.status_code == status, page.text
    assert code in page.text and "Try signing in again" in page.text
    assert "Traceback" not in page.response.text
    assert_signed_out(browser, why="no session on failure")


def test_entra_error_page_shows_the_correlation_id(browser, mock_authority):
    mock_authority.state.enqueue_fault("token", "invalid_grant")
    page = browser.sign_in()
    token_call = mock_authority.state.requests_to("token")[-1]
    assert "Correlation ID" in page.text and token_call.client_request_id in page.text
    assert page.text.count(token_call.client_request_id) == 1, "the id is shown once, not again in the description"


def test_a_sign_in_works_again_after_an_outage(browser, mock_authority):
    mock_authority.state.enqueue_fault("token", "server_error")
    assert browser.sign_in().response.status_code == 502
    assert "Welcome" in browser.sign_in().h1


def test_authority_timeout_is_a_clear_page(mock_authority, tmp_path):
    with serve_app(app_settings(mock_authority, tmp_path, HTTP_READ_TIMEOUT=1)) as (_, url):
        browser = ScriptedBrowser(url)
        picker = browser.open_account_picker()
        mock_authority.state.enqueue_fault("token", "slow", delay=3)
        page = browser.choose(picker)
        assert page.response.status_code == 504 and "did not answer in time" in page.text
