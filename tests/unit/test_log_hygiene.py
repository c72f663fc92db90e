"""Request logs keep paths but lose query strings, which carry the authorization code and state."""

import logging

import pytest

from webapp.log_hygiene import DropQueryStrings, DropTokenEvents


def filtered(filter_, msg, *args) -> str:
    record = logging.LogRecord("test", logging.INFO, __file__, 1, msg, args or None, None)
    filter_.filter(record)
    return record.getMessage()


@pytest.mark.parametrize(
    "msg, args, expected",
    [
        (
            "%s - - [%s] %s",
            ("127.0.0.1", "now", '"\x1b[35mGET /getAToken?code=SECRET&state=S HTTP/1.1\x1b[0m" 400 -'),
            '127.0.0.1 - - [now] "\x1b[35mGET /getAToken?… HTTP/1.1\x1b[0m" 400 -',
        ),
        ("Error handling request %s", ("/getAToken?code=SECRET",), "Error handling request /getAToken?…"),
        (
            "Invalid request: https://app.test/getAToken?code=SECRET",
            (),
            "Invalid request: https://app.test/getAToken?…",
        ),
        ('"GET / HTTP/1.1" 200', (), '"GET / HTTP/1.1" 200'),
    ],
)
def test_query_strings_are_cut_where_the_path_stands(msg, args, expected):
    line = filtered(DropQueryStrings(), msg, *args)
    assert line == expected and "SECRET" not in line


def test_msal_token_events_are_not_logged():
    line = filtered(DropTokenEvents(), "event=%s", '{"data": {"code": "SECRET", "code_verifier": "V"}}')
    assert "SECRET" not in line and line.startswith("event=(")
