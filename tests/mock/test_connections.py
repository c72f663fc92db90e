"""Both listeners keep connections alive (HTTP/1.1), and the mock counts the connections clients open."""

from __future__ import annotations

import requests


def pooled_session(mock) -> requests.Session:
    session = requests.Session()
    session.trust_env = False  # else REQUESTS_CA_BUNDLE or CURL_CA_BUNDLE from the environment beat verify
    session.verify = mock.ca_bundle
    return session


def test_a_pooled_session_makes_many_graph_calls_on_one_connection(mock, oauth):
    token = oauth.sign_in()["access_token"]
    mock.state.clear_connections()
    with pooled_session(mock) as pooled:
        for _ in range(5):
            response = pooled.get(mock.graph_endpoint, headers={"Authorization": f"Bearer {token}"}, timeout=10)
            assert response.status_code == 200, response.text
            assert response.raw.version == 11 and "close" not in response.headers.get("Connection", "").lower()
    assert len(mock.state.requests_to("graph_users")) == 5
    assert mock.state.connections_opened("back") == 1, "the mock Graph must keep a client's connection alive"


def test_every_new_tls_connection_is_counted(mock):
    mock.state.clear_connections()
    for _ in range(3):
        with pooled_session(mock) as fresh:
            assert fresh.get(f"{mock.authority}/v2.0/.well-known/openid-configuration", timeout=10).status_code == 200
    assert mock.state.connections_opened("back") == 3
    assert mock.state.connections_opened("front") == 0


def test_the_front_channel_keeps_connections_alive_too(mock):
    with requests.Session() as browser:
        for _ in range(3):
            assert browser.get(f"{mock.front_url}/_mock/users", timeout=10).status_code == 200
    assert mock.state.connections_opened("front") == 1


def test_connection_counts_over_http_and_reset(mock):
    with requests.Session() as http:
        assert http.get(f"{mock.front_url}/_mock/connections", timeout=10).json() == {"back": 0, "front": 1}
        http.post(f"{mock.front_url}/_mock/reset", timeout=10)
        assert http.get(f"{mock.front_url}/_mock/connections", timeout=10).json() == {"back": 0, "front": 0}
