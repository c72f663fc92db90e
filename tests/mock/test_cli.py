"""The CLI, MockConfig and run_in_thread take the same options; the CLI starts and prints .env lines."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from mock_authority import MockConfig
from mock_authority.cli import build_parser, config_from_args
from mock_authority.config import config_from

ROOT = Path(__file__).resolve().parents[2]
FIELDS = {f.name for f in dataclasses.fields(MockConfig)}


def test_cli_options_map_one_to_one_onto_config_fields():
    dests = {a.dest for a in build_parser()._actions if a.dest != "help"}
    assert dests == FIELDS


def test_cli_defaults_equal_config_defaults():
    parsed = config_from_args(build_parser().parse_args([]))
    assert parsed == MockConfig(), "CLI without options must mean the same as MockConfig()"


@pytest.mark.parametrize("field", sorted(FIELDS))
def test_runner_and_factory_accept_every_config_field(field):
    value = getattr(MockConfig(), field)
    assert getattr(config_from(None, **{field: value}), field) == value


def test_runner_rejects_unknown_options():
    with pytest.raises(TypeError):
        config_from(None, colour="blue")


def _start_cli(*options: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    command = [sys.executable, "-m", "mock_authority", "--port", "0", "--front-port", "0", *options]
    return subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def _env_lines(process: subprocess.Popen) -> dict[str, str]:
    """The .env lines the CLI prints, up to REQUESTS_CA_BUNDLE."""
    lines: dict[str, str] = {}
    assert process.stdout is not None
    for line in process.stdout:
        if "=" in line and not line.startswith("#"):
            key, _, value = line.strip().partition("=")
            lines[key] = value
        if "REQUESTS_CA_BUNDLE" in lines:
            break
    return lines


def test_cli_starts_and_prints_env_lines():
    process = _start_cli(
        "--redirect-uri", "http://localhost:5000/getAToken", "--redirect-uri", "http://localhost:5000/b"
    )
    try:
        lines = _env_lines(process)
        assert lines["AUTHORITY"].startswith("https://localhost:")
        assert set(lines) == {
            "AUTHORITY",
            "CLIENT_ID",
            "CLIENT_SECRET",
            "REDIRECT_URI",
            "ENDPOINT",
            "SCOPE",
            "REQUESTS_CA_BUNDLE",
        }
        assert lines["REDIRECT_URI"] == "http://localhost:5000/getAToken"
        assert Path(lines["REQUESTS_CA_BUNDLE"]).is_file()
    finally:
        process.terminate()
        process.communicate(timeout=10)
    assert process.returncode == 0, "SIGTERM stops the mock cleanly"
    assert not Path(lines["REQUESTS_CA_BUNDLE"]).exists(), "the CA bundle is removed on exit"


def test_cli_b2c_shape_prints_the_demo_apis_scope_and_endpoint():
    """Graph takes no B2C token: in the B2C shape SCOPE and ENDPOINT name the API registered in the tenant."""
    process = _start_cli("--shape", "b2c", "--tenant-domain", "fabrikamb2c.onmicrosoft.com")
    try:
        lines = _env_lines(process)
        assert lines["SCOPE"] == "https://fabrikamb2c.onmicrosoft.com/demo-api/demo.read"
        assert lines["ENDPOINT"] == f"{lines['B2C_INSTANCE']}/b2c-demo-api/hello"
        answer = requests.get(lines["ENDPOINT"], verify=lines["REQUESTS_CA_BUNDLE"], timeout=10)
        assert answer.status_code == 401 and answer.headers["WWW-Authenticate"] == "Bearer", "served, and protected"
    finally:
        process.terminate()
        process.communicate(timeout=10)
