"""Faults that answer garbage (any body, status and content type; JWKS [] and {"keys": null}) or answer
slowly: a drip sends the headers at once, then one byte every interval, stops when the client goes away,
and leaves the mock's other requests alone."""

from __future__ import annotations

import concurrent.futures
import json
import socket
import time
import urllib.parse

import pytest

from mock_authority import FAULT_KINDS

DEEP = 100_000


def jwks_url(mock) -> str:
    return f"{mock.authority}/discovery/v2.0/keys"


def discovery_url(mock) -> str:
    return f"{mock.authority}/v2.0/.well-known/openid-configuration"


@pytest.mark.parametrize("kind,expected", [("empty_array", []), ("null_keys", {"keys": None})])
def test_jwks_garbage(mock, oauth, kind, expected):
    mock.state.enqueue_fault("jwks", kind)
    response = oauth.session.get(jwks_url(mock))
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("application/json")
    assert response.json() == expected
    assert response.json() != oauth.session.get(jwks_url(mock)).json(), "one-shot"


def test_graph_error_body_that_is_a_json_array(mock, oauth):
    token = oauth.sign_in()["access_token"]
    mock.state.enqueue_fault("graph", "body", body=[{"error": "not an object"}], status=400)
    response = oauth.session.get(mock.graph_endpoint, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 400 and response.json() == [{"error": "not an object"}]


def test_json_nested_100000_deep(mock, oauth):
    mock.state.enqueue_fault("token", "body", nested_depth=DEEP, status=400)
    response = oauth.redeem(oauth.get_code())
    assert response.status_code == 400
    assert response.text == "[" * DEEP + "]" * DEEP
    with pytest.raises(RecursionError):
        json.loads(response.text)


@pytest.mark.parametrize("family", sorted(FAULT_KINDS))
def test_any_endpoint_answers_any_body_status_and_content_type(mock, oauth, family):
    mock.state.enqueue_fault(
        family, "body", body="<h1>gateway</h1>", status=502, content_type="text/html", headers={"X-Fault": "1"}
    )
    _, challenge = oauth.new_pkce()
    tenant_url = f"{mock.authority}"
    calls = {
        "authorize": lambda: oauth.authorize(oauth.authorize_params(challenge)),
        "token": lambda: oauth.session.post(oauth.token_url(), data={"grant_type": "refresh_token"}),
        "discovery": lambda: oauth.session.get(discovery_url(mock)),
        "jwks": lambda: oauth.session.get(jwks_url(mock)),
        "logout": lambda: oauth.session.get(f"{tenant_url}/oauth2/v2.0/logout", allow_redirects=False),
        "graph": lambda: oauth.session.get(mock.graph_endpoint),
    }
    response = calls[family]()
    assert (response.status_code, response.text) == (502, "<h1>gateway</h1>")
    assert response.headers["Content-Type"].startswith("text/html") and response.headers["X-Fault"] == "1"
    assert calls[family]().status_code != 502, "one-shot"


def test_faults_over_the_control_api(mock, oauth):
    control = f"{mock.front_url}/_mock/faults"
    added = oauth.session.post(control, json={"endpoint": "graph", "kind": "body", "nested_depth": 3})
    assert added.status_code == 201 and added.json()["params"]["body_length"] == 6
    assert oauth.session.post(control, json={"endpoint": "jwks", "kind": "null_keys"}).status_code == 201
    drip = {"endpoint": "discovery", "kind": "drip", "interval": 0.01, "body": "{}"}
    assert oauth.session.post(control, json=drip).status_code == 201
    assert [f["kind"] for f in oauth.session.get(control).json()] == ["body", "null_keys", "drip"]
    assert oauth.session.get(jwks_url(mock)).json() == {"keys": None}
    assert oauth.session.get(discovery_url(mock)).json() == {}
    for bad in (
        {"endpoint": "graph", "kind": "body"},
        {"endpoint": "graph", "kind": "drip", "interval": 0},
        {"endpoint": "graph", "kind": "body", "body": "x", "status": 99},
        {"endpoint": "graph", "kind": "body", "body": "x", "headers": ["a"]},
        {"endpoint": "discovery", "kind": "empty_array"},
    ):
        assert oauth.session.post(control, json=bad).status_code == 400, bad


def test_drip_sends_headers_first_then_one_byte_per_interval(mock, oauth):
    mock.state.enqueue_fault("discovery", "drip", interval=0.4, body="abcd", status=200)
    started = time.monotonic()
    with oauth.session.get(discovery_url(mock), stream=True) as response:
        headers_after = time.monotonic() - started
        assert response.status_code == 200 and response.headers["Content-Length"] == "4"
        body = response.raw.read()
    total = time.monotonic() - started
    assert body == b"abcd"
    assert headers_after < total - 1.2, "headers come before the body's first bytes"
    assert total >= 1.6, "then one byte every 0.4 s"
    deadline = time.monotonic() + 5  # the mock records the last byte just after the client has it
    while not mock.state.drips[0].ended and time.monotonic() < deadline:
        time.sleep(0.02)  # state.drips returns copies: read it afresh each time
    [drip] = mock.state.drips
    assert (drip.sent, drip.total, drip.ended) == (4, 4, True)


def test_drip_of_the_real_answer(mock, oauth):
    token = oauth.sign_in()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    url = f"{mock.base_url}/v1.0/me?$select=id"
    expected = oauth.session.get(url, headers=headers).json()
    mock.state.enqueue_fault("graph", "drip", interval=0.002)
    response = oauth.session.get(url, headers=headers)
    assert response.json() == expected
    assert response.elapsed.total_seconds() < 0.5 < len(response.content) * 0.002 + 0.5, "elapsed is time to headers"


def _start_drip(mock, path: str) -> socket.socket:
    """A plain-http client on the front listener that reads the headers and the first byte, then stops."""
    front = urllib.parse.urlsplit(mock.front_url)
    sock = socket.create_connection((front.hostname, front.port), timeout=5)
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: {front.netloc}\r\n\r\n".encode())
    received = b""
    while b"\r\n\r\n" not in received or received.endswith(b"\r\n\r\n"):
        received += sock.recv(1)
    return sock


def _wait_until(predicate, seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def test_a_drip_stops_when_its_client_goes_away(mock):
    mock.state.enqueue_fault("discovery", "drip", interval=0.05, body="x" * 100_000)
    sock = _start_drip(mock, f"/{mock.config.tenant_id}/v2.0/.well-known/openid-configuration")
    sock.close()
    assert _wait_until(lambda: mock.state.drips[0].ended), "the drip kept sending to a closed connection"
    assert mock.state.drips[0].sent < 100


def test_drips_do_not_starve_the_mocks_other_requests(mock, oauth):
    drips = 6
    path = f"/{mock.config.tenant_id}/v2.0/.well-known/openid-configuration"
    for _ in range(drips):
        mock.state.enqueue_fault("discovery", "drip", interval=0.5, body="x" * 10_000)
    sockets = [_start_drip(mock, path) for _ in range(drips)]
    try:
        started = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(max_workers=16) as pool:
            statuses = list(pool.map(lambda _: oauth.session.get(discovery_url(mock)).status_code, range(32)))
        assert statuses == [200] * 32
        assert time.monotonic() - started < 5
        assert sum(not d.ended for d in mock.state.drips) == drips, "the drips are still going meanwhile"
    finally:
        for sock in sockets:
            sock.close()


def test_reset_ends_running_drips(mock):
    mock.state.enqueue_fault("discovery", "drip", interval=0.2, body="x" * 1000)
    sock = _start_drip(mock, f"/{mock.config.tenant_id}/v2.0/.well-known/openid-configuration")
    try:
        [drip] = mock.state.drips
        mock.state.reset()
        sock.settimeout(3)
        rest = b""
        while chunk := sock.recv(100):
            rest += chunk
        assert len(rest) < 1000, "the connection ended short of the declared length"
    finally:
        sock.close()
