"""The app under test: its registration at the mock authority, its settings, and serving it on a free port."""

import secrets
import uuid

from tests.support.served import serve_app_at

# Entra ignores the port of an http://localhost redirect URI, so one registration fits every app port; the site
# root is where the app sends users after sign-out, which Entra allows only when it is a registered redirect URI.
TEST_REDIRECT_URIS = ("http://localhost/getAToken", "http://localhost/")
TEST_CLIENT_ID = str(uuid.uuid4())
TEST_CLIENT_SECRET = secrets.token_urlsafe(32)

# A complete, valid configuration that points nowhere: for tests that only build the app or check settings.
GOOD_SETTINGS = {
    "CLIENT_ID": "0f0e0d0c-0000-4000-8000-000000000001",
    "CLIENT_SECRET": "test-secret",
    "AUTHORITY": "https://login.example.test/0f0e0d0c-0000-4000-8000-000000000002",
    "REDIRECT_URI": "http://localhost:5000/getAToken",
    "SCOPE": "User.ReadBasic.All",
    "ENDPOINT": "https://graph.example.test/v1.0/users",
    "SESSION_TYPE": "filesystem",
    "HTTP_CONNECT_TIMEOUT": "3",
    "HTTP_READ_TIMEOUT": "10",
}


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


# What the app asks for with its default SCOPE (msal adds the OpenID scopes), for an admin to consent to.
APP_PERMISSIONS = "User.ReadBasic.All openid profile email offline_access"


def register_app(mock, url: str, **fields):
    """Register the app served at url as an app of its own: its redirect URI, its site root (where it sends users
    after sign-out, which Entra allows only when registered) and an admin's consent to its default SCOPE (apps
    registered at run time start with none)."""
    client = mock.state.register_client(redirect_uris=(f"{url}/getAToken", f"{url}/"), **fields)
    mock.state.grant_admin_consent(client.client_id, APP_PERMISSIONS)
    return client


def serve_app(settings):
    """Serve create_app(settings) on a free port; yield (app, url). REDIRECT_URI follows the port."""
    return serve_app_at(lambda url: {"REDIRECT_URI": f"{url}/getAToken", **settings})
