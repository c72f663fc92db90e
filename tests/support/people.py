"""Many signed-in users, and asking the app over HTTP whether each one still is."""

import concurrent.futures
import copy
import threading
import uuid
from http.cookies import SimpleCookie

import flask
import requests

from tests.support.browser import ScriptedBrowser
from tests.support.html import Page

USER_KEY = "_logged_in_user"  # identity's session key for the signed-in user's claims (pinned by test_identity_seam)


def sign_in_many(app_url: str, users: list, count: int, threads=8) -> list:
    """Sign `count` browsers in through the authority, cycling through `users`; return [(cookie, name)]."""

    def one(index):
        user = users[index % len(users)]
        browser = ScriptedBrowser(app_url)
        page = browser.sign_in(upn=user.upn)
        assert page.h1 == f"Welcome, {user.name}", f"sign-in {index} failed: {page.text[:300]}"
        return browser.session_cookie(), user.name

    with concurrent.futures.ThreadPoolExecutor(threads) as pool:
        return list(pool.map(one, range(count)))


def seed_like(app, cookie: str, count: int) -> list:
    """Store `count` new sessions through the app's own session interface, each a copy of the signed-in
    session `cookie` under its own name and user id; return [(cookie, name)]. No authority round trip: this is
    how the tests reach thousands of sessions quickly."""
    interface, name = app.session_interface, app.config["SESSION_COOKIE_NAME"]
    with app.test_request_context(headers={"Cookie": f"{name}={cookie}"}):
        template = dict(interface.open_session(app, flask.request))
    assert template.get(USER_KEY), "the template session is not signed in"
    seeded = []
    for index in range(count):
        with app.test_request_context():
            session = interface.open_session(app, flask.request)
            data = copy.deepcopy(template)
            data[USER_KEY]["name"] = display_name = f"Seeded user {index}"
            interface.begin(session, data, {"oid": str(uuid.uuid4()), "sid": str(uuid.uuid4())})
            response = app.response_class()
            interface.save_session(app, session, response)
            cookie_header = response.headers["Set-Cookie"]
        seeded.append((SimpleCookie(cookie_header)[name].value, display_name))
    return seeded


def who_is_signed_in(app_url: str, cookie_name: str, people: list, threads=8, verify: str | bool = True) -> list:
    """GET / with each cookie; return the h1 of each page, or the redirect target if the app sent it away.
    verify: requests' TLS verification (a CA bundle's path for an https site of the test's own CA)."""
    local = threading.local()

    def one(person):
        cookie, _name = person
        if not hasattr(local, "http"):
            local.http = requests.Session()
        response = local.http.get(
            f"{app_url}/",
            headers={"Cookie": f"{cookie_name}={cookie}"},
            allow_redirects=False,
            timeout=30,
            verify=verify,
        )
        return (
            Page(response).h1
            if response.status_code == 200
            else f"{response.status_code} → {response.headers.get('Location')}"
        )

    with concurrent.futures.ThreadPoolExecutor(threads) as pool:
        return list(pool.map(one, people))
