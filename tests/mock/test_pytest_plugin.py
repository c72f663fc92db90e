"""mock_authority.pytest_plugin gives another test-suite the mock: config override, session server, reset."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

CONFTEST = """
import pytest
from mock_authority import MockConfig

pytest_plugins = ["mock_authority.pytest_plugin"]

@pytest.fixture(scope="session")
def mock_authority_config():
    return MockConfig(client_id="11111111-2222-3333-4444-555555555555", redirect_uris=("http://localhost/cb",))
"""
TESTS = """
import requests

def test_config_override_and_server(mock_authority, mock_authority_ca_bundle):
    assert mock_authority.config.client_id == "11111111-2222-3333-4444-555555555555"
    assert requests.get(mock_authority.authority + "/v2.0/.well-known/openid-configuration").status_code == 200
    mock_authority.state.advance_clock(60)
    mock_authority.state.enqueue_fault("token", "invalid_grant")

def test_each_test_starts_clean(mock_authority, mock_authority_server):
    assert mock_authority is mock_authority_server, "one server for the session"
    assert mock_authority.state.clock_offset == 0 and mock_authority.state.faults == []
    assert mock_authority.state.requests == []
"""


def test_plugin_in_another_suite(tmp_path):
    (tmp_path / "conftest.py").write_text(textwrap.dedent(CONFTEST))
    (tmp_path / "test_uses_mock.py").write_text(textwrap.dedent(TESTS))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("REQUESTS_CA_BUNDLE", None)
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed" in result.stdout
