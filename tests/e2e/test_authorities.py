"""Every authority form, end to end: the app signs in, calls ENDPOINT and signs out against the mock in each shape
(a tenant's domain name, organizations with ALLOWED_TENANTS, common and consumers with personal accounts, a
national cloud's and External ID's host names, B2C's user flows, and OIDC_AUTHORITY at the tenant's issuer)."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest

from mock_authority import MockConfig
from mock_authority.server import run_in_thread
from tests.support.apps import TEST_CLIENT_ID, TEST_CLIENT_SECRET, TEST_REDIRECT_URIS, app_settings, serve_app
from tests.support.browser import ScriptedBrowser, assert_signed_out, is_signed_in
from tests.support.fake_dns import fake_dns
from tests.support.html import Page
from webapp.authorities import MSA_TENANT

SIGN_UP_SIGN_IN = "B2C_1_signupsignin1"
PROFILE_EDITING = "B2C_1_profileediting1"
PASSWORD_RESET = "B2C_1_passwordreset1"


@contextlib.contextmanager
def mock_in_shape(shape: str) -> Iterator:
    config = MockConfig(
        client_id=TEST_CLIENT_ID,
        client_secret=TEST_CLIENT_SECRET,
        redirect_uris=TEST_REDIRECT_URIS,
        shape=shape,
    )
    with run_in_thread(config) as mock:
        yield mock


@pytest.fixture(scope="module")
def consumers_mock():
    """A mock whose app accepts work and personal accounts, with personal accounts seeded."""
    with mock_in_shape("consumers") as mock:
        yield mock


@pytest.fixture
def serve(tmp_path):
    """serve(mock, **settings) → a ScriptedBrowser on the app configured for that mock."""
    with contextlib.ExitStack() as servers:

        def start(mock, **overrides) -> ScriptedBrowser:
            mock.state.reset()
            settings = app_settings(mock, tmp_path / str(uuid.uuid4()), **overrides)
            _, url = servers.enter_context(serve_app({k: v for k, v in settings.items() if v is not None}))
            return ScriptedBrowser(url)

        yield start


def sign_in_call_and_sign_out(browser: ScriptedBrowser, mock, upn: str | None = None) -> Page:
    """The whole round: sign in, /call_api, sign out at the authority; return the signed-in index page."""
    page = browser.sign_in(upn=upn)
    assert page.response.status_code == 200 and page.h1.startswith("Welcome"), page.text[:800]
    api = browser.get("/call_api")
    assert api.response.status_code == 200, api.text[:800]
    assert mock.state.requests_to("graph_users"), "ENDPOINT was called with the user's token"
    signed_out = browser.sign_out()
    assert urlsplit(signed_out.url).path == "/login" and "You have signed out" in signed_out.text
    assert mock.state.requests_to("logout"), "the browser went through the authority's end-session endpoint"
    assert_signed_out(browser, why="signed out")
    return page


# Entra workforce


def test_a_domain_name_tenant_signs_in_and_out(serve, mock_authority):
    browser = serve(mock_authority, AUTHORITY=mock_authority.authority_for(mock_authority.tenant_domain))
    page = sign_in_call_and_sign_out(browser, mock_authority)
    assert mock_authority.issuer in page.text, "the token's issuer names the tenant by its GUID"


def test_organizations_lets_an_allowed_tenant_in(serve, mock_authority):
    browser = serve(
        mock_authority,
        AUTHORITY=mock_authority.authority_for("organizations"),
        ALLOWED_TENANTS=mock_authority.config.tenant_id,
    )
    sign_in_call_and_sign_out(browser, mock_authority)


def test_organizations_refuses_a_tenant_not_allowed(serve, mock_authority):
    browser = serve(
        mock_authority, AUTHORITY=mock_authority.authority_for("organizations"), ALLOWED_TENANTS=str(uuid.uuid4())
    )
    page = browser.sign_in()
    assert page.response.status_code == 403 and "tenant_not_allowed" in page.text
    assert_signed_out(browser)


def personal_upn(mock) -> str:
    return next(user.upn for user in mock.state.users if user.personal)


def test_common_lets_a_personal_account_in_unless_allowed_tenants_omits_it(serve, consumers_mock):
    common = consumers_mock.authority_for("common")
    upn = personal_upn(consumers_mock)
    page = sign_in_call_and_sign_out(serve(consumers_mock, AUTHORITY=common), consumers_mock, upn=upn)
    assert MSA_TENANT in page.text, "a personal account's tid is the MSA tenant"
    allowed = serve(consumers_mock, AUTHORITY=common, ALLOWED_TENANTS=f"{consumers_mock.config.tenant_id},{MSA_TENANT}")
    sign_in_call_and_sign_out(allowed, consumers_mock, upn=upn)
    refused = serve(consumers_mock, AUTHORITY=common, ALLOWED_TENANTS=consumers_mock.config.tenant_id)
    page = refused.sign_in(upn=upn)
    assert page.response.status_code == 403 and "tenant_not_allowed" in page.text, "ALLOWED_TENANTS omits MSA"
    assert "Welcome" in refused.sign_in().h1, "the listed work tenant still signs in"


def test_consumers_signs_a_personal_account_in_and_out(serve, consumers_mock):
    browser = serve(consumers_mock, AUTHORITY=consumers_mock.authority_for("consumers"))
    page = sign_in_call_and_sign_out(browser, consumers_mock, upn=personal_upn(consumers_mock))
    assert consumers_mock.issuer_for(MSA_TENANT) in page.text


# National clouds and External ID, under their own host names (fake DNS: nothing leaves this machine)


@pytest.mark.parametrize(
    ("shape", "host"),
    [
        ("national-us", "login.microsoftonline.us"),
        ("national-cn", "login.partner.microsoftonline.cn"),
        ("ciam", "mocktenant.ciamlogin.com"),
    ],
)
def test_a_host_named_cloud_signs_in_and_out(serve, shape, host):
    with fake_dns(host), mock_in_shape(shape) as mock:
        assert urlsplit(mock.base_url).hostname == host
        authority = mock.ciam_authority if shape == "ciam" else mock.authority
        page = sign_in_call_and_sign_out(serve(mock, AUTHORITY=authority), mock)
        if shape == "ciam":
            tenant = mock.config.tenant_id
            assert f"https://{tenant}.ciamlogin.com:" in page.text, "External ID's issuer names the tenant"


# Azure AD B2C


def b2c_settings(mock, reset: bool = True) -> dict:
    return {
        "AUTHORITY": None,
        "B2C_TENANT_NAME": mock.b2c_tenant_name,
        "B2C_INSTANCE": mock.base_url,
        "SIGNUPSIGNIN_USER_FLOW": SIGN_UP_SIGN_IN,
        "EDITPROFILE_USER_FLOW": PROFILE_EDITING,
        "RESETPASSWORD_USER_FLOW": PASSWORD_RESET if reset else None,
        # B2C grants no Graph scopes: only OpenID Connect's (msal adds them), as an app without an API asks.
        "SCOPE": "",
    }


def submit_picker(browser: ScriptedBrowser, picker: Page, follow: bool = True, **fields: str):
    """Post the mock's picker with the first account (unless cancelling or forgetting) and extra fields."""
    form = picker.form(id="account-picker")
    data = {**dict(form.fields), **fields}
    if not {"cancel", "forgot_password"} & set(fields):
        data["account"] = next(value for name, value, _ in form.buttons if name == "account")
    response = browser.http.post(picker.action_url(form), data=data, allow_redirects=follow)
    return Page(response) if follow else response


def test_b2c_signs_in_at_its_user_flow_calls_its_api_and_signs_out(serve, mock_authority):
    # Graph takes no B2C token: SCOPE and ENDPOINT name the web API registered in the B2C tenant.
    api_settings = {"SCOPE": mock_authority.b2c_api_scope, "ENDPOINT": mock_authority.b2c_api_endpoint}
    browser = serve(mock_authority, **(b2c_settings(mock_authority) | api_settings))
    login = browser.get("/login")
    assert {"/password/reset"} <= {link["href"] for link in login.links}, "Reset password offered to visitors"
    authorize = urlsplit(login.link(id="sign-in"))
    assert f"/{SIGN_UP_SIGN_IN.lower()}/oauth2/v2.0/authorize" in authorize.path.lower()
    assert "prompt" not in parse_qs(authorize.query), "B2C takes no prompt=select_account"
    page = browser.sign_in()
    assert page.h1.startswith("Welcome"), page.text[:500]
    assert SIGN_UP_SIGN_IN in page.text, "the tfp claim names the user flow"
    assert mock_authority.b2c_issuer() in page.text, "B2C's issuer, with its trailing slash"
    user = mock_authority.state.users[0]  # the picker's first account
    api = browser.get("/call_api")
    assert api.response.status_code == 200, api.text[:500]
    assert user.oid in api.text and f"Hello, {user.name}" in api.text and "demo.read" in api.text, "the API's answer"
    assert [r.status for r in mock_authority.state.requests_to("b2c_demo_api")] == [200]
    signed_out = browser.sign_out()
    assert "You have signed out" in signed_out.text
    logout = mock_authority.state.requests_to("logout")
    assert logout and SIGN_UP_SIGN_IN.lower() in logout[-1].path.lower(), "the user flow's end-session endpoint"
    assert_signed_out(browser)


def test_b2c_without_an_api_scope_call_api_says_no_access_token(serve, mock_authority):
    """B2C issues no access token for OpenID scopes alone: /call_api says so (a page, not a crash)."""
    browser = serve(mock_authority, **b2c_settings(mock_authority))
    browser.sign_in()
    api = browser.get("/call_api")
    assert api.response.status_code == 502 and "no_access_token" in api.text, api.text[:500]
    assert is_signed_in(browser), "still signed in"


def test_b2c_edit_profile_replaces_the_sessions_user(serve, mock_authority):
    browser = serve(mock_authority, **b2c_settings(mock_authority))
    index = browser.sign_in()
    assert "/profile/edit" in {link["href"] for link in index.links}, "Edit profile offered when signed in"
    cookie = browser.session_cookie()
    picker = browser.get("/profile/edit")
    assert f"/{PROFILE_EDITING.lower()}/" in picker.url.lower(), "the edit-profile flow's own authority"
    page = submit_picker(browser, picker, display_name="Renamed Person")
    assert page.h1 == "Welcome, Renamed Person", page.text[:500]
    assert PROFILE_EDITING in page.text, "the session's claims are the edit-profile flow's"
    assert not is_signed_in(ScriptedBrowser(browser.app_url), cookie=cookie, cookie_name=_cookie_name(browser))
    assert is_signed_in(browser), "the new session replaced the old one"


def _cookie_name(browser: ScriptedBrowser) -> str:
    return next(cookie.name for cookie in browser.http.cookies if "session" in cookie.name)


def test_b2c_cancelling_edit_profile_goes_back_to_the_site(serve, mock_authority):
    browser = serve(mock_authority, **b2c_settings(mock_authority))
    browser.sign_in()
    page = submit_picker(browser, browser.get("/profile/edit"), cancel="1")
    assert page.response.status_code == 200 and page.h1.startswith("Welcome"), "no error page for AADB2C90091"
    assert urlsplit(page.url).path == "/"


def test_b2c_forgot_password_starts_the_reset_flow(serve, mock_authority):
    browser = serve(mock_authority, **b2c_settings(mock_authority))
    picker = browser.open_account_picker()
    back = submit_picker(browser, picker, follow=False, forgot_password="1")
    assert "AADB2C90118" in parse_qs(urlsplit(back.headers["Location"]).query)["error_description"][0]
    reset = browser.get(back.headers["Location"])
    assert PASSWORD_RESET.lower() in reset.url.lower(), "the app sent the browser on to the reset flow"
    page = submit_picker(browser, reset, new_password="not-kept")
    assert page.h1.startswith("Welcome") and PASSWORD_RESET in page.text, "signed in by the reset flow"


def test_b2c_forgot_password_without_a_reset_flow_says_so(serve, mock_authority):
    browser = serve(mock_authority, **b2c_settings(mock_authority, reset=False))
    assert "/password/reset" not in {link["href"] for link in browser.get("/login").links}
    page = submit_picker(browser, browser.open_account_picker(), forgot_password="1")
    assert page.response.status_code == 400 and "password_reset_not_configured" in page.text
    assert browser.get("/password/reset").response.status_code == 404


# Any OpenID provider: the mock's tenant issuer, configured as OIDC_AUTHORITY


def test_oidc_authority_at_the_tenants_issuer_signs_in_and_out(serve, mock_authority):
    browser = serve(mock_authority, AUTHORITY=None, OIDC_AUTHORITY=mock_authority.issuer)
    login = browser.get("/login")
    assert urlsplit(login.link(id="sign-in")).path.endswith("/oauth2/v2.0/authorize")
    assert "sent to Microsoft" not in login.text, "a generic provider is not called Microsoft on the sign-in page"
    browser.sign_in()
    assert browser.get("/call_api").response.status_code == 200
    form = browser.get("/logout").forms[0]
    response = browser.http.post(browser.url("/logout"), data=form.fields, allow_redirects=False)
    query = parse_qs(urlsplit(response.headers["Location"]).query)
    assert query["client_id"] == [TEST_CLIENT_ID], "RP-Initiated Logout: client_id beside post_logout_redirect_uri"
    assert "logout_hint" not in query, "nothing Entra-specific sent to a generic provider"
    assert_signed_out(browser)
