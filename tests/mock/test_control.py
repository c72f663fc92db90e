"""The /_mock/* HTTP control API mirrors the Python API, on both listeners."""

from __future__ import annotations

import pytest

from mock_authority import MockConfig, create_app


@pytest.fixture(params=["base_url", "front_url"])
def control(request, mock):
    return f"{getattr(mock, request.param)}/_mock"


def test_faults_over_http(mock, oauth, control):
    response = oauth.session.post(f"{control}/faults", json={"endpoint": "graph", "kind": "status", "status": 429})
    assert response.status_code == 201
    assert [(f.endpoint, f.kind, f.params["status"]) for f in mock.state.faults] == [("graph", "status", 429)]
    bad = oauth.session.post(f"{control}/faults", json={"endpoint": "graph", "kind": "explode"})
    assert bad.status_code == 400


def test_reset_clock_users_settings_requests_over_http(mock, oauth, control):
    s = oauth.session
    assert s.post(f"{control}/clock", json={"advance": 120}).json()["offset"] == 120
    added = s.post(f"{control}/users", json={"name": "Nestor Wilke", "upn": "NestorW@contoso.example"})
    assert added.status_code == 201 and mock.state.find_user("nestorw@contoso.example")
    assert s.post(f"{control}/settings", json={"access_token_lifetime": 60}).json()["access_token_lifetime"] == 60
    assert s.post(f"{control}/settings", json={"nope": 1}).status_code == 400
    s.get(f"{mock.authority}/v2.0/.well-known/openid-configuration")
    assert [r["endpoint"] for r in s.get(f"{control}/requests").json()] == ["discovery_v2"]
    assert s.post(f"{control}/reset").status_code == 200
    assert mock.state.clock_offset == 0 and not mock.state.find_user("NestorW@contoso.example")
    assert mock.state.settings["access_token_lifetime"] == mock.config.access_token_lifetime
    assert s.get(f"{control}/requests").json() == []


def test_short_access_token_lifetime_setting(mock, oauth):
    mock.state.configure(access_token_lifetime=60)
    assert oauth.sign_in()["expires_in"] == 60


def test_create_app_works_with_flask_test_client():
    app = create_app(MockConfig())
    tenant = app.extensions["mock_authority"].config.tenant_id
    doc = app.test_client().get(f"/{tenant}/v2.0/.well-known/openid-configuration").get_json()
    assert doc["issuer"] == f"http://localhost/{tenant}/v2.0"
