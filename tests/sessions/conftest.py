"""Fixtures for the session-store tests: a real redis-server, each test on either store, and measured figures.

Tests that take `store` run once on the filesystem store (the default configuration; only the directory is the
test's own) and once on Redis. The figures they record are printed at the end of the run.
"""

import pytest

from tests.support import servers
from tests.support.apps import app_settings

FIGURES = []


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory):
    """One redis-server for the run, on a free port; stopped at the end."""
    with servers.redis_server(tmp_path_factory.mktemp("redis")) as url:
        yield url


@pytest.fixture
def redis_url(redis_server):
    """The Redis server, emptied for this test."""
    import redis

    with redis.Redis.from_url(redis_server) as client:
        client.flushall()
    return redis_server


@pytest.fixture
def redis_client(redis_url):
    import redis

    with redis.Redis.from_url(redis_url) as client:
        yield client


@pytest.fixture(params=["filesystem", pytest.param("redis", marks=pytest.mark.redis)])
def store(request):
    """Each test twice: on the default filesystem store and on Redis."""
    return request.param


@pytest.fixture
def store_settings(store, mock_authority, tmp_path, request):
    """A function giving the app's settings for this test's store, plus overrides."""

    def settings(**overrides):
        if store == "redis":
            overrides = {"SESSION_TYPE": "redis", "REDIS_URL": request.getfixturevalue("redis_url"), **overrides}
        return app_settings(mock_authority, tmp_path, **overrides)

    return settings


@pytest.fixture
def report():
    """Record a measured figure for the end-of-run summary."""
    return FIGURES.append


def pytest_terminal_summary(terminalreporter):
    if FIGURES:
        terminalreporter.section("session store figures")
        for line in FIGURES:
            terminalreporter.write_line(line)
