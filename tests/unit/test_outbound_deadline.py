"""TimeoutSession bounds each outbound call by a total deadline and a body cap, against real local servers."""

from __future__ import annotations

import gzip
import threading

import msal
import pytest
import requests

from tests.support.local_upstream import Handler, Stopwatch, upstream
from webapp.outbound import DeadlineExceeded, ResponseTooLarge, TimeoutSession
from webapp.refresh_coalescing import CoalescingHttpClient

BODY = b'{"drip": "' + b"x" * 30 + b'"}'


def drip_body(request: Handler) -> None:
    """Headers at once, then the body one byte every 0.3 s: no read ever waits longer than the read timeout."""
    request.send_response(200)
    request.send_header("Content-Type", "application/json")
    request.send_header("Content-Length", str(len(BODY)))
    request.end_headers()
    request.wfile.flush()
    request.drip(BODY, 0.3)


def drip_headers(request: Handler) -> None:
    head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Padding: " + b"p" * 30 + b"\r\n"
    request.drip(head + b"Content-Length: 2\r\n\r\n{}", 0.3)


@pytest.fixture
def server():
    with upstream() as server:
        yield server


def session(**overrides) -> TimeoutSession:
    settings = {"connect_timeout": 2.0, "read_timeout": 2.0, "total_timeout": 2.0, **overrides}
    return TimeoutSession(**settings)


@pytest.mark.parametrize("route", [drip_body, drip_headers])
def test_a_dripped_answer_is_cut_off_at_the_total_deadline(server, route):
    server.route("/drip", route)
    http = session()
    with Stopwatch() as watch, pytest.raises(DeadlineExceeded) as raised:
        http.get(f"{server.url}/drip")
    assert isinstance(raised.value, requests.Timeout), "handlers map requests.Timeout to 504"
    assert watch.seconds < 6, f"a 2 s deadline took {watch.seconds:.1f} s"


def test_the_deadline_also_bounds_posts_and_the_next_call_still_works(server):
    server.route("/drip", drip_body)
    server.json_route("/ok", {"ok": True})
    http = session()
    with Stopwatch() as watch, pytest.raises(requests.Timeout):
        http.post(f"{server.url}/drip", data={"grant_type": "x"}, headers={"X-Test": "1"})
    assert watch.seconds < 6
    assert http.get(f"{server.url}/ok").json() == {"ok": True}


def test_a_slow_but_complete_answer_within_the_deadline_is_read(server):
    server.json_route("/slow", {"late": True}, delay=0.5)
    response = session(total_timeout=5.0).get(f"{server.url}/slow")
    assert response.status_code == 200 and response.json() == {"late": True}


def test_the_read_timeout_still_applies_per_read(server):
    server.json_route("/stall", {"late": True}, delay=3)
    with Stopwatch() as watch, pytest.raises(requests.Timeout):
        session(read_timeout=0.5, total_timeout=10.0).get(f"{server.url}/stall")
    assert watch.seconds < 2.5


def test_a_declared_oversized_body_is_refused(server):
    def big(request: Handler) -> None:
        request.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n{}" % (50 * 1024 * 1024))

    server.route("/big", big)
    with pytest.raises(ResponseTooLarge):
        session(total_timeout=5.0).get(f"{server.url}/big")


def test_an_endless_chunked_body_is_refused_at_the_cap(server):
    def endless(request: Handler) -> None:
        request.send_response(200)
        request.send_header("Transfer-Encoding", "chunked")
        request.end_headers()
        chunk = b"a" * 65536
        for _ in range(200):  # 12.5 MiB, far past the cap
            request.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        request.wfile.write(b"0\r\n\r\n")

    server.route("/endless", endless)
    with pytest.raises(ResponseTooLarge):
        session(total_timeout=5.0, max_body_bytes=1024 * 1024).get(f"{server.url}/endless")


def test_a_compressed_body_is_capped_after_decompression(server):
    bomb = gzip.compress(b"0" * (20 * 1024 * 1024))  # about 20 KB on the wire
    server.route("/bomb", lambda r: r.send_bytes(bomb, Content_Encoding="gzip"))
    with pytest.raises(ResponseTooLarge):
        session(total_timeout=5.0).get(f"{server.url}/bomb")


def test_connections_stay_pooled(server):
    server.json_route("/ok", {"ok": True})
    http = session()
    for _ in range(10):
        assert http.get(f"{server.url}/ok").json() == {"ok": True}
    assert server.connections == 1, "each call opened a new connection"


def test_each_thread_has_its_own_deadline(server):
    """A fast call in one thread is not cut off by a slow call of another thread on the same session."""
    server.route("/drip", drip_body)
    server.json_route("/ok", {"ok": True}, delay=0.2)
    http = session(total_timeout=1.5)
    errors = []
    slow = threading.Thread(
        target=lambda: errors.append(pytest.raises(requests.Timeout, http.get, f"{server.url}/drip"))
    )
    slow.start()
    results = [http.get(f"{server.url}/ok").json() for _ in range(3)]
    slow.join(timeout=10)
    assert results == [{"ok": True}] * 3 and len(errors) == 1


def test_msal_discovery_through_the_coalescing_client_is_bounded(tmp_path):
    """msal's own calls go through the same session: a dripping authority cannot hold a sign-in for long."""
    with upstream(tls_directory=tmp_path) as server:
        server.route("/tenant/v2.0/.well-known/openid-configuration", drip_body)
        http = TimeoutSession(2.0, 2.0, server.ca_bundle, total_timeout=2.0)
        with Stopwatch() as watch, pytest.raises(requests.Timeout):
            msal.ConfidentialClientApplication(
                "client",
                client_credential="secret",
                oidc_authority=f"{server.url}/tenant/v2.0",
                http_client=CoalescingHttpClient(http, wait_seconds=3),
            )
        assert watch.seconds < 6
        assert server.hits["/tenant/v2.0/.well-known/openid-configuration"] >= 1


@pytest.mark.filterwarnings("ignore:.*response_mode.*:UserWarning")
def test_msal_signs_in_and_refreshes_through_timeout_session_against_the_mock(mock_authority):
    """Real msal, real mock over TLS: discovery, auth-code redemption and a refresh through our http_client."""
    import re
    import urllib.parse

    mock = mock_authority
    http = TimeoutSession(3.0, 3.0, mock.ca_bundle, total_timeout=5.0)
    app = msal.ConfidentialClientApplication(
        mock.config.client_id,
        client_credential=mock.config.client_secret,
        authority=mock.authority,
        instance_discovery=False,
        token_cache=msal.SerializableTokenCache(),
        http_client=CoalescingHttpClient(http, wait_seconds=6),
    )
    redirect_uri = mock.config.redirect_uris[0]
    flow = app.initiate_auth_code_flow(["User.ReadBasic.All"], redirect_uri=redirect_uri)
    browser = requests.Session()
    browser.verify = mock.ca_bundle
    page = browser.get(flow["auth_uri"], allow_redirects=False, timeout=10)
    ctx = re.search(r'name="ctx" value="([^"]+)"', page.text).group(1)
    account = re.findall(r'name="account" value="([^"]+)"', page.text)[0]
    authorize = urllib.parse.urlsplit(flow["auth_uri"])._replace(query="").geturl()
    picked = browser.post(authorize, data={"ctx": ctx, "account": account}, allow_redirects=False, timeout=10)
    auth_response = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(picked.headers["Location"]).query))

    result = app.acquire_token_by_auth_code_flow(flow, auth_response)
    assert "access_token" in result, result
    assert result["id_token_claims"]["aud"] == mock.config.client_id

    account = app.get_accounts()[0]
    refreshed = app.acquire_token_silent(["User.ReadBasic.All"], account, force_refresh=True)
    assert refreshed and "access_token" in refreshed, refreshed
    assert refreshed["access_token"] != result["access_token"]
