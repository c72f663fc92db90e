"""What the session store holds, read by someone who can read it (Redis KEYS/GET, the session files), and what a
hostile or damaged entry there does to the app."""

import base64
import json
import logging
import os
import pickle
from pathlib import Path

import pytest

from tests.support.apps import serve_app
from tests.support.browser import ScriptedBrowser, answers_signed_in, is_signed_in
from tests.support.store import app_store, read_session, redis_key, session_file
from webapp.sealing import Ticket


def store_entries(app, store, request) -> dict[str, bytes]:
    """Everything the store holds: {name: raw bytes}, Redis keys and values (sets as their members) or files."""
    if store == "redis":
        client = request.getfixturevalue("redis_client")
        entries = {}
        for key in client.keys("*"):
            kind = client.type(key)
            if kind == b"string":
                entries[key.decode()] = client.get(key)
            elif kind == b"set":
                entries[key.decode()] = b"\n".join(sorted(client.smembers(key)))
            else:
                entries[key.decode()] = repr(kind).encode()
        return entries
    directory = Path(app_store(app).directory)
    return {path.name: path.read_bytes() for path in directory.iterdir() if path.is_file()}


def secrets_in(value, key=None) -> set[str]:
    """Every token and secret in the decrypted session: MSAL's cache entries' `secret`s, the ID token's raw form,
    the PKCE verifier, nonces, codes (JSON strings inside JSON are opened too)."""
    found = set()
    if isinstance(value, dict):
        for name, item in value.items():
            found |= secrets_in(item, name)
    elif isinstance(value, list):
        for item in value:
            found |= secrets_in(item, key)
    elif isinstance(value, str):
        if value[:1] in "{[":
            try:
                return secrets_in(json.loads(value), key)
            except ValueError:
                pass
        sensitive = ("secret", "token", "verifier", "nonce", "code", "state")
        if key and any(word in str(key).lower() for word in sensitive) and len(value) >= 16:
            found.add(value)
    return found


def cookie_parts(cookie: str) -> set[bytes]:
    """The cookie and what it is made of, in the forms a store might hold it: text, raw bytes, hex, base64."""
    ticket = Ticket.from_cookie(cookie)
    parts = {cookie.encode(), ticket.id, ticket.secret}
    for raw in (ticket.id, ticket.secret):
        parts |= {raw.hex().encode(), base64.urlsafe_b64encode(raw).rstrip(b"="), base64.b64encode(raw).rstrip(b"=")}
    parts |= {cookie[i : i + 12].encode() for i in range(0, len(cookie) - 12, 4)}  # any 12 characters of it
    return parts


def test_the_store_holds_neither_cookies_nor_tokens(store_settings, store, request, mock_authority, report):
    """After a real sign-in and an API call: no key holds the cookie or any part of it, no value holds any token
    from the session's MSAL cache, and nothing read from the store works as a cookie."""
    with serve_app(store_settings()) as (app, url):
        name = app.config["SESSION_COOKIE_NAME"]
        browser = ScriptedBrowser(url)
        browser.sign_in()
        assert browser.get("/call_api").response.status_code == 200
        cookie = browser.session_cookie()
        session = read_session(app, cookie)
        tokens = secrets_in(session)
        assert any(value.startswith("1.A") for value in tokens), f"no refresh token found in {sorted(session)}"
        entries = store_entries(app, store, request)
        assert entries, "the store holds the session"

        parts = cookie_parts(cookie)
        for key, value in entries.items():
            assert not [part for part in parts if part in key.encode()], f"the key {key} holds part of the cookie"
            assert not [part for part in parts if part in value], f"the value of {key} holds part of the cookie"
            for token in tokens:
                for form in (token.encode(), base64.b64encode(token.encode()), token.encode().hex().encode()):
                    assert form not in value, f"the value of {key} holds a token in clear ({token[:12]}...)"

        forged = set()
        for key, value in entries.items():
            stem = key.rsplit(":", 1)[-1].split(".")[0]
            forged |= {stem, key, base64.urlsafe_b64encode(value[:48]).rstrip(b"=").decode()}
            if len(stem) == 32:  # a 16-byte id in hex: pad it out to a ticket with any secret
                forged.add(base64.urlsafe_b64encode(bytes.fromhex(stem) + bytes(32)).rstrip(b"=").decode())
                forged.add(base64.urlsafe_b64encode(bytes.fromhex(stem) * 3).rstrip(b"=").decode())
        for candidate in sorted(forged):
            for path in ("/", "/call_api"):
                assert not is_signed_in(browser, path, cookie=candidate, cookie_name=name), (
                    f"a cookie built from the store ({candidate[:20]}...) signed in on {path}"
                )
        assert is_signed_in(browser, cookie=cookie, cookie_name=name), "the real cookie still works"
    report(
        f"{store}: {len(entries)} stored entries, {len(tokens)} tokens/secrets in the session, none in the store; "
        f"{len(forged)} cookies built from the store: none signed in"
    )


class _Marker:
    """Unpickling this creates the marker file: proof that the app unpickled something from the store."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


def put(app, store, request, cookie: str, blob: bytes):
    """Write blob as this cookie's stored session, behind the app's back."""
    if store == "redis":
        request.getfixturevalue("redis_client").set(redis_key(cookie), blob, ex=600)
    else:
        path = session_file(app, cookie)
        path.write_bytes(blob)
        os.chmod(path, 0o600)


def test_a_pickle_planted_in_the_store_is_never_unpickled(store_settings, store, request, tmp_path, caplog):
    caplog.set_level(logging.INFO)
    marker = tmp_path / "unpickled"
    payload = pickle.dumps({"_logged_in_user": _Marker(marker)})
    with serve_app(store_settings()) as (app, url):
        name = app.config["SESSION_COOKIE_NAME"]
        browser = ScriptedBrowser(url)
        # Bare, and behind a header that makes it look like one of ours (magic and a future expiry).
        from webapp.session_store import HEADER, MAGIC

        blobs = {"bare": payload, "with a header": HEADER.pack(MAGIC, 2**40) + bytes(12) + payload}
        for kind, blob in blobs.items():
            cookie = Ticket.new().cookie
            put(app, store, request, cookie, blob)
            for path in ("/", "/call_api", "/logout"):
                response = browser.visit(path, cookie, name)
                assert response.status_code < 500, f"{kind}: {path} answered {response.status_code}"
                if path != "/logout":
                    assert not answers_signed_in(response), f"{kind}: a planted pickle signed in on {path}"
            assert not marker.exists(), f"{kind}: the app unpickled what it found in the store"
    assert "could not be opened" in caplog.text, "the unreadable session is logged"
    assert "_logged_in_user" not in caplog.text and str(marker) not in caplog.text, "the log holds its content"


@pytest.mark.parametrize("damage", ["one byte flipped", "truncated", "header only", "empty", "another session's"])
def test_a_damaged_or_foreign_blob_is_no_session(store_settings, store, request, damage, caplog):
    with serve_app(store_settings()) as (app, url):
        name = app.config["SESSION_COOKIE_NAME"]
        victim, other = ScriptedBrowser(url), ScriptedBrowser(url)
        victim.sign_in()
        other.sign_in(upn=request.getfixturevalue("mock_authority").state.users[1].upn)
        cookie = victim.session_cookie()
        blob = get_blob(app, store, request, cookie)
        damaged = {
            "one byte flipped": blob[:-20] + bytes([blob[-20] ^ 0x01]) + blob[-19:],
            "truncated": blob[: len(blob) // 2],
            "header only": blob[:11],
            "empty": b"",
            "another session's": get_blob(app, store, request, other.session_cookie()),
        }[damage]
        put(app, store, request, cookie, damaged)
        for path in ("/", "/call_api"):
            response = victim.visit(path, cookie, name)
            assert response.status_code < 500, f"{path} answered {response.status_code}: {response.text[:300]}"
            assert not answers_signed_in(response), f"a session with its blob {damage} still signed in on {path}"
        assert is_signed_in(other, cookie=other.session_cookie(), cookie_name=name), "the other session still works"


def get_blob(app, store, request, cookie: str) -> bytes:
    if store == "redis":
        return request.getfixturevalue("redis_client").get(redis_key(cookie))
    return session_file(app, cookie).read_bytes()
