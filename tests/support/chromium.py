"""Headless Chromium through Playwright, for every test that needs a real browser.

Playwright drives Debian's `chromium` (this machine cannot download Playwright's own browsers); set
CHROMIUM_PATH to use another Chromium or Chrome executable. Without one the tests are skipped, except in CI
(CI=true), where a missing browser is a failure.
"""

import contextlib
import os
import shutil

import pytest

DEFAULT_CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
HOW_TO_ENABLE = (
    "install Debian's Chromium (sudo apt-get install chromium) or point CHROMIUM_PATH at a "
    "Chromium/Chrome executable, and install the test requirements "
    "(.venv/bin/pip install -r tests/requirements.txt); `playwright install` is not needed"
)


def _unavailable(reason: str):
    if os.environ.get("CI") == "true":
        pytest.fail(
            f"Browser tests cannot run in CI: {reason}. Fix: {HOW_TO_ENABLE}. "
            ".ci/run installs the chromium package on Debian.",
            pytrace=False,
        )
    pytest.skip(f"browser tests skipped: {reason}. To enable them, {HOW_TO_ENABLE}.")


def chromium_executable() -> str | None:
    wanted = os.environ.get("CHROMIUM_PATH") or DEFAULT_CHROMIUM
    found = shutil.which(wanted)
    return found


@contextlib.contextmanager
def launch_chromium():
    """Headless Chromium; skip the test without it (fail in CI, CI=true, where the browser tests must run)."""
    try:
        from playwright.sync_api import Error as PlaywrightError
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright package is not installed")
    executable = chromium_executable()
    if executable is None:
        _unavailable(f"no Chromium executable at {os.environ.get('CHROMIUM_PATH') or DEFAULT_CHROMIUM}")
    with sync_playwright() as playwright:
        try:
            browser = playwright.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
        except PlaywrightError as exc:
            _unavailable(f"Chromium at {executable} did not start ({str(exc).splitlines()[0]})")
        try:
            yield browser
        finally:
            browser.close()
