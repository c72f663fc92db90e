"""Session lifetimes and proxy trust: their defaults, how they reach Flask, and how they are checked.

Each malformed value is named by tests/unit/test_config.py::test_each_bad_setting_is_named, with the others."""

import re
from pathlib import Path

import pytest

import app_config
from app import create_app
from tests.support.apps import GOOD_SETTINGS


def test_defaults_outlast_an_access_token_and_stay_inside_the_refresh_token():
    idle = int(app_config.DEFAULTS["SESSION_IDLE_TIMEOUT"])
    absolute = int(app_config.DEFAULTS["SESSION_ABSOLUTE_TIMEOUT"])
    assert idle >= 90 * 60, "an idle session must outlive the longest Entra access token (60-90 min)"
    assert absolute <= 90 * 24 * 3600, "the session must not outlive the refresh token's 90-day window"
    assert idle <= absolute
    assert app_config.DEFAULTS["TRUSTED_PROXIES"] == "0", "forwarded headers are trusted only when configured"


def test_idle_timeout_reaches_the_session_store(tmp_path):
    app = create_app(
        {**GOOD_SETTINGS, "SECRET_KEY": "k", "SESSION_FILE_DIR": str(tmp_path), "SESSION_IDLE_TIMEOUT": "600"}
    )
    assert app.session_interface.idle_timeout == 600
    assert app.session_interface.touch_every == 60, "saved when changed; expiry slides by a touch once a minute"


def test_idle_timeout_longer_than_absolute_is_named():
    problems = app_config.find_problems(
        {**GOOD_SETTINGS, "SESSION_IDLE_TIMEOUT": "7200", "SESSION_ABSOLUTE_TIMEOUT": "3600"}
    )
    assert [(p.setting, "SESSION_ABSOLUTE_TIMEOUT" in p.message) for p in problems] == [("SESSION_IDLE_TIMEOUT", True)]


def test_malformed_lifetime_still_starts_the_app_on_the_configuration_page(tmp_path):
    app = create_app(
        {**GOOD_SETTINGS, "SECRET_KEY": "k", "SESSION_FILE_DIR": str(tmp_path), "SESSION_IDLE_TIMEOUT": "soon"}
    )
    response = app.test_client().get("/")
    assert response.status_code == 503 and b"SESSION_IDLE_TIMEOUT" in response.data


# Set by the demo entry point (serve_local.py) itself, not by people.
UNDOCUMENTED = {"LOCAL_MOCK_AUTHORITY"}


@pytest.mark.parametrize("key", sorted(set(app_config.DEFAULTS) - UNDOCUMENTED))
def test_setting_is_documented(key):
    root = Path(__file__).resolve().parents[2]
    sample = (root / ".env.sample").read_text()
    # A line of its own (commented out where one of several alternatives), with the default where it has one.
    assert re.search(rf"^(# )?{key}=", sample, re.M), ".env.sample explains it"
    if app_config.DEFAULTS[key] and not re.search(rf"^# {key}=", sample, re.M):  # empty: a value to fill in
        assert f"\n{key}={app_config.DEFAULTS[key]}\n" in sample, ".env.sample shows its default"
    settings_rows = [
        line.split("|")[1] for line in (root / "README.md").read_text().splitlines() if line.startswith("| `")
    ]
    assert any(f"`{key}`" in first for first in settings_rows), "the README's settings table lists it"
