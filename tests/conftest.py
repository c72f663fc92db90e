"""Shared fixtures: the mock authority (one per test session), a live app on a free port, a scripted browser."""

import contextlib
import secrets
import threading
import uuid

import pytest
from werkzeug.serving import make_server

from app import create_app
from mock_authority import MockConfig, run_in_thread
from tests.scripted_browser import ScriptedBrowser

TEST_CLIENT_ID = str(uuid.uuid4())
TEST_CLIENT_SECRET = secrets.token_urlsafe(32)


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


def app_settings(mock, tmp_path, **overrides) -> dict:
    """Settings pointing an app at the mock, with its sessions under tmp_path."""
    settings = {
        "CLIENT_ID": TEST_CLIENT_ID,
        "CLIENT_SECRET": TEST_CLIENT_SECRET,
        "AUTHORITY": mock.authority,
        "ENDPOINT": mock.graph_endpoint,
        "SECRET_KEY": secrets.token_hex(16),
        "SCOPE": "User.ReadBasic.All",
        "SESSION_TYPE": "filesystem",
        "SESSION_FILE_DIR": str(tmp_path / "sessions"),
        "HTTP_READ_TIMEOUT": 3,
        "REQUESTS_CA_BUNDLE": mock.ca_bundle,
    }
    settings.update(overrides)
    return settings


@contextlib.contextmanager
def serve_app(settings):
    """Serve create_app(settings) on a free port; yield (app, url). REDIRECT_URI follows the port."""
    server = make_server("127.0.0.1", 0, app=None, threaded=True)
    url = f"http://localhost:{server.server_port}"
    settings = {"REDIRECT_URI": f"{url}/getAToken", **settings}
    server.app = create_app(settings)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.app, url
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


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
