"""Warm paths touch no authority: signed-in pages and /call_api with a cached token ask Graph at most; a sign-in
makes one token request; Graph calls share the app's pooled connection."""

import os

import pytest

from tests.support.browser import ScriptedBrowser
from tests.support.store import session_file

WARM_VIEWS = 20


def authority_requests(mock):
    """Everything the mock logged except Graph: discovery, JWKS, token, authorize, logout."""
    return [(r.endpoint, r.grant_type) for r in mock.state.requests if not r.endpoint.startswith("graph_")]


@pytest.mark.parametrize("path", ["/", "/logout"])
def test_signed_in_page_views_make_no_authority_request(signed_in, mock_authority, path):
    mock_authority.state.clear_requests()
    for _ in range(WARM_VIEWS):
        assert signed_in.get(path).response.status_code == 200
    assert authority_requests(mock_authority) == [], "a signed-in page must not wait on the identity platform"
    assert mock_authority.state.requests == []


def test_call_api_with_a_cached_token_asks_graph_only(signed_in, mock_authority):
    mock_authority.state.clear_requests()
    for _ in range(WARM_VIEWS):
        assert signed_in.get("/call_api").response.status_code == 200
    assert authority_requests(mock_authority) == [], "a valid cached access token needs no discovery, JWKS or token"
    assert len(mock_authority.state.requests_to("graph_users")) == WARM_VIEWS


def test_graph_calls_reuse_the_apps_pooled_connection(signed_in, mock_authority):
    mock_authority.state.clear_connections()
    for _ in range(WARM_VIEWS):
        assert signed_in.get("/call_api").response.status_code == 200
    assert mock_authority.state.connections_opened("back") <= 1, "each Graph call opened a new TLS connection"


def test_sign_in_makes_exactly_one_token_request(browser, mock_authority):
    assert "Welcome" in browser.sign_in().h1
    assert mock_authority.state.token_redemptions() == {"authorization_code": 1}


def test_a_warm_app_signs_the_next_user_in_without_discovery_or_keys(live_app, signed_in, mock_authority):
    mock_authority.state.clear_requests()
    assert "Welcome" in ScriptedBrowser(live_app.url).sign_in().h1
    # The browser's two visits to the authority's pages, then the app's one server-to-server request.
    assert authority_requests(mock_authority) == [
        ("authorize", None),
        ("authorize_pick", None),
        ("token", "authorization_code"),
    ]


def test_warm_page_views_do_not_rewrite_the_session(signed_in, live_app):
    """The session is written when it changes (and touched once a minute to slide its expiry), not per view."""
    path = session_file(live_app, signed_in.session_cookie())
    before = os.stat(path).st_mtime_ns
    for _ in range(5):
        assert signed_in.get("/").response.status_code == 200
    assert os.stat(path).st_mtime_ns == before
