"""Property-based: whatever query string, form body or headers arrive, never a 5xx, a traceback or a session."""

from html import unescape
from urllib.parse import parse_qs, urlsplit

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app import create_app
from tests.support.apps import app_settings
from tests.support.browser import answers_signed_in

# Printable text, including markup and URL metacharacters; long values included.
TEXT = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x2FFF, exclude_categories=("Cs",)), max_size=300)
HEADER_TEXT = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=200)
CALLBACK_KEYS = (
    st.sampled_from(
        ["code", "state", "error", "error_description", "error_subcode", "client_info", "session_state", "next"]
    )
    | TEXT
)
QUERY = st.dictionaries(CALLBACK_KEYS, TEXT, max_size=6)
HEADERS = st.dictionaries(
    st.sampled_from(
        [
            "Cookie",
            "Referer",
            "Accept",
            "Accept-Language",
            "X-Forwarded-For",
            "X-Forwarded-Proto",
            "X-Forwarded-Host",
            "Origin",
            "User-Agent",
            "Content-Type",
        ]
    ),
    HEADER_TEXT,
    max_size=4,
)
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture(scope="module")
def app(mock_authority_server, tmp_path_factory):
    return create_app(app_settings(mock_authority_server, tmp_path_factory.mktemp("fuzz")))


def assert_safe(client, response):
    assert response.status_code < 500, response.get_data(as_text=True)[:500]
    assert b"Traceback" not in response.data
    assert not answers_signed_in(client.get("/")), "no signed-in session may come out of an unauthenticated flow"


def pending_state(client) -> str:
    """Start a sign-in in this client and return its state, so the fuzzed callback gets past the state check."""
    html = client.get("/login").get_data(as_text=True)
    start = html.index('id="sign-in" href="') + len('id="sign-in" href="')
    link = unescape(html[start : html.index('"', start)])
    return parse_qs(urlsplit(link).query)["state"][0]


@FUZZ
@given(query=QUERY, headers=HEADERS, real_state=st.booleans())
def test_callback(app, query, headers, real_state):
    with app.test_client() as client:
        if real_state:
            query = {**query, "state": pending_state(client)}
        assert_safe(client, client.get("/getAToken", query_string=query, headers=headers))


@FUZZ
@given(query=QUERY, headers=HEADERS)
def test_login(app, query, headers):
    with app.test_client() as client:
        response = client.get("/login", query_string=query, headers=headers)
        assert_safe(client, response)


@FUZZ
@given(
    form=st.dictionaries(st.sampled_from(["csrf_token", "next"]) | TEXT, TEXT, max_size=4),
    headers=HEADERS,
    visit_first=st.booleans(),
)
def test_logout(app, form, headers, visit_first):
    with app.test_client() as client:
        if visit_first:
            client.get("/logout")
        assert_safe(client, client.post("/logout", data=form, headers=headers))


@FUZZ
@given(query=QUERY, headers=HEADERS)
def test_call_api(app, query, headers):
    with app.test_client() as client:
        assert_safe(client, client.get("/call_api", query_string=query, headers=headers))
