"""/call_api: Graph as the signed-in user, silent refresh, and Graph's failures as clear pages."""

from urllib.parse import parse_qs, urlsplit

import pytest

from tests.support.apps import app_settings, serve_app
from tests.support.browser import ScriptedBrowser


def test_call_api_shows_the_users_table(signed_in, mock_authority):
    page = signed_in.get("/call_api")
    assert page.response.status_code == 200
    for user in mock_authority.state.users:
        assert user.name in page.text and user.upn in page.text and user.oid in page.text
    assert "Raw JSON" in page.text and "@odata.context" in page.text


def test_call_api_signed_out_goes_to_sign_in_and_comes_back(browser):
    response = browser.http.get(browser.url("/call_api"), allow_redirects=False)
    location = urlsplit(response.headers["Location"])
    assert response.status_code == 302 and location.path == "/login"
    assert parse_qs(location.query)["next"] == ["/call_api"]
    page = browser.sign_in(next_path="/call_api")
    assert page.url.endswith("/call_api") and "User principal name" in page.text


def test_expired_access_token_is_refreshed_silently(browser, mock_authority):
    # MSAL treats a token with under 300 s left as expired, so a 200 s token needs a refresh at once.
    mock_authority.state.configure(access_token_lifetime=200)
    browser.sign_in()
    page = browser.get("/call_api")
    assert page.response.status_code == 200 and "User principal name" in page.text
    grants = [r.grant_type for r in mock_authority.state.requests_to("token")]
    assert grants == ["authorization_code", "refresh_token"], grants


def test_valid_cached_token_needs_no_authority_call(signed_in, mock_authority):
    mock_authority.state.clear_requests()
    for _ in range(3):
        assert signed_in.get("/call_api").response.status_code == 200
    assert mock_authority.state.requests_to("token") == []


def test_refresh_refused_sends_the_user_through_sign_in_and_back(browser, mock_authority):
    mock_authority.state.configure(access_token_lifetime=200)
    browser.sign_in()
    mock_authority.state.enqueue_fault("token", "invalid_grant")
    response = browser.http.get(browser.url("/call_api"), allow_redirects=False)
    assert response.status_code == 302 and "/oauth2/v2.0/authorize?" in response.headers["Location"]
    picker = browser.get(response.headers["Location"])
    assert browser.choose(picker).url.endswith("/call_api")


@pytest.mark.parametrize(
    "fault, status, words",
    [
        ({"kind": "status", "status": 401}, 502, "did not accept your access token"),
        ({"kind": "status", "status": 403}, 403, "lack the permission"),
        ({"kind": "status", "status": 429, "retry_after": 30}, 429, "Try again in 30 s"),
        ({"kind": "status", "status": 503, "retry_after": 30}, 502, "temporarily unavailable"),
        ({"kind": "status", "status": 500}, 502, "had a problem"),
        ({"kind": "slow", "delay": 5}, 504, "did not answer in time"),
    ],
)
def test_graph_failures_give_a_clear_page_and_keep_the_user_signed_in(signed_in, mock_authority, fault, status, words):
    mock_authority.state.enqueue_fault("graph", **fault)
    page = signed_in.get("/call_api")
    assert page.response.status_code == status, page.text
    assert words in page.text and "You are still signed in" in page.text
    assert signed_in.get("/").response.status_code == 200


def test_graph_429_is_retried_once_within_the_cap(signed_in, mock_authority):
    mock_authority.state.enqueue_fault("graph", "status", status=429, retry_after=1)
    page = signed_in.get("/call_api")
    assert page.response.status_code == 200
    assert len(mock_authority.state.requests_to("graph_users")) == 2


def test_graph_error_shows_the_request_id(signed_in, mock_authority):
    mock_authority.state.enqueue_fault("graph", "status", status=403)
    page = signed_in.get("/call_api")
    assert "Request ID" in page.text


def test_a_single_object_endpoint_is_shown_as_fields(mock_authority, tmp_path):
    me = mock_authority.graph_endpoint.rsplit("/", 1)[0] + "/me"
    with serve_app(app_settings(mock_authority, tmp_path, ENDPOINT=me)) as (_, url):
        browser = ScriptedBrowser(url)
        user = mock_authority.state.users[0]
        browser.sign_in(upn=user.upn)
        page = browser.get("/call_api")
        assert page.response.status_code == 200 and "userPrincipalName" in page.text and user.upn in page.text
        assert "User principal name" not in page.text, "a single user is not a users table"
