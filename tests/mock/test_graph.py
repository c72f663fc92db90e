"""Graph: bearer validation, permissions, Graph-shaped errors, paging, $top/$select, faults, latency."""

from __future__ import annotations

import time
import uuid

import pytest

WWW_AUTHENTICATE = (
    'Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", '
    'client_id="00000003-0000-0000-c000-000000000000"'
)


@pytest.fixture()
def token(oauth):
    return oauth.sign_in()["access_token"]


def get(oauth, url, token=None, **params):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return oauth.session.get(url, headers=headers, params=params)


def assert_graph_error(response, status, code):
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code
    assert error["message"]
    assert {"date", "request-id", "client-request-id"} <= error["innerError"].keys()
    assert response.headers["request-id"] == error["innerError"]["request-id"]
    return error


@pytest.mark.parametrize("auth", [None, "Bearer", "Bearer not.a.jwt", "Basic abc"])
def test_missing_or_malformed_token_is_401(mock, oauth, auth):
    headers = {"Authorization": auth} if auth else {}
    response = oauth.session.get(mock.graph_endpoint, headers=headers)
    assert_graph_error(response, 401, "InvalidAuthenticationToken")
    assert response.headers["WWW-Authenticate"] == WWW_AUTHENTICATE


def test_expired_token_is_401_on_injected_clock(mock, oauth, token):
    assert get(oauth, f"{mock.base_url}/v1.0/me", token).status_code == 200
    mock.state.advance_clock(mock.config.access_token_lifetime + 1)
    error = assert_graph_error(get(oauth, f"{mock.base_url}/v1.0/me", token), 401, "InvalidAuthenticationToken")
    assert "expired" in error["message"]


def test_id_token_is_not_a_graph_token(mock, oauth):
    id_token = oauth.sign_in()["id_token"]
    assert_graph_error(get(oauth, mock.graph_endpoint, id_token), 401, "InvalidAuthenticationToken")


def test_insufficient_scope_is_403(mock, oauth):
    user_read = oauth.sign_in(scope="User.Read offline_access openid profile")["access_token"]
    assert get(oauth, f"{mock.base_url}/v1.0/me", user_read).status_code == 200
    assert_graph_error(get(oauth, mock.graph_endpoint, user_read), 403, "Authorization_RequestDenied")


def test_me_shape(mock, oauth, token):
    response = get(oauth, f"{mock.base_url}/v1.0/me", token)
    body = response.json()
    user = mock.state.users[0]
    assert body["@odata.context"].endswith("/v1.0/$metadata#users/$entity")
    assert body["id"] == user.oid and body["userPrincipalName"] == user.upn
    assert body["businessPhones"] == [] and body["mobilePhone"] is None
    assert list(body)[1:] == [
        "businessPhones",
        "displayName",
        "givenName",
        "jobTitle",
        "mail",
        "mobilePhone",
        "officeLocation",
        "preferredLanguage",
        "surname",
        "userPrincipalName",
        "id",
    ]


def test_paging_follows_next_link(mock, oauth, token):
    seen, url, params, pages = [], mock.graph_endpoint, {"$top": "3"}, 0
    while url:
        body = get(oauth, url, token, **params).json()
        params = {}
        seen += [u["id"] for u in body["value"]]
        url = body.get("@odata.nextLink")
        if url:
            assert "$top=3" in url and "$skiptoken=" in url, "nextLink keeps the other query options"
        pages += 1
    assert seen == [u.oid for u in mock.state.users]
    assert pages == -(-len(seen) // 3)


@pytest.mark.parametrize("top", ["0", "1000", "-1", "abc"])
def test_invalid_top_is_400(mock, oauth, token, top):
    assert_graph_error(get(oauth, mock.graph_endpoint, token, **{"$top": top}), 400, "Request_BadRequest")


def test_select_limits_properties_and_context(mock, oauth, token):
    body = get(oauth, mock.graph_endpoint, token, **{"$select": "displayName,mail"}).json()
    assert body["@odata.context"].endswith("#users(displayName,mail)")
    assert all(set(u) == {"displayName", "mail"} for u in body["value"])
    assert_graph_error(get(oauth, mock.graph_endpoint, token, **{"$select": "nope"}), 400, "Request_BadRequest")


@pytest.mark.parametrize("by", ["oid", "upn"])
def test_user_by_id_or_upn(mock, oauth, token, by):
    user = mock.state.users[2]
    key = user.oid if by == "oid" else user.upn.lower()
    assert get(oauth, f"{mock.graph_endpoint}/{key}", token).json()["id"] == user.oid


def test_unknown_user_is_404(mock, oauth, token):
    assert_graph_error(get(oauth, f"{mock.graph_endpoint}/{uuid.uuid4()}", token), 404, "Request_ResourceNotFound")


@pytest.mark.parametrize(
    "status,code,retry_after",
    [
        (401, "InvalidAuthenticationToken", None),
        (403, "Authorization_RequestDenied", None),
        (404, "Request_ResourceNotFound", None),
        (429, "TooManyRequests", "9"),
        (500, "generalException", None),
        (503, "serviceNotAvailable", "9"),
    ],
)
def test_graph_status_faults(mock, oauth, token, status, code, retry_after):
    mock.state.enqueue_fault("graph", "status", status=status, retry_after=9)
    request_id = str(uuid.uuid4())
    response = oauth.session.get(
        mock.graph_endpoint, headers={"Authorization": f"Bearer {token}", "client-request-id": request_id}
    )
    error = assert_graph_error(response, status, code)
    assert error["innerError"]["client-request-id"] == request_id == response.headers["client-request-id"]
    assert response.headers.get("Retry-After") == retry_after
    assert get(oauth, mock.graph_endpoint, token).status_code == 200, "fault is one-shot"


def test_graph_latency_and_slow_fault(mock, oauth, token):
    mock.state.configure(graph_latency=0.2)
    mock.state.enqueue_fault("graph", "slow", delay=0.2)
    started = time.monotonic()
    assert get(oauth, f"{mock.base_url}/v1.0/me", token).status_code == 200
    assert time.monotonic() - started >= 0.4
    mock.state.reset()
    assert mock.state.settings["graph_latency"] == 0.0, "reset restores configured settings"


def test_graph_calls_are_logged(mock, oauth, token):
    get(oauth, mock.graph_endpoint, token)
    get(oauth, f"{mock.base_url}/v1.0/me", token)
    assert [r.endpoint for r in mock.state.requests[-2:]] == ["graph_users", "graph_me"]


def test_userinfo(mock, oauth, token):
    info = get(oauth, f"{mock.base_url}/oidc/userinfo", token).json()
    assert info["name"] == mock.state.users[0].name and "sub" in info
