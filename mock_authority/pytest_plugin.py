"""pytest fixtures that give any test-suite a running mock authority.

Load them from the top-level conftest.py with `pytest_plugins = ["mock_authority.pytest_plugin"]`, or import
them into any conftest.py (`from mock_authority.pytest_plugin import mock_authority, mock_authority_server`).

- `mock_authority_config` (session): the MockConfig to run; override it to register your app's client id,
  secret, redirect URIs or front-channel logout URL.
- `mock_authority_server` (session): the running MockAuthority, started once from that config.
- `mock_authority`: the same mock, reset before each test (codes, tokens, faults, log, clock, sessions).
- `mock_authority_ca_bundle`: the mock, trusted by requests/msal in this test (REQUESTS_CA_BUNDLE set).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .config import MockConfig
from .server import MockAuthority, run_in_thread


@pytest.fixture(scope="session")
def mock_authority_config() -> MockConfig:
    """The configuration of the session's mock (generated ids and secret, the demo users)."""
    return MockConfig()


@pytest.fixture(scope="session")
def mock_authority_server(mock_authority_config: MockConfig) -> Iterator[MockAuthority]:
    """One mock per test session, on free ports."""
    with run_in_thread(mock_authority_config) as mock:
        yield mock


@pytest.fixture()
def mock_authority(mock_authority_server: MockAuthority) -> MockAuthority:
    """The session's mock, reset so each test starts clean."""
    mock_authority_server.state.reset()
    return mock_authority_server


@pytest.fixture()
def mock_authority_ca_bundle(mock_authority: MockAuthority, monkeypatch: pytest.MonkeyPatch) -> str:
    """Trust the mock's throwaway CA for this test (requests and msal read REQUESTS_CA_BUNDLE)."""
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", mock_authority.ca_bundle)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    return mock_authority.ca_bundle
