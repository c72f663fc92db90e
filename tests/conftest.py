"""Shared fixtures: the mock authority (one per test session), a live app on a free port, a scripted browser.

Fixtures only: the helpers they are built from (and that tests import) are in tests/support/."""

import pytest

from mock_authority import MockConfig
from tests.support.apps import TEST_CLIENT_ID, TEST_CLIENT_SECRET, TEST_REDIRECT_URIS, app_settings, serve_app
from tests.support.browser import ScriptedBrowser
from tests.support.chromium import launch_chromium

# mock_authority_server (one per test session) and mock_authority (reset for each test).
pytest_plugins = ["mock_authority.pytest_plugin"]


@pytest.fixture(scope="session")
def mock_authority_config():
    return MockConfig(client_id=TEST_CLIENT_ID, client_secret=TEST_CLIENT_SECRET, redirect_uris=TEST_REDIRECT_URIS)


@pytest.fixture(scope="session")
def chromium():
    """Headless Chromium, launched once for the whole test session (skipped without it, failed in CI)."""
    with launch_chromium() as browser:
        yield browser


@pytest.fixture
def tls_page(chromium):
    """A Chromium page in a context of its own that accepts the tests' https servers, whose certificates come from
    throwaway CAs it is not given."""
    context = chromium.new_context(ignore_https_errors=True)
    context.set_default_timeout(15_000)
    try:
        yield context.new_page()
    finally:
        context.close()


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
