"""Sign-in audience of a registration, and codes bound to the tenant they were issued in.

Entra: a single-tenant app used through /common or /organizations gets AADSTS50194 (reported back to the app as
error=invalid_request, e.g. aspnetcore-connect-sample #65); /consumers refuses a work-only app on its own page
("unauthorized_client: The client does not exist or is not enabled for consumers", sspeiser/onenote-export #8);
a code redeemed against another tenant is AADSTS700005 invalid_grant ("Provided Authorization Code is intended to
use against other tenant, thus rejected", MicrosoftDocs/azure-docs #51023); signInAudience values:
https://learn.microsoft.com/entra/identity-platform/supported-accounts-validation."""

from __future__ import annotations

import uuid

import pytest

from mock_authority.tenants import MSA_TENANT_ID, MY_ORG, ORGS_AND_PERSONAL, PERSONAL_ONLY
from mock_authority.users import make_user
from tests.support.authorize_page import form_of, redirect_query


def _authorize(mock, oauth, tenant, client):
    _, challenge = oauth.new_pkce()
    params = {**oauth.authorize_params(challenge), "client_id": client.client_id}
    return oauth.session.get(oauth.authorize_url(tenant), params=params, allow_redirects=False)


def _app(mock, audience):
    return mock.state.register_client(redirect_uris=["http://localhost:5000/getAToken"], sign_in_audience=audience)


@pytest.mark.parametrize("tenant", ["common", "organizations"])
def test_single_tenant_app_at_a_multi_tenant_path_is_50194(mock, oauth, tenant):
    client = _app(mock, MY_ORG)
    params = redirect_query(_authorize(mock, oauth, tenant, client))
    assert params["error"] == "invalid_request"
    assert params["error_description"].startswith(f"AADSTS50194: Application '{client.client_id}'")
    assert "code" not in params


def test_single_tenant_app_signs_in_at_its_tenant(mock, oauth):
    client = _app(mock, MY_ORG)
    for tenant in (mock.config.tenant_id, mock.tenant_domain):
        assert _authorize(mock, oauth, tenant, client).status_code == 200, "the picker"


def test_work_only_app_at_consumers_is_an_error_page(mock, oauth):
    response = _authorize(mock, oauth, "consumers", mock.state.clients[mock.config.client_id])
    assert response.status_code == 400
    assert "Location" not in response.headers, "never sent back to the app"
    assert "not enabled for consumers" in response.text


def test_personal_only_app_refused_at_organizations_and_offers_only_personal_accounts_at_common(mock, oauth):
    person = mock.state.add_user(make_user("Sam Doe", "sam.doe@outlook.example", personal=True))
    client = _app(mock, PERSONAL_ONLY)
    params = redirect_query(_authorize(mock, oauth, "organizations", client))
    assert params["error_description"].startswith("AADSTS9002331:")
    assert form_of(_authorize(mock, oauth, "common", client))[2] == [person.oid]


def test_the_configured_app_offers_no_personal_account_at_common(mock, oauth):
    person = mock.state.add_user(make_user("Sam Doe", "sam.doe@outlook.example", personal=True))
    offered = form_of(_authorize(mock, oauth, "common", mock.state.clients[mock.config.client_id]))[2]
    assert person.oid not in offered and offered, "AzureADMultipleOrgs: work and school accounts only"


def test_unknown_audience_is_refused():
    from mock_authority import MockConfig

    with pytest.raises(ValueError):
        MockConfig(sign_in_audience="Everyone").resolved()


def test_code_redeemed_at_the_issuing_tenant_only(mock, oauth):
    flow = oauth.get_code()  # issued at the tenant's GUID
    oauth.tenant = mock.tenant_domain  # the same tenant by its domain name
    assert oauth.redeem(flow).status_code == 200

    oauth.tenant = mock.config.tenant_id
    other = oauth.get_code()
    oauth.tenant = "consumers"
    refused = oauth.redeem(other)
    assert refused.status_code == 400
    assert refused.json()["error"] == "invalid_grant"
    assert refused.json()["error_codes"] == [700005]


def test_code_from_common_for_another_tenants_user_is_refused_at_this_tenant(mock, oauth):
    guest = mock.state.add_user(make_user("Pat Guest", "pat@fabrikam.example", tenant_id=str(uuid.uuid4())))
    oauth.tenant = "common"
    flow = oauth.get_code(account=guest.oid)
    oauth.tenant = mock.config.tenant_id
    assert oauth.redeem(flow).json()["error_codes"] == [700005]
    oauth.tenant = "common"
    assert oauth.redeem(flow).json()["error_codes"] == [54005], "the refused attempt still used the code up"


def test_personal_account_app_at_the_msa_tenant_guid(mock, oauth):
    person = mock.state.add_user(make_user("Sam Doe", "sam.doe@outlook.example", personal=True))
    client = _app(mock, ORGS_AND_PERSONAL)
    assert form_of(_authorize(mock, oauth, MSA_TENANT_ID, client))[2] == [person.oid]
