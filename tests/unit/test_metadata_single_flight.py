"""AuthorityMetadata fetches outside its lock, one fetch at a time, and serves its cached copy while refreshing
or after a failed refresh: real threads against a real slow local server."""

from __future__ import annotations

import threading

import pytest
import requests

from tests.support.local_upstream import Handler, Stopwatch, upstream
from webapp.discovery import AuthorityMetadata
from webapp.outbound import TimeoutSession

DISCOVERY = "/tenant/v2.0/.well-known/openid-configuration"


@pytest.fixture
def server():
    with upstream() as server:
        yield server


def serve_metadata(server, delay: float = 0.0) -> None:
    document = {"issuer": "x", "jwks_uri": f"{server.url}/keys", "end_session_endpoint": f"{server.url}/logout"}
    server.json_route(DISCOVERY, document, delay=delay)
    server.json_route("/keys", {"keys": []}, delay=delay)


def metadata(server, **kwargs) -> AuthorityMetadata:
    """ttl_seconds=0 makes every read after the first a refresh."""
    return AuthorityMetadata(
        f"{server.url}/tenant/v2.0/.well-known/openid-configuration",
        TimeoutSession(2.0, 10.0, total_timeout=10.0),
        **kwargs,
    )


def in_thread(function) -> threading.Thread:
    thread = threading.Thread(target=function, daemon=True)
    thread.start()
    return thread


def test_concurrent_cold_readers_share_one_fetch(server):
    serve_metadata(server, delay=0.5)
    meta = metadata(server)
    results = []
    threads = [in_thread(lambda: results.append(meta.document()["issuer"])) for _ in range(8)]
    for thread in threads:
        thread.join(timeout=10)
    assert results == ["x"] * 8
    assert server.hits[DISCOVERY] == 1


def test_a_reader_with_a_cached_copy_does_not_wait_for_a_slow_refresh(server):
    serve_metadata(server)
    meta = metadata(server, ttl_seconds=0)
    assert meta.document()["issuer"] == "x"
    serve_metadata(server, delay=4)
    refresher = in_thread(meta.document)
    while server.hits[DISCOVERY] < 2:  # the refresh is in flight
        threading.Event().wait(0.02)
    with Stopwatch() as watch:
        assert meta.document()["issuer"] == "x"
        assert meta.end_session_endpoint() == f"{server.url}/logout"
    assert watch.seconds < 1.5, f"waited {watch.seconds:.1f} s behind another request's fetch"
    assert server.hits[DISCOVERY] == 2, "a second fetch started while one was in flight"
    refresher.join(timeout=10)


def test_a_failed_refresh_serves_the_cached_copy_then_backs_off(server):
    serve_metadata(server)
    meta = metadata(server, ttl_seconds=0)
    assert meta.document()["issuer"] == "x"
    server.json_route(DISCOVERY, {"error": "down"}, status=503)
    assert meta.document()["issuer"] == "x", "stale-if-error"
    server.raw_route(DISCOVERY, b"[1, 2]")
    for _ in range(5):
        assert meta.document()["issuer"] == "x"
    assert server.hits[DISCOVERY] == 2, "after a failed refresh, readers must not each retry at once"


def test_garbage_on_refresh_keeps_the_cached_copy(server):
    serve_metadata(server)
    meta = metadata(server, ttl_seconds=0, error_backoff_seconds=0)
    meta.document()
    server.raw_route(DISCOVERY, b"[1, 2]")
    assert meta.document()["issuer"] == "x"
    assert server.hits[DISCOVERY] == 2


def test_stale_copies_are_served_for_a_bounded_time_only(server):
    serve_metadata(server)
    meta = metadata(server, ttl_seconds=0, max_stale_seconds=0, error_backoff_seconds=0)
    meta.document()
    server.json_route(DISCOVERY, {"error": "down"}, status=503)
    with pytest.raises(requests.HTTPError):
        meta.document()


def test_cold_readers_waiting_on_a_dripping_fetch_are_bounded(server):
    def drip(request: Handler) -> None:
        request.send_response(200)
        request.send_header("Content-Length", "100")
        request.end_headers()
        request.drip(b"{" * 100, 0.3)

    server.route(DISCOVERY, drip)
    meta = AuthorityMetadata(
        f"{server.url}/tenant/v2.0/.well-known/openid-configuration", TimeoutSession(2.0, 2.0, total_timeout=2.0)
    )
    errors = []

    def read():
        try:
            meta.document()
        except requests.RequestException as exc:
            errors.append(exc)

    with Stopwatch() as watch:
        threads = [in_thread(read) for _ in range(4)]
        for thread in threads:
            thread.join(timeout=20)
    assert len(errors) == 4 and all(isinstance(e, requests.Timeout) for e in errors), errors
    assert watch.seconds < 6
    assert server.hits[DISCOVERY] == 1, "waiters must not start fetches of their own"


def test_keys_refresh_in_flight_does_not_block_readers_of_known_keys(server):
    from tests.support.local_upstream import rsa_jwk

    jwk, _ = rsa_jwk("k1")
    serve_metadata(server)
    server.json_route("/keys", {"keys": [jwk]})
    meta = metadata(server, ttl_seconds=0)
    assert meta.signing_key("k1") is not None
    server.json_route("/keys", {"keys": [jwk]}, delay=4)
    server.json_route(DISCOVERY, {"jwks_uri": f"{server.url}/keys", "issuer": "x"})
    refresher = in_thread(lambda: meta.signing_key("k1"))
    while server.hits["/keys"] < 2:
        threading.Event().wait(0.02)
    with Stopwatch() as watch:
        assert meta.signing_key("k1") is not None
    assert watch.seconds < 1.5
    refresher.join(timeout=10)
    server.json_route("/keys", {"error": "down"}, status=500)
    assert meta.signing_key("k1") is not None, "stale-if-error for the keys too"
