"""/healthz and /readyz: cheap, without a session or a cookie, naming the failed check and nothing secret."""

import shutil

import pytest
import requests

from tests.support import servers
from tests.support.apps import app_settings, serve_app

PROBES = ("/healthz", "/readyz")


def get(url: str, path: str, **kwargs) -> requests.Response:
    return requests.get(url + path, timeout=10, allow_redirects=False, **kwargs)


def assert_probe_response(response: requests.Response) -> None:
    """No cookie whatever the caller sent, and the security headers every page has."""
    assert "Set-Cookie" not in response.headers, response.headers
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "Content-Security-Policy" in response.headers
    assert response.headers["Cache-Control"] == "no-store"


def test_both_answer_200_without_touching_a_session(live_app, mock_authority):
    for path in PROBES:
        response = get(live_app.url, path, cookies={"session": "a-stale-cookie-of-no-session"})
        assert response.status_code == 200, (path, response.text)
        assert_probe_response(response)
    assert get(live_app.url, "/healthz").text == "ok\n"
    assert get(live_app.url, "/readyz").text == "ready\n"


def test_ready_from_the_cached_metadata_while_the_authority_fails(live_app, mock_authority):
    assert get(live_app.url, "/readyz").status_code == 200  # fetches and caches the discovery document
    mock_authority.state.clear_requests()
    for _ in range(3):
        mock_authority.state.enqueue_fault("discovery", "status", status=503)
        assert get(live_app.url, "/readyz").status_code == 200
    assert mock_authority.state.requests_to("discovery") == [], "a cached document asks the authority nothing"


def test_not_ready_when_the_authority_is_unreachable_with_nothing_cached(mock_authority, tmp_path):
    with serve_app(app_settings(mock_authority, tmp_path)) as (app, url):
        mock_authority.state.enqueue_fault("discovery", "status", status=503)
        response = get(url, "/readyz")
        assert response.status_code == 503 and response.text == "not ready: authority metadata\n"
        assert_probe_response(response)
        assert get(url, "/healthz").status_code == 200, "the process still answers"
        assert get(url, "/readyz").status_code == 200, "ready again once the authority answers"


def test_not_ready_while_the_filesystem_store_is_gone(live_app, tmp_path):
    assert get(live_app.url, "/readyz").status_code == 200
    directory = tmp_path / "sessions"
    shutil.rmtree(directory)  # a volume unmounted (permissions alone would not stop root, who runs CI)
    try:
        response = get(live_app.url, "/readyz")
        assert response.status_code == 503 and response.text == "not ready: session store\n"
        assert str(tmp_path) not in response.text
        assert get(live_app.url, "/healthz").status_code == 200
    finally:
        directory.mkdir(mode=0o700)
    assert get(live_app.url, "/readyz").status_code == 200, "ready again once the store is back"


@pytest.mark.redis
def test_not_ready_while_redis_is_stopped_then_ready_again(mock_authority, tmp_path):
    with servers.redis_instance(tmp_path, persist=True) as redis_server:
        settings = app_settings(mock_authority, tmp_path, SESSION_TYPE="redis", REDIS_URL=redis_server.url)
        with serve_app(settings) as (app, url):
            assert get(url, "/readyz").status_code == 200
            redis_server.stop()
            response = get(url, "/readyz")
            assert response.status_code == 503 and response.text == "not ready: session store\n"
            assert redis_server.url.split("@")[0] not in response.text, "never the Redis URL or its password"
            assert_probe_response(response)
            assert get(url, "/healthz").status_code == 200
            assert redis_server.start(), "redis-server did not start again on its port"
            assert get(url, "/readyz").status_code == 200


def test_an_incomplete_configuration_is_alive_but_not_ready(mock_authority, tmp_path):
    settings = app_settings(mock_authority, tmp_path, CLIENT_ID="")
    with serve_app(settings) as (app, url):
        assert get(url, "/").status_code == 503, "every other page lists the settings to fix"
        health, ready = get(url, "/healthz"), get(url, "/readyz")
        assert (health.status_code, health.text) == (200, "ok\n")
        assert (ready.status_code, ready.text) == (503, "not ready: not configured\n")
        for response in (health, ready):
            assert_probe_response(response)
            assert "CLIENT_ID" not in response.text and "client" not in response.text.lower()
