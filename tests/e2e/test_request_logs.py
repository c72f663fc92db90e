"""One log line per request with its id, and the ids support asks for on every Entra or Graph failure.

Lines are captured as an operator would see them: a handler with the app's own JSON formatter and request filter on
the root logger (what LOG_FORMAT=json installs when the host application configured no logging itself).
"""

import contextlib
import io
import json
import logging
import re
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from tests.support.apps import TEST_CLIENT_SECRET
from tests.support.html import Page
from tests.support.store import read_session
from webapp import request_log

GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
GENERATED_ID = re.compile(r"^[0-9a-f]{32}$")


class Captured:
    def __init__(self, log_format: str):
        self.stream = io.StringIO()
        self.handler = logging.StreamHandler(self.stream)
        self.handler.setFormatter(request_log.formatter(log_format))
        self.handler.addFilter(request_log.RequestFields())

    def lines(self) -> list[dict]:
        return [json.loads(line) for line in self.stream.getvalue().splitlines()]

    def requests(self, route: str | None = None) -> list[dict]:
        return [
            line
            for line in self.lines()
            if line["logger"] == "webapp.request_log" and route in (None, line.get("route"))
        ]


@pytest.fixture
def captured() -> Iterator[Captured]:
    with capturing("json", logging.INFO) as capture:
        yield capture


@contextlib.contextmanager
def capturing(log_format: str, level: int) -> Iterator[Captured]:
    root = logging.getLogger()
    capture = Captured(log_format)
    previous = root.level
    root.addHandler(capture.handler)
    root.setLevel(level)
    try:
        yield capture
    finally:
        root.removeHandler(capture.handler)
        root.setLevel(previous)


def test_one_line_per_request_with_the_route_status_duration_and_user_ids(signed_in, mock_authority, captured):
    user = mock_authority.state.users[0]
    response = signed_in.http.get(signed_in.url("/call_api?filter=private-words"))
    assert response.status_code == 200
    [line] = captured.requests("/call_api")
    assert line["method"] == "GET" and line["status"] == 200 and line["level"] == "INFO"
    assert isinstance(line["duration_ms"], float) and 0 <= line["duration_ms"] < 30_000
    assert line["oid"] == user.oid and line["tid"] == mock_authority.state.config.tenant_id
    assert line["request_id"] == response.headers["X-Request-ID"]
    text = json.dumps(line)
    assert "private-words" not in text, "the route, never the path with its query"
    assert user.name not in text and user.upn not in text, "ids only, never a name or an email"
    assert "T" in line["timestamp"] and line["message"].startswith("GET /call_api 200 ")


def test_signed_out_lines_carry_no_user_and_unknown_paths_no_route(browser, captured):
    browser.http.get(browser.url("/login"))
    browser.http.get(browser.url("/no/such/page?x=1"))
    home, missing = captured.requests()
    assert (home["route"], home["status"]) == ("/login", 200) and "oid" not in home and "tid" not in home
    assert (missing["route"], missing["status"]) == ("(no route)", 404)


def test_probes_are_not_logged(live_app, captured):
    for path in ("/healthz", "/readyz", "/login"):
        requests.get(live_app.url + path, timeout=10)
    assert [line["route"] for line in captured.requests()] == ["/login"]


@pytest.mark.parametrize("incoming", ["req-42.Abc_9", "a" * 128])
def test_a_sane_incoming_request_id_is_honoured(live_app, captured, incoming):
    response = requests.get(live_app.url + "/login", headers={"X-Request-ID": incoming}, timeout=10)
    assert response.headers["X-Request-ID"] == incoming
    assert captured.requests("/login")[0]["request_id"] == incoming


@pytest.mark.parametrize("hostile", ["a" * 129, "id with spaces", "../../etc/passwd", "<script>", "id;drop", ""])
def test_a_hostile_or_absent_request_id_is_replaced_by_a_new_one(live_app, captured, hostile):
    headers = {"X-Request-ID": hostile} if hostile else {}
    first = requests.get(live_app.url + "/login", headers=headers, timeout=10).headers["X-Request-ID"]
    second = requests.get(live_app.url + "/login", headers=headers, timeout=10).headers["X-Request-ID"]
    assert GENERATED_ID.match(first) and GENERATED_ID.match(second) and first != second
    assert [line["request_id"] for line in captured.requests("/login")] == [first, second]
    assert hostile not in captured.stream.getvalue() or not hostile


def test_an_authority_failure_logs_entras_ids_and_the_client_request_id_msal_sent(browser, mock_authority, captured):
    picker = browser.open_account_picker()
    mock_authority.state.enqueue_fault("token", "invalid_grant")
    page = browser.choose(picker)
    assert page.response.status_code == 400
    request_id = page.response.headers["X-Request-ID"]
    [failure] = [line for line in captured.lines() if line["message"].startswith("sign-in failed")]
    assert failure["request_id"] == request_id and failure["level"] == "WARNING"
    assert failure["error"] == "invalid_grant" and failure["aadsts"]
    # Entra's error JSON carries trace_id and correlation_id (reference-error-codes.md); the page shows them too.
    assert GUID.match(failure["trace_id"]) and failure["trace_id"] in page.text
    assert GUID.match(failure["correlation_id"]) and failure["correlation_id"] in page.text
    sent = mock_authority.state.requests_to("token")[-1].client_request_id
    assert sent and failure["client_request_id"] == sent, "the client-request-id msal sent on the failed call"
    [line] = captured.requests("/getAToken")
    assert line["request_id"] == request_id and line["status"] == 400


def test_a_graph_failure_logs_graphs_request_id_and_client_request_id(signed_in, mock_authority, captured):
    mock_authority.state.enqueue_fault("graph", "status", status=403)
    response = signed_in.http.get(signed_in.url("/call_api"))
    assert response.status_code == 403
    [failure] = [line for line in captured.lines() if line["logger"] == "webapp.graph"]
    assert failure["request_id"] == response.headers["X-Request-ID"]
    # Graph's error carries request-id and client-request-id headers (and in innerError), which support asks for.
    assert GUID.match(failure["graph_request_id"]) and failure["graph_request_id"] in response.text
    assert GUID.match(failure["graph_client_request_id"])
    assert captured.requests("/call_api")[0]["status"] == 403


def test_text_format_is_one_readable_line_with_the_request_id(live_app):
    with capturing("text", logging.INFO) as capture:
        response = requests.get(live_app.url + "/login", headers={"X-Request-ID": "text-line-1"}, timeout=10)
    assert response.status_code == 200
    [line] = [line for line in capture.stream.getvalue().splitlines() if "webapp.request_log" in line]
    assert re.search(r" INFO webapp\.request_log \[text-line-1\] GET /login 200 \d+\.\d ms$", line), line


def test_nothing_secret_in_any_line_at_debug(browser, live_app, mock_authority):
    with capturing("json", logging.DEBUG) as capture:
        mock_authority.state.configure(access_token_lifetime=200)  # a refresh too
        response = browser.choose(browser.open_account_picker(), follow=False)
        callback = response.headers["Location"]
        code = parse_qs(urlsplit(callback).query)["code"][0]
        cookies = [cookie.value for cookie in browser.http.cookies]  # the pending sign-in's
        assert "Welcome" in Page(browser.http.get(callback)).h1
        assert browser.get("/call_api").response.status_code == 200
        session_id = browser.session_cookie()
        cache = json.loads(read_session(live_app, session_id)["_token_cache"])
        tokens = [
            entry["secret"] for kind in ("AccessToken", "RefreshToken", "IdToken") for entry in cache[kind].values()
        ]
        browser.sign_out()
    secrets = [code, TEST_CLIENT_SECRET, session_id, *cookies, *tokens]
    assert len(tokens) >= 3 and cookies, "expected the pending cookie, the AT, RT and ID token"
    # The scripted browser's own urllib3 lines (its requests to the app and the authority's pages) are not the app's.
    targets = (browser.app_url, mock_authority.front_url)
    lines = [
        line
        for line in capture.lines()
        if not (line["logger"].startswith("urllib3") and any(t in line["message"] for t in targets))
    ]
    text = "\n".join(json.dumps(line) for line in lines)
    assert any(line["logger"].startswith("msal") for line in lines), "DEBUG lines of msal were captured"
    assert {"/getAToken", "/call_api", "/logout"} <= {line.get("route") for line in lines}
    for secret in secrets:
        assert secret not in text, f"a secret ({secret[:6]}…) leaked into the logs"
