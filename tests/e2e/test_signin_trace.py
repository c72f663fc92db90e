"""The sign-in trace (/signin-trace): a signed-in user's own last sign-in, step by step, and nothing secret in it.

What each step shows is the auth code flow with PKCE as Entra documents it
(https://learn.microsoft.com/entra/identity-platform/v2-oauth2-auth-code-flow): the authorize request's parameters,
the code and state on the redirect, the code's redemption at the token endpoint (grant_type authorization_code,
the code_verifier, the client's credential) and the token response's token_type, expires_in and scope.
"""

import json
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import session

from tests.support.apps import TEST_CLIENT_SECRET, app_settings, serve_app
from tests.support.browser import ScriptedBrowser
from tests.support.html import Page
from webapp.extension import EXTENSION_KEY
from webapp.signin_trace import PATH, TRACE_KEY

JWT = re.compile(r"eyJ[\w-]+\.[\w-]+\.")


@pytest.fixture
def serve(mock_authority, tmp_path):
    def serving(**overrides):
        return serve_app(app_settings(mock_authority, tmp_path, **overrides))

    return serving


@pytest.fixture
def traced(serve):
    with serve(SIGNIN_TRACE="true") as (app, url):
        app.url = url
        yield app


def server_session(app, browser: ScriptedBrowser) -> dict:
    """The browser's server-side session as the app reads it (tokens included), to know what must not be shown."""
    cookies = "; ".join(f"{cookie.name}={cookie.value}" for cookie in browser.http.cookies)
    with app.test_request_context(PATH, headers={"Cookie": cookies}):
        return dict(session.items())


def pending_flow(app, browser: ScriptedBrowser, state: str) -> dict:
    """The sign-in in progress, as the app keeps it in its sealed cookie (the PKCE verifier is in it)."""
    cookies = "; ".join(f"{cookie.name}={cookie.value}" for cookie in browser.http.cookies)
    with app.test_request_context("/", headers={"Cookie": cookies}):
        from flask import request

        flow = app.extensions[EXTENSION_KEY].sign_in.pending.take(request, state)
    assert flow is not None
    return flow


def sign_in_watching(app, browser: ScriptedBrowser, upn=None) -> dict:
    """Sign in step by step, keeping every single-use value this sign-in used."""
    picker = browser.open_account_picker()
    authorize = {key: values[0] for key, values in parse_qs(urlsplit(picker.url).query).items()}
    verifier = pending_flow(app, browser, authorize["state"])["_auth_flow"]["code_verifier"]
    redirect = browser.choose(picker, upn=upn, follow=False)
    callback = {key: values[0] for key, values in parse_qs(urlsplit(redirect.headers["Location"]).query).items()}
    landed = Page(browser.http.get(redirect.headers["Location"]))
    assert "Welcome" in landed.h1, landed.text[:500]
    return {
        **authorize,
        "authorize_url": picker.url,
        "code": callback["code"],
        "code_verifier": verifier,
        "index": landed,
    }


def test_the_trace_shows_each_step_of_the_last_sign_in(traced, mock_authority):
    browser = ScriptedBrowser(traced.url)
    seen = sign_in_watching(traced, browser)
    assert urlsplit(seen["index"].link(id="signin-trace")).path == PATH
    page = browser.get(PATH)
    assert page.response.status_code == 200 and page.h1 == "What just happened"
    text = page.text
    # 1. The authorize request: host and path, each parameter with its meaning; single-use values shortened.
    authorize = urlsplit(seen["authorize_url"])
    assert f"GET {authorize.scheme}://{authorize.netloc}{authorize.path}" in text and authorize.path.endswith(
        "/authorize"
    )
    for name in ("client_id", "response_type", "redirect_uri", "scope", "code_challenge_method", "prompt"):
        assert name in text
    assert "PKCE: a hash of a secret verifier" in text and "S256" in text
    for name in ("state", "nonce", "code_challenge"):
        assert f"{seen[name][:6]}…" in text
    # 2. The callback: the code by its length, the state matched.
    assert f"({len(seen['code'])} characters, not shown)" in text and "Matched." in text
    # 3. The token request and response.
    token_endpoint = f"POST {mock_authority.authority}/oauth2/v2.0/token"
    assert token_endpoint in text and "authorization_code" in text and "a client secret" in text
    assert "The code_verifier was sent (not shown)" in text
    assert "Bearer" in text and "expires_in" in text
    # Scopes requested vs granted.
    html = page.response.text
    requested = re.findall(r"<code>([^<]+)</code>", html.split('id="scopes-requested">')[1].split("</dd>")[0])
    granted = re.findall(r"<code>([^<]+)</code>", html.split('id="scopes-granted">')[1].split("</dd>")[0])
    assert {"User.ReadBasic.All", "openid", "profile", "offline_access"} <= set(requested)
    assert "User.ReadBasic.All" in granted
    # 4. Each validation check, 5. the claims, and the discovery document used.
    for check in ("signature", "aud", "iss", "exp/nbf/iat", "azp", "tenant", "nonce"):
        assert f'<th scope="row"><code>{check}</code></th>' in html, check
    assert "nonce matched" in text and "not matched" not in text
    claims = server_session(traced, browser)["_logged_in_user"]
    assert claims["oid"] in text and claims["iss"] in text
    discovery = page.link(id="discovery")
    assert discovery.endswith("/.well-known/openid-configuration") and discovery.startswith(mock_authority.authority)


def test_the_trace_holds_nothing_secret(traced):
    browser = ScriptedBrowser(traced.url)
    seen = sign_in_watching(traced, browser)
    stored = server_session(traced, browser)
    html = browser.get(PATH).response.text
    cache = json.loads(stored["_token_cache"])
    tokens = [item["secret"] for kind in ("AccessToken", "RefreshToken", "IdToken") for item in cache[kind].values()]
    assert len(tokens) == 3
    secrets = [seen["state"], seen["nonce"], seen["code_challenge"], seen["code"], seen["code_verifier"]]
    for value in [*secrets, *tokens, TEST_CLIENT_SECRET]:
        assert value not in html
        assert value not in json.dumps(stored[TRACE_KEY])
    assert not JWT.search(html)
    assert len(json.dumps(stored[TRACE_KEY])) < 1600, "the trace is kept in every session: it stays small"


def test_each_user_sees_their_own_sign_in(traced, mock_authority):
    first, second = mock_authority.state.users[0], mock_authority.state.users[1]
    browsers = {first.oid: ScriptedBrowser(traced.url), second.oid: ScriptedBrowser(traced.url)}
    browsers[first.oid].sign_in(upn=first.upn)
    browsers[second.oid].sign_in(upn=second.upn)
    for oid, browser in browsers.items():
        text = browser.get(PATH).text
        other = second.oid if oid == first.oid else first.oid
        assert oid in text and other not in text


def test_signed_out_visitors_go_to_sign_in(traced):
    response = ScriptedBrowser(traced.url).visit(PATH)
    assert response.status_code == 302 and urlsplit(response.headers["Location"]).path == "/login"


def test_off_by_default_outside_the_demo(browser):
    index = browser.sign_in()
    assert 'id="signin-trace"' not in index.response.text
    assert browser.visit(PATH).status_code == 404


def test_turned_off_explicitly_even_in_the_demo(serve):
    with serve(LOCAL_MOCK_AUTHORITY="1", SIGNIN_TRACE="false") as (_, url):
        browser = ScriptedBrowser(url)
        browser.sign_in()
        assert browser.visit(PATH).status_code == 404


def test_on_by_default_in_the_demo(serve):
    with serve(LOCAL_MOCK_AUTHORITY="1") as (_, url):
        browser = ScriptedBrowser(url)
        index = browser.sign_in()
        assert urlsplit(index.link(id="signin-trace")).path == PATH
        assert browser.get(PATH).h1 == "What just happened"
