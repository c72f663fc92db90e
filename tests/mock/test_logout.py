"""Logout: redirect only to a post_logout_redirect_uri that is one of the registered redirect URIs ("This URL must
match one of the redirect URIs registered for your application", learn.microsoft.com/entra/identity-platform/
v2-protocols-oidc#send-a-sign-out-request), Entra's signed-out page otherwise, SSO cookie cleared."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize("path", ["oauth2/v2.0/logout", "oauth2/logout"])
@pytest.mark.parametrize(
    "target",
    [
        "http://localhost:5000/",
        "http://localhost:8123/getAToken",  # the port of http://localhost is ignored
        "http://localhost:8123/",
        "https://app.example/auth/callback",
    ],
)
def test_registered_post_logout_uri_is_honoured(mock, oauth, path, target):
    response = oauth.session.get(
        f"{mock.front_url}/{mock.config.tenant_id}/{path}",
        params={"post_logout_redirect_uri": target},
        allow_redirects=False,
    )
    assert response.status_code == 302
    assert response.headers["Location"] == target


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "http://app.example/signed-out",
        "https://app.example:8443/",
        "javascript:alert(1)",
        "https://app.example/signed-out",  # a registered origin, but not a registered path
        "https://app.example/",  # the origin of a registered redirect URI is not itself registered
        "https://app.example/auth/",  # nor is its base path
        "https://app.example/auth/callback/",
        "http://localhost:5000/elsewhere",
        "https://app.example/#frag",
    ],
)
def test_unregistered_post_logout_uri_is_refused(mock, oauth, target):
    response = oauth.session.get(
        f"{mock.front_url}/{mock.config.tenant_id}/oauth2/v2.0/logout",
        params={"post_logout_redirect_uri": target},
        allow_redirects=False,
    )
    assert response.status_code == 200
    assert "Location" not in response.headers
    assert "You signed out" in response.text
    assert target.replace("'", "&#39;") in response.text, "the page names the refused URI"


def test_identity_style_unencoded_uri_and_post(mock, oauth):
    url = f"{mock.front_url}/{mock.config.tenant_id}/oauth2/logout?post_logout_redirect_uri=http://localhost:5000/"
    assert oauth.session.get(url, allow_redirects=False).headers["Location"] == "http://localhost:5000/"
    post = oauth.session.post(
        f"{mock.front_url}/{mock.config.tenant_id}/oauth2/v2.0/logout",
        data={"post_logout_redirect_uri": "http://localhost:5000/"},
        allow_redirects=False,
    )
    assert post.status_code == 302


def test_logout_ends_sso_session(mock, oauth):
    oauth.get_code()
    oauth.session.get(f"{mock.front_url}/{mock.config.tenant_id}/oauth2/v2.0/logout")
    _, challenge = oauth.new_pkce()
    result = oauth.redirect_params(oauth.authorize(oauth.authorize_params(challenge, prompt="none")))
    assert result["error"] == "login_required"
