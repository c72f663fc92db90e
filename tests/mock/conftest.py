"""Fixtures for the mock's contract tests: the mock's own pytest plugin (one running mock per session,
reset before each test), configured with two redirect URIs.

Test modules get the helpers through the `oauth` fixture instead of importing this file."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
import urllib.parse

import msal
import pytest
import requests

from mock_authority import MockConfig
from mock_authority.pytest_plugin import mock_authority, mock_authority_server  # noqa: F401 - fixtures

REDIRECT_URI = "http://localhost:5000/getAToken"
POST_LOGOUT_URI = "http://localhost:5000/"
APP_SCOPE = "User.ReadBasic.All"
# What msal sends: app scopes plus the reserved ones, sorted.
DEFAULT_SCOPE = f"{APP_SCOPE} offline_access openid profile"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def new_pkce() -> tuple[str, str]:
    """A (verifier, S256 challenge) pair like msal's."""
    verifier = secrets.token_urlsafe(32)[:43]
    return verifier, b64url(hashlib.sha256(verifier.encode()).digest())


def redirect_params(response: requests.Response) -> dict[str, str]:
    """Query parameters of a 302's Location."""
    assert response.status_code == 302, f"expected a redirect, got {response.status_code}: {response.text[:300]}"
    return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(response.headers["Location"]).query))


class VerifyingSession(requests.Session):
    """A session that always verifies against one CA bundle (an explicit verify beats REQUESTS_CA_BUNDLE)."""

    def __init__(self, ca_bundle: str) -> None:
        super().__init__()
        self.ca_bundle = ca_bundle

    def request(self, method, url, **kwargs):
        kwargs.setdefault("verify", self.ca_bundle)
        kwargs.setdefault("timeout", 10)
        return super().request(method, url, **kwargs)


class OAuthDriver:
    """Drives the front channel (authorize + picker) and the token endpoint with plain requests."""

    redirect_uri = REDIRECT_URI
    app_scope = APP_SCOPE
    new_pkce = staticmethod(new_pkce)
    redirect_params = staticmethod(redirect_params)

    def __init__(self, mock) -> None:
        self.mock = mock
        self.session = VerifyingSession(mock.ca_bundle)
        self.tenant = mock.config.tenant_id

    def authorize_url(self, tenant: str | None = None) -> str:
        return f"{self.mock.front_url}/{tenant or self.tenant}/oauth2/v2.0/authorize"

    def token_url(self, tenant: str | None = None) -> str:
        return f"{self.mock.base_url}/{tenant or self.tenant}/oauth2/v2.0/token"

    def authorize_params(self, challenge: str, **overrides) -> dict:
        params = {
            "client_id": self.mock.config.client_id,
            "response_type": "code",
            "redirect_uri": REDIRECT_URI,
            "scope": DEFAULT_SCOPE,
            "state": secrets.token_urlsafe(16),
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            "nonce": secrets.token_hex(32),
            "client_info": "1",
        }
        params.update(overrides)
        return {k: v for k, v in params.items() if v is not None}

    def authorize(self, params: dict) -> requests.Response:
        return self.session.get(self.authorize_url(), params=params, allow_redirects=False)

    @staticmethod
    def picker_fields(page: requests.Response) -> tuple[str, list[str]]:
        """(ctx, account oids in page order) from the picker HTML contract."""
        assert page.status_code == 200, page.text[:500]
        assert 'id="account-picker"' in page.text
        ctx = re.search(r'name="ctx" value="([^"]+)"', page.text).group(1)
        return ctx, re.findall(r'name="account" value="([^"]+)"', page.text)

    def pick(self, page: requests.Response, account: str | None = None, cancel: bool = False):
        ctx, accounts = self.picker_fields(page)
        form = {"ctx": ctx, "cancel": "1"} if cancel else {"ctx": ctx, "account": account or accounts[0]}
        return self.session.post(self.authorize_url(), data=form, allow_redirects=False)

    def get_code(self, account: str | None = None, **overrides) -> dict:
        """Run authorize + pick; returns the redirect params plus verifier/nonce/state used."""
        verifier, challenge = new_pkce()
        params = self.authorize_params(challenge, **overrides)
        result = redirect_params(self.pick(self.authorize(params), account))
        assert "code" in result, result
        return {
            **result,
            "verifier": verifier,
            "nonce": params.get("nonce"),
            "sent_state": params["state"],
            "scope": params["scope"],
        }

    def redeem(self, flow: dict, headers: dict | None = None, **overrides) -> requests.Response:
        data = {
            "client_id": self.mock.config.client_id,
            "client_secret": self.mock.config.client_secret,
            "grant_type": "authorization_code",
            "code": flow["code"],
            "redirect_uri": REDIRECT_URI,
            "code_verifier": flow["verifier"],
            "scope": flow["scope"],
            "client_info": "1",
        }
        data.update(overrides)
        return self.session.post(
            self.token_url(), data={k: v for k, v in data.items() if v is not None}, headers=headers
        )

    def refresh(self, refresh_token: str, scope: str = "offline_access openid profile", **overrides):
        data = {
            "client_id": self.mock.config.client_id,
            "client_secret": self.mock.config.client_secret,
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
            "scope": scope,
            "client_info": "1",
        }
        data.update(overrides)
        return self.session.post(self.token_url(), data=data)

    def sign_in(self, **overrides) -> dict:
        """Full code flow; returns the token response JSON."""
        response = self.redeem(self.get_code(**overrides))
        assert response.status_code == 200, response.text
        return response.json()


@pytest.fixture(scope="session")
def mock_authority_config():
    """The plugin's config, overridden: a localhost and an https redirect URI registered, and the localhost
    app's site root (a post-logout URI must be a registered redirect URI)."""
    return MockConfig(redirect_uris=(REDIRECT_URI, "https://app.example/auth/callback", POST_LOGOUT_URI))


@pytest.fixture()
def mock(mock_authority):  # noqa: F811 - the fixture imported above
    """The session's mock, reset (by the plugin) so each test starts clean."""
    return mock_authority


@pytest.fixture()
def oauth(mock) -> OAuthDriver:
    """Drives authorize, picker and token endpoints of the mock with plain requests."""
    return OAuthDriver(mock)


@pytest.fixture()
def oauth_driver():
    """The driver class, for tests that run a mock of their own."""
    return OAuthDriver


@pytest.fixture()
def make_msal_app(mock, monkeypatch):
    """Builds real msal apps for the configured client, trusting the mock's throwaway CA as the app does (msal
    exposes no verify option through identity); keyword arguments go to ConfidentialClientApplication."""
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", mock.ca_bundle)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)

    def make(**options) -> msal.ConfidentialClientApplication:
        return msal.ConfidentialClientApplication(
            mock.config.client_id,
            client_credential=mock.config.client_secret,
            authority=mock.authority,
            instance_discovery=False,
            token_cache=msal.SerializableTokenCache(),
            **options,
        )

    return make
