"""Real-browser fixtures: one headless Chromium per test session, a fresh browser context per test.

The app and the mock authority are started by `serve_local.serve`, the code path `make run` uses, on free
ports. The `chromium` fixture (tests/conftest.py, tests/support/chromium.py) says how Chromium is found.
"""

from __future__ import annotations

import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from serve_local import serve
from tests.support.person import Person

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"


@dataclass
class Site:
    """The running app and its mock authority, as `make run` starts them."""

    url: str
    mock: object

    @property
    def users(self):
        return self.mock.state.users


@pytest.fixture(scope="session")
def site_server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("browser-site")
    overrides = {"SESSION_FILE_DIR": str(tmp / "sessions"), "SECRET_KEY": secrets.token_hex(32)}
    # No .env at this path, so serve() starts the local mock authority and points the app at it.
    with serve(port=0, env_file=str(tmp / "absent.env"), overrides=overrides) as (url, mock):
        assert mock is not None, "serve() did not start the mock authority"
        yield Site(url, mock)


@pytest.fixture
def site(site_server):
    """The served app, with the mock authority reset (fresh users, no faults, no SSO) for this test."""
    site_server.mock.state.reset()
    return site_server


def _shots_dir(request) -> Path:
    name = request.node.name.replace("/", "_").replace("[", "-").replace("]", "")
    directory = SCREENSHOTS / name
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    return directory


@pytest.fixture
def new_person(chromium, site, request):
    """Factory: a person with their own browser context (own cookies), watched for console errors and CSP
    violations, whose every page is checked for basic accessibility. Checked again at teardown."""
    people, contexts = [], []
    shots = _shots_dir(request)

    def make(label: str = "") -> Person:
        context = chromium.new_context(viewport={"width": 1100, "height": 800}, locale="en-US", color_scheme="light")
        context.set_default_timeout(10_000)
        contexts.append(context)
        person = Person(context, site, shots, prefix=label)
        people.append(person)
        return person

    yield make
    try:
        for person in people:
            person.assert_clean()
    finally:
        for context in contexts:
            context.close()


@pytest.fixture
def person(new_person):
    return new_person()
