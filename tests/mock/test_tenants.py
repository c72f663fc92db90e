"""Tenants at the authority path: GUID, domain name, common, organizations, consumers and the personal-account
tenant, through real msal. Issuers and tids as Entra documents them:
https://learn.microsoft.com/entra/identity-platform/id-token-claims-reference (tid: "9188040d-… for personal
accounts"), https://learn.microsoft.com/entra/identity-platform/v2-protocols-oidc (the {tenantid} template at
common/organizations); the /consumers document names the MSA tenant's issuer (openiddict-core #1764 quotes it)."""

from __future__ import annotations

import base64
import json
import uuid

import msal
import pytest

from mock_authority.tenants import MSA_TENANT_ID, ORGS_AND_PERSONAL
from mock_authority.users import make_user
from tests.support.authorize_page import form_of, msal_sign_in

pytestmark = pytest.mark.filterwarnings("ignore:.*response_mode.*:UserWarning")


def _client_info(value: str) -> dict:
    return json.loads(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)))


@pytest.fixture()
def trusted(mock, monkeypatch):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", mock.ca_bundle)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    return mock


def _msal(mock, authority: str, client=None) -> msal.ConfidentialClientApplication:
    return msal.ConfidentialClientApplication(
        client.client_id if client else mock.config.client_id,
        client_credential=client.client_secret if client else mock.config.client_secret,
        authority=authority,
        instance_discovery=False,
        token_cache=msal.SerializableTokenCache(),
    )


@pytest.mark.parametrize(
    "segment,issuer_tenant",
    [
        ("tenant_id", "tenant_id"),
        ("tenant_domain", "tenant_id"),
        ("common", "{tenantid}"),
        ("organizations", "{tenantid}"),
        ("consumers", MSA_TENANT_ID),
        (MSA_TENANT_ID, MSA_TENANT_ID),
    ],
)
def test_discovery_issuer_at_each_tenant_path(mock, oauth, segment, issuer_tenant):
    path = getattr(mock.config, segment, segment)
    tenant = getattr(mock.config, issuer_tenant, issuer_tenant)
    doc = oauth.session.get(f"{mock.base_url}/{path}/v2.0/.well-known/openid-configuration").json()
    assert doc["issuer"] == f"{mock.base_url}/{tenant}/v2.0"
    # A domain-named tenant's document points at its GUID (msal reads the tenant from token_endpoint).
    endpoint_tenant = mock.config.tenant_id if segment == "tenant_domain" else path
    assert doc["token_endpoint"] == f"{mock.base_url}/{endpoint_tenant}/oauth2/v2.0/token"


def test_domain_is_case_insensitive_and_unknown_domains_are_refused(mock, oauth):
    upper = mock.config.tenant_domain.upper()
    assert oauth.session.get(f"{mock.base_url}/{upper}/v2.0/.well-known/openid-configuration").status_code == 200
    unknown = oauth.session.get(f"{mock.base_url}/other.onmicrosoft.com/v2.0/.well-known/openid-configuration")
    assert unknown.status_code == 400
    assert unknown.json()["error_codes"] == [90002]


def test_msal_signs_in_at_the_tenant_domain(trusted, oauth):
    mock = trusted
    app = _msal(mock, mock.authority_for(mock.tenant_domain))
    result = msal_sign_in(app, oauth.session, oauth.redirect_uri, [oauth.app_scope])
    assert "access_token" in result, result
    assert result["id_token_claims"]["tid"] == mock.config.tenant_id
    assert result["id_token_claims"]["iss"] == mock.issuer
    assert mock.state.requests_to("token")[0].path == f"/{mock.config.tenant_id}/oauth2/v2.0/token"


def _personal_app(mock):
    """An app for personal and work accounts, its Graph permissions consented (apps start with none)."""
    client = mock.state.register_client(
        redirect_uris=["http://localhost:5000/getAToken"], sign_in_audience=ORGS_AND_PERSONAL
    )
    mock.state.grant_admin_consent(client.client_id, "User.Read openid profile email offline_access")
    return client


def test_personal_account_at_consumers_has_the_msa_tenant(trusted, oauth):
    mock = trusted
    person = mock.state.add_user(make_user("Sam Doe", "sam.doe@outlook.example", personal=True))
    client = _personal_app(mock)
    app = _msal(mock, mock.authority_for("consumers"), client)
    result = msal_sign_in(app, oauth.session, oauth.redirect_uri, ["User.Read"], account=person.oid)
    assert "access_token" in result, result
    claims = result["id_token_claims"]
    assert claims["tid"] == MSA_TENANT_ID
    assert claims["iss"] == mock.issuer_for(MSA_TENANT_ID)
    account = app.get_accounts()[0]
    assert account["home_account_id"] == f"{person.oid}.{MSA_TENANT_ID}", "client_info.utid is the MSA tenant"


def test_who_is_offered_at_each_path(mock, oauth):
    person = mock.state.add_user(make_user("Sam Doe", "sam.doe@outlook.example", personal=True))
    guest = mock.state.add_user(make_user("Pat Guest", "pat@fabrikam.example", tenant_id=str(uuid.uuid4())))
    client = _personal_app(mock)
    verifier, challenge = oauth.new_pkce()
    params = {**oauth.authorize_params(challenge), "client_id": client.client_id}

    def offered(tenant):
        page = oauth.session.get(oauth.authorize_url(tenant), params=params, allow_redirects=False)
        return set(form_of(page)[2])

    work = {u.oid for u in mock.state.users if not u.personal}
    assert offered("consumers") == offered(MSA_TENANT_ID) == {person.oid}
    assert offered("organizations") == work
    assert offered("common") == work | {person.oid}
    assert offered(mock.config.tenant_id) == offered(mock.tenant_domain) == work - {guest.oid}


def test_client_info_utid_is_the_users_home_tenant(mock, oauth):
    home = str(uuid.uuid4())
    guest = mock.state.add_user(make_user("Pat Guest", "pat@fabrikam.example", tenant_id=home))
    oauth.tenant = "common"  # a user of another tenant signs in through common
    flow = oauth.get_code(account=guest.oid)
    assert _client_info(flow["client_info"]) == {"uid": guest.oid, "utid": home}, "the redirect's client_info"
    body = oauth.redeem(flow).json()
    assert _client_info(body["client_info"])["utid"] == home, "the token response's client_info"


@pytest.mark.parametrize(
    "shape,expected",
    [
        ("workforce", lambda m: [f"AUTHORITY={m.authority}"]),
        ("multi-tenant", lambda m: [f"AUTHORITY={m.base_url}/organizations"]),
        ("consumers", lambda m: [f"AUTHORITY={m.base_url}/consumers"]),
        (
            "b2c",
            lambda m: [
                "B2C_TENANT_NAME=mocktenant",
                "SIGNUPSIGNIN_USER_FLOW=B2C_1_signupsignin1",
                "EDITPROFILE_USER_FLOW=B2C_1_profileediting1",
                "RESETPASSWORD_USER_FLOW=B2C_1_passwordreset1",
                f"B2C_INSTANCE={m.base_url}",
            ],
        ),
        ("ciam", lambda m: [f"AUTHORITY=https://mocktenant.ciamlogin.com:{m.config.port}/"]),
    ],
)
def test_cli_prints_each_shapes_authority_settings(shape, expected):
    from mock_authority import run_in_thread
    from mock_authority.cli import env_lines

    with run_in_thread(shape=shape) as mock:
        lines = [line for line in env_lines(mock) if not line.startswith("#")]
        assert lines[: len(expected(mock))] == expected(mock)
        assert f"CLIENT_ID={mock.config.client_id}" in lines
        assert f"ENDPOINT={mock.b2c_api_endpoint if shape == 'b2c' else mock.graph_endpoint}" in lines
        if shape == "consumers":
            assert [u for u in mock.state.users if u.personal], "the consumers shape seeds personal accounts"
            assert mock.state.clients[mock.config.client_id].sign_in_audience == ORGS_AND_PERSONAL
