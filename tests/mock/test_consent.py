"""Consent: a delegated permission works only once the user, or an admin for the tenant, consented; admin-only
permissions cannot be consented by the user; a refresh for an unconsented permission is AADSTS65001.

Facts: learn.microsoft.com/entra/identity-platform/permissions-consent-overview (user and admin consent),
learn.microsoft.com/graph/permissions-reference ("Admin consent required"), learn.microsoft.com/entra/
identity-platform/v2-oauth2-auth-code-flow#error-codes-for-authorization-endpoint-errors (access_denied,
consent_required), reference-error-codes (AADSTS65001, 65004, 90094)."""

from __future__ import annotations

import re

import jwt
import pytest

from tests.mock.test_token import assert_entra_error

SIGN_IN = "openid profile offline_access"


@pytest.fixture()
def app(mock):
    """An app registered at run time: no one has consented to anything for it."""
    return mock.state.register_client(redirect_uris=["http://localhost:5000/getAToken"])


def start(oauth, app, scope: str, **overrides):
    """Authorize for the app and pick the first account: the consent page, or the redirect."""
    verifier, challenge = oauth.new_pkce()
    params = oauth.authorize_params(challenge, client_id=app.client_id, scope=scope, **overrides)
    page = oauth.pick(oauth.authorize(params))
    return page, {"verifier": verifier, "scope": scope}


def answer(oauth, page, button: str):
    ctx = re.search(r'name="ctx" value="([^"]+)"', page.text).group(1)
    return oauth.session.post(oauth.authorize_url(), data={"ctx": ctx, button: "1"}, allow_redirects=False)


def redeem(oauth, app, code: str, flow: dict):
    return oauth.redeem(
        {**flow, "code": code}, client_id=app.client_id, client_secret=app.client_secret, scope=flow["scope"]
    )


def test_a_new_app_asks_the_user_and_accept_signs_in(mock, oauth, app):
    user = mock.state.users[0]
    page, flow = start(oauth, app, f"User.Read {SIGN_IN}")
    assert page.status_code == 200 and "Permissions requested" in page.text
    assert {"User.Read", "openid", "profile", "offline_access"} <= set(re.findall(r'"permission">([^<]+)<', page.text))
    assert 'id="accept"' in page.text and 'id="cancel"' in page.text
    redirect = oauth.redirect_params(answer(oauth, page, "accept"))
    body = redeem(oauth, app, redirect["code"], flow).json()
    assert body["scope"] == "User.Read profile openid email"
    assert {"User.Read", "openid", "offline_access"} <= mock.state.granted_permissions(user.oid, app.client_id)

    again, _ = start(oauth, app, f"User.Read {SIGN_IN}")
    assert again.status_code == 302, "a consented permission is not asked for again"
    second_user = oauth.pick(
        oauth.authorize(
            oauth.authorize_params(oauth.new_pkce()[1], client_id=app.client_id, scope=f"User.Read {SIGN_IN}")
        ),
        mock.state.users[1].oid,
    )
    assert second_user.status_code == 200 and "Permissions requested" in second_user.text, "consent is per user"


def test_cancel_is_access_denied_with_subcode_cancel(mock, oauth, app):
    page, _ = start(oauth, app, f"User.Read {SIGN_IN}")
    result = oauth.redirect_params(answer(oauth, page, "cancel"))
    assert result["error"] == "access_denied" and result["error_subcode"] == "cancel"
    assert result["error_description"].startswith("AADSTS65004:")
    assert result["error_uri"].endswith("/error?code=65004") and result["state"]
    assert mock.state.granted_permissions(mock.state.users[0].oid, app.client_id) == frozenset()


@pytest.mark.parametrize("permission", ["User.Read.All", "Directory.Read.All", "GroupMember.Read.All"])
def test_an_admin_only_permission_needs_admin_approval(mock, oauth, app, permission):
    page, _ = start(oauth, app, f"{permission} {SIGN_IN}")
    assert page.status_code == 200 and "Need admin approval" in page.text and "AADSTS90094" in page.text
    assert 'id="accept"' not in page.text, "a user cannot consent to an admin-only permission"
    forged = oauth.redirect_params(answer(oauth, page, "accept"))
    assert forged["error"] == "access_denied", "posting accept anyway grants nothing"
    page, _ = start(oauth, app, f"{permission} {SIGN_IN}")
    result = oauth.redirect_params(answer(oauth, page, "cancel"))
    assert result["error"] == "access_denied" and result["error_subcode"] == "cancel"
    assert permission not in mock.state.granted_permissions(mock.state.users[0].oid, app.client_id)


def test_admin_consent_for_the_tenant_lets_every_user_in_without_a_page(mock, oauth, app):
    granted = mock.state.grant_admin_consent(
        app.client_id, f"https://graph.microsoft.com/user.read.all {SIGN_IN}", tenant_id=mock.config.tenant_id
    )
    assert "User.Read.All" in granted, "canonical names, either form"
    page, flow = start(oauth, app, f"User.Read.All {SIGN_IN}")
    code = oauth.redirect_params(page)["code"]
    access = redeem(oauth, app, code, flow).json()["access_token"]
    assert jwt.decode(access, options={"verify_signature": False})["scp"] == "User.Read.All profile openid email"


def test_another_tenants_admin_consent_does_not_count(mock, oauth, app):
    mock.state.grant_admin_consent(
        app.client_id, f"User.Read {SIGN_IN}", tenant_id="00000000-0000-4000-8000-0000000000aa"
    )
    page, _ = start(oauth, app, f"User.Read {SIGN_IN}")
    assert page.status_code == 200 and "Permissions requested" in page.text


def test_prompt_none_without_consent_is_consent_required(mock, oauth, app):
    page, _ = start(oauth, app, f"User.Read {SIGN_IN}")
    assert oauth.redirect_params(answer(oauth, page, "accept"))["code"]
    _, challenge = oauth.new_pkce()
    silent = oauth.authorize_params(challenge, client_id=app.client_id, scope=f"Mail.Read {SIGN_IN}", prompt="none")
    result = oauth.redirect_params(oauth.authorize(silent))
    assert result["error"] == "consent_required" and result["error_description"].startswith("AADSTS65001:")
    silent["scope"] = f"User.Read {SIGN_IN}"
    assert "code" in oauth.redirect_params(oauth.authorize(silent)), "consented: prompt=none signs in"


def test_prompt_consent_asks_again(mock, oauth, app):
    page, _ = start(oauth, app, f"User.Read {SIGN_IN}")
    oauth.redirect_params(answer(oauth, page, "accept"))
    again, _ = start(oauth, app, f"User.Read {SIGN_IN}", prompt="consent")
    assert again.status_code == 200 and "Permissions requested" in again.text


def test_refresh_for_an_unconsented_permission_is_65001_consent_required(mock, oauth, app):
    page, flow = start(oauth, app, f"User.Read {SIGN_IN}")
    code = oauth.redirect_params(answer(oauth, page, "accept"))["code"]
    refresh_token = redeem(oauth, app, code, flow).json()["refresh_token"]
    refused = oauth.refresh(
        refresh_token, scope=f"Mail.Read {SIGN_IN}", client_id=app.client_id, client_secret=app.client_secret
    )
    body = assert_entra_error(refused, 400, "invalid_grant", 65001)
    assert body["suberror"] == "consent_required"
    # Consent given later (incremental consent) makes the same refresh token good for it.
    mock.state.grant_user_consent(mock.state.users[0].upn, app.client_id, "Mail.Read")
    ok = oauth.refresh(
        refresh_token, scope=f"Mail.Read {SIGN_IN}", client_id=app.client_id, client_secret=app.client_secret
    )
    assert ok.status_code == 200 and ok.json()["scope"] == "Mail.Read profile openid email"


def test_control_api_grants_and_lists_consent(mock, oauth, app):
    control = f"{mock.front_url}/_mock/clients/{app.client_id}"
    user = mock.state.users[0]
    made = oauth.session.post(f"{control}/user-consent", json={"user": user.upn, "scopes": "user.read openid"})
    assert made.status_code == 201 and made.json()["granted"] == ["User.Read", "openid"]
    admin = oauth.session.post(f"{control}/admin-consent", json={"scopes": "Directory.Read.All"})
    assert admin.status_code == 201
    listed = oauth.session.get(f"{control}/consent", params={"user": user.oid}).json()["granted"]
    assert listed == ["Directory.Read.All", "User.Read", "openid"]
    bad = oauth.session.post(f"{control}/admin-consent", json={"scopes": "api://other/x"})
    assert bad.status_code == 400
    mock.state.reset()
    assert app.client_id not in mock.state.clients


def test_the_configured_app_is_admin_consented_so_the_default_scope_needs_no_page(mock, oauth):
    assert oauth.sign_in()["scope"] == "User.ReadBasic.All profile openid email"
    assert {"User.Read", "User.ReadBasic.All"} <= mock.state.granted_permissions(
        mock.state.users[0].oid, mock.config.client_id
    )
