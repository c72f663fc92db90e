"""Shared fixtures: the mock authority (one per test session), a live app on a free port, a scripted browser.

Fixtures only: the helpers they are built from (and that tests import) are in tests/support/."""

import pytest

from mock_authority import MockConfig, run_in_thread
from tests.support.apps import TEST_CLIENT_ID, TEST_CLIENT_SECRET, app_settings, serve_app
from tests.support.browser import ScriptedBrowser


@pytest.fixture(scope="session")
def mock_authority_server():
    # Entra ignores the port of an http://localhost redirect URI, so one registration fits every app port.
    config = MockConfig(
        client_id=TEST_CLIENT_ID, client_secret=TEST_CLIENT_SECRET, redirect_uris=("http://localhost/getAToken",)
    )
    with run_in_thread(config) as mock:
        yield mock


@pytest.fixture
def mock_authority(mock_authority_server):
    """The mock authority, reset for this test."""
    mock_authority_server.state.reset()
    return mock_authority_server


@pytest.fixture
def live_app(mock_authority, tmp_path):
    """The app, served by a real WSGI server on a free port, configured for the mock authority."""
    with serve_app(app_settings(mock_authority, tmp_path)) as (app, url):
        app.url = url
        yield app


@pytest.fixture
def browser(live_app):
    return ScriptedBrowser(live_app.url)


@pytest.fixture
def signed_in(browser, mock_authority):
    """A browser already signed in as the first demo user."""
    page = browser.sign_in()
    assert "Welcome" in page.h1, page.text
    return browser
