"""Scopes as Entra reads them: one resource per request, Graph's permissions in either name form, `.default`, the
granted set in canonical case, and nothing granted that was not consented.

Facts: learn.microsoft.com/entra/identity-platform/scopes-oidc ("Each token request is for one resource"; the
`.default` scope), learn.microsoft.com/entra/identity-platform/reference-error-codes (AADSTS70011, 700022,
500011, 65001); the canonical-case response from AzureAD/microsoft-authentication-library-common-for-android
PR #2027 (`user.read` came back as `User.Read`)."""

from __future__ import annotations

import jwt
import msal
import pytest

from tests.mock.test_token import assert_entra_error
from tests.support.authorize_page import redirect_query, submit

GRAPH = "https://graph.microsoft.com"


def authorize_error(oauth, scope: str) -> dict[str, str]:
    """The error redirect an authorize request with these scopes gets (before any page)."""
    _, challenge = oauth.new_pkce()
    return oauth.redirect_params(oauth.authorize(oauth.authorize_params(challenge, scope=scope)))


@pytest.mark.parametrize(
    "scope,error,code",
    [
        # Two resources in one request: AADSTS700022 invalid_scope.
        ("openid User.Read api://my-api/access_as_user", "invalid_scope", 700022),
        (f"openid {GRAPH}/User.Read api://my-api/access_as_user", "invalid_scope", 700022),
        # A resource the tenant does not know: AADSTS500011 invalid_resource.
        ("openid api://not-in-this-tenant/access", "invalid_resource", 500011),
        # `.default` beside another permission of its resource, or a scope with no permission: AADSTS70011.
        (f"openid {GRAPH}/.default User.Read", "invalid_scope", 70011),
        (f"openid {GRAPH}/", "invalid_scope", 70011),
        ("openid User.Read<script>", "invalid_scope", 70011),
    ],
)
def test_authorize_refuses_what_entra_refuses_with_an_error_redirect(mock, oauth, scope, error, code):
    result = authorize_error(oauth, scope)
    assert result["error"] == error and result["error_description"].startswith(f"AADSTS{code}:"), result
    # Entra's authorize error redirects carry error_uri (https://login.microsoftonline.com/error?code=N).
    assert result["error_uri"].endswith(f"/error?code={code}")
    assert "state" in result


@pytest.mark.parametrize(
    "scope,error,code",
    [
        ("openid User.Read api://my-api/access_as_user", "invalid_scope", 700022),
        ("openid api://not-in-this-tenant/access", "invalid_resource", 500011),
        (f"{GRAPH}/.default User.Read", "invalid_scope", 70011),
    ],
)
def test_the_token_endpoint_refuses_them_too(mock, oauth, scope, error, code):
    flow = oauth.get_code()
    assert_entra_error(oauth.redeem(flow, scope=scope), 400, error, code)
    tokens = oauth.sign_in()
    assert_entra_error(oauth.refresh(tokens["refresh_token"], scope=scope), 400, error, code)


def test_short_names_and_full_uris_are_one_permission(mock, oauth):
    body = oauth.sign_in(scope=f"{GRAPH}/User.Read offline_access openid profile")
    assert body["scope"] == f"openid profile email {GRAPH}/User.Read", "the full-URI form comes back as sent"
    assert (
        jwt.decode(body["access_token"], options={"verify_signature": False})["scp"] == "User.Read profile openid email"
    )
    refreshed = oauth.refresh(body["refresh_token"], scope="User.Read offline_access openid")
    assert refreshed.status_code == 200, "a refresh token is good for the permission in either name form"
    assert refreshed.json()["scope"] == "User.Read profile openid email"


def test_scope_comes_back_granted_in_canonical_case(mock, oauth):
    body = oauth.sign_in(scope="user.read offline_access openid profile")
    assert body["scope"] == "User.Read profile openid email"
    assert "user.read" not in jwt.decode(body["access_token"], options={"verify_signature": False})["scp"]


def test_default_is_every_permission_already_granted(mock, oauth):
    body = oauth.sign_in(scope=f"{GRAPH}/.default offline_access openid profile")
    granted = set(body["scope"].split())
    assert ".default" not in body["scope"] and f"{GRAPH}/.default" not in granted
    assert {f"{GRAPH}/User.Read", f"{GRAPH}/User.ReadBasic.All"} <= granted, "the configured app's admin consent"
    scp = jwt.decode(body["access_token"], options={"verify_signature": False})["scp"].split()
    assert {"User.Read", "User.ReadBasic.All"} <= set(scp) and ".default" not in scp


def test_nothing_unconsented_is_added_at_code_redemption(mock, oauth):
    # The code was issued for User.ReadBasic.All; redeeming it for an admin-only permission is refused.
    flow = oauth.get_code()
    body = assert_entra_error(
        oauth.redeem(flow, scope="User.Read.All offline_access openid profile"), 400, "invalid_grant", 65001
    )
    assert body["suberror"] == "consent_required"
    token = oauth.sign_in()
    assert token["scope"] == "User.ReadBasic.All profile openid email"
    scp = jwt.decode(token["access_token"], options={"verify_signature": False})["scp"]
    assert scp == "User.ReadBasic.All profile openid email", "only what was asked for"


@pytest.mark.filterwarnings("ignore:.*response_mode.*:UserWarning")
def test_msal_sees_the_canonical_case_so_identitys_check_finds_the_lowercase_scope_ungranted(mock, oauth, monkeypatch):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", mock.ca_bundle)
    app = msal.ConfidentialClientApplication(
        mock.config.client_id,
        client_credential=mock.config.client_secret,
        authority=mock.authority,
        instance_discovery=False,
    )
    flow = app.initiate_auth_code_flow(["user.read"], redirect_uri=oauth.redirect_uri)
    page = oauth.session.get(flow["auth_uri"], allow_redirects=False)
    result = app.acquire_token_by_auth_code_flow(flow, redirect_query(submit(oauth.session, page)))
    assert result["scope"].split() == ["User.Read", "profile", "openid", "email"]
    # identity 0.11 (identity/web.py, complete_log_in) compares the requested scopes case-sensitively with
    # result["scope"]: on Entra a lowercase SCOPE is reported as "Ungranted scope(s): user.read".
    assert {"user.read"} - set(result["scope"].split()) == {"user.read"}
