"""App roles and groups at the mock: the roles and groups claims of ID tokens, group overage past 200 groups, and
the Graph calls an app resolves memberships with (memberOf, transitiveMemberOf with paging, getMemberObjects).

https://learn.microsoft.com/entra/identity-platform/id-token-claims-reference (roles; groups; past 200 groups
_claim_names/_claim_sources instead), https://learn.microsoft.com/security/zero-trust/develop/configure-tokens-group-claims-app-roles
(groupMembershipClaims; roles assigned to a group reach its members), https://learn.microsoft.com/graph/api/user-list-transitivememberof
and .../directoryobject-getmemberobjects (User.Read suffices for one's own; @odata.nextLink paging; $top up to 999)."""

from __future__ import annotations

import jwt
import pytest

MEMBERSHIPS_SCOPE = "User.Read offline_access openid profile"


def id_claims(tokens: dict) -> dict:
    return jwt.decode(tokens["id_token"], options={"verify_signature": False})


def user(mock, alias: str):
    return next(u for u in mock.state.users if u.upn.startswith(f"{alias}@"))


def group_ids(mock, *names: str) -> set[str]:
    return {mock.state.memberships.find_group(name).id for name in names}


def graph(mock, oauth, path: str, token: str, method: str = "GET", **kwargs):
    url = mock.graph_endpoint.rsplit("/", 1)[0] + path
    return oauth.session.request(method, url, headers={"Authorization": f"Bearer {token}"}, **kwargs)


@pytest.mark.parametrize(
    "alias,roles",
    [("AdeleV", ["Admin"]), ("AlexW", ["Reader"]), ("MeganB", ["Reader"]), ("GradyA", None)],
    ids=["assigned", "assigned-and-through-a-group", "through-a-group", "none"],
)
def test_id_tokens_carry_the_apps_roles_the_user_holds(mock, oauth, alias, roles):
    assert id_claims(oauth.sign_in(account=user(mock, alias).oid)).get("roles") == roles


def test_roles_are_per_app(mock, oauth):
    other = mock.state.register_client(redirect_uris=oauth.redirect_uri)
    mock.state.assign_role(other.client_id, user(mock, "GradyA").upn, "Approver")
    assert "roles" not in id_claims(oauth.sign_in(account=user(mock, "GradyA").oid)), "assigned for another app"


def test_a_role_assigned_to_a_group_does_not_reach_members_of_its_nested_groups(mock, oauth):
    # "Nested group memberships aren't supported for group-based assignment to applications"
    # (https://learn.microsoft.com/entra/identity/enterprise-apps/assign-user-or-group-access-portal).
    parent, child = mock.state.add_group("Approvers"), mock.state.add_group("Approvers, Europe")
    mock.state.add_member(parent.id, child.id)
    grady = user(mock, "GradyA")
    mock.state.add_member(child.id, grady.oid)
    mock.state.assign_role(mock.config.client_id, parent.id, "Approver")
    assert "roles" not in id_claims(oauth.sign_in(account=grady.oid)), "a nested group's member got the role"
    mock.state.add_member(parent.id, grady.oid)
    assert id_claims(oauth.sign_in(account=grady.oid)).get("roles") == ["Approver"]


def test_groups_claim_lists_security_groups_including_nested_ones(mock, oauth):
    claims = id_claims(oauth.sign_in(account=user(mock, "AdeleV").oid))
    assert set(claims["groups"]) == group_ids(mock, "Contoso Staff", "Retail Managers", "All Managers")


@pytest.mark.parametrize("setting,has_distribution_list", [("SecurityGroup", False), ("All", True)])
def test_group_membership_claims_setting_chooses_which_groups(mock, oauth, setting, has_distribution_list):
    mock.state.set_group_membership_claims(mock.config.client_id, setting)
    groups = set(id_claims(oauth.sign_in(account=user(mock, "AdeleV").oid))["groups"])
    assert (group_ids(mock, "Contoso Newsletter") <= groups) == has_distribution_list


def test_no_groups_claim_when_the_app_does_not_ask_for_it(mock, oauth):
    mock.state.set_group_membership_claims(mock.config.client_id, None)
    claims = id_claims(oauth.sign_in(account=user(mock, "AdeleV").oid))
    assert "groups" not in claims and "_claim_names" not in claims
    assert mock.state.register_client(redirect_uris=oauth.redirect_uri).group_membership_claims is None


def test_past_200_groups_the_id_token_carries_the_overage_indicator(mock, oauth):
    lee = user(mock, "LeeG")
    claims = id_claims(oauth.sign_in(account=lee.oid))
    assert "groups" not in claims
    assert claims["_claim_names"] == {"groups": "src1"}
    assert claims["_claim_sources"] == {
        "src1": {"endpoint": f"https://graph.windows.net/{mock.config.tenant_id}/users/{lee.oid}/getMemberObjects"}
    }


@pytest.mark.parametrize("count,overage", [(200, False), (201, True)])
def test_the_overage_starts_past_200(mock, oauth, count, overage):
    someone = user(mock, "IsaiahL")
    for n in range(count):
        mock.state.add_member(mock.state.add_group(f"Team {n}").id, someone.oid)
    claims = id_claims(oauth.sign_in(account=someone.oid))
    assert ("_claim_names" in claims) == overage and ("groups" in claims) != overage


def test_transitive_member_of_pages_by_next_link(mock, oauth):
    token = oauth.sign_in(account=user(mock, "LeeG").oid, scope=MEMBERSHIPS_SCOPE)["access_token"]
    seen, sizes = [], []
    page = graph(mock, oauth, "/me/transitiveMemberOf", token, params={"$select": "id,displayName"}).json()
    while True:
        sizes.append(len(page["value"]))
        seen += page["value"]
        if "@odata.nextLink" not in page:
            break
        page = oauth.session.get(page["@odata.nextLink"], headers={"Authorization": f"Bearer {token}"}).json()
    assert sizes == [100, 100, 51], "Graph's default page is 100"
    assert {item.keys() - {"@odata.type"} == {"id", "displayName"} for item in seen} == {True}
    assert len({item["id"] for item in seen}) == 251


def test_top_up_to_999_is_one_page(mock, oauth):
    token = oauth.sign_in(account=user(mock, "LeeG").oid, scope=MEMBERSHIPS_SCOPE)["access_token"]
    response = oauth.session.get(
        mock.graph_endpoint.rsplit("/", 1)[0] + "/me/transitiveMemberOf",
        headers={"Authorization": f"Bearer {token}", "ConsistencyLevel": "eventual"},
        params={"$top": "999"},
    )
    assert len(response.json()["value"]) == 251 and "@odata.nextLink" not in response.json()
    assert graph(mock, oauth, "/me/transitiveMemberOf", token, params={"$top": "1000"}).status_code == 400


def test_member_of_is_direct_and_transitive_member_of_adds_nested_groups(mock, oauth):
    token = oauth.sign_in(account=user(mock, "AdeleV").oid, scope=MEMBERSHIPS_SCOPE)["access_token"]
    direct = {g["id"] for g in graph(mock, oauth, "/me/memberOf", token).json()["value"]}
    transitive = {g["id"] for g in graph(mock, oauth, "/me/transitiveMemberOf", token).json()["value"]}
    assert transitive - direct == group_ids(mock, "All Managers")


@pytest.mark.parametrize("security_only,has_distribution_list", [(True, False), (False, True)])
def test_get_member_objects(mock, oauth, security_only, has_distribution_list):
    token = oauth.sign_in(account=user(mock, "AdeleV").oid, scope=MEMBERSHIPS_SCOPE)["access_token"]
    response = graph(mock, oauth, "/me/getMemberObjects", token, "POST", json={"securityEnabledOnly": security_only})
    ids = set(response.json()["value"])
    assert group_ids(mock, "Contoso Staff", "All Managers") <= ids
    assert (group_ids(mock, "Contoso Newsletter") <= ids) == has_distribution_list


def test_get_member_objects_needs_security_enabled_only(mock, oauth):
    token = oauth.sign_in(account=user(mock, "AdeleV").oid, scope=MEMBERSHIPS_SCOPE)["access_token"]
    assert graph(mock, oauth, "/me/getMemberObjects", token, "POST", json={}).status_code == 400


@pytest.mark.parametrize(
    "path,method", [("/me/memberOf", "GET"), ("/me/transitiveMemberOf", "GET"), ("/me/getMemberObjects", "POST")]
)
def test_memberships_need_a_permission_beyond_a_basic_profile(mock, oauth, path, method):
    token = oauth.sign_in(account=user(mock, "AdeleV").oid)["access_token"]  # User.ReadBasic.All only
    response = graph(mock, oauth, path, token, method, json={"securityEnabledOnly": True})
    assert response.status_code == 403
    error = response.json()["error"]
    assert error["code"] == "Authorization_RequestDenied"
    assert {"date", "request-id", "client-request-id"} <= error["innerError"].keys()


def test_control_routes_mirror_the_python_api(mock, oauth):
    grady = user(mock, "GradyA")
    base = f"{mock.base_url}/_mock"
    group = oauth.session.post(f"{base}/groups", json={"name": "Designers"}).json()
    assert oauth.session.post(f"{base}/groups/{group['id']}/members", json={"member_id": grady.upn}).status_code == 201
    body = {"principal_id": group["id"], "value": "Editor"}
    assert oauth.session.post(f"{base}/clients/{mock.config.client_id}/roles", json=body).status_code == 201
    memberships = oauth.session.get(f"{base}/users/{grady.oid}/memberships").json()
    assert memberships["member_of"] == [group["id"]] and memberships["roles"] == ["Editor"]
    claims = id_claims(oauth.sign_in(account=grady.oid))
    assert claims["roles"] == ["Editor"] and claims["groups"] == [group["id"]]
    assert group["id"] in {g["id"] for g in oauth.session.get(f"{base}/groups").json()}
    off = oauth.session.post(f"{base}/clients/{mock.config.client_id}/group-claims", json={"value": None}).json()
    assert off["group_membership_claims"] is None


def manager_token(mock, oauth, alias: str) -> str:
    # /me/manager needs User.Read.All (least privileged), which only an admin can grant.
    mock.state.grant_admin_consent(mock.config.client_id, "User.Read.All")
    scope = "User.Read.All offline_access openid profile"
    return oauth.sign_in(account=user(mock, alias).oid, scope=scope)["access_token"]


def test_manager_is_the_users_manager(mock, oauth):
    response = graph(mock, oauth, "/me/manager", manager_token(mock, oauth, "AlexW"))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["@odata.type"] == "#microsoft.graph.user" and body["id"] == user(mock, "MeganB").oid
    assert body["@odata.context"].endswith("/v1.0/$metadata#directoryObjects/$entity")


def test_no_manager_is_404(mock, oauth):
    response = graph(mock, oauth, "/me/manager", manager_token(mock, oauth, "LeeG"))
    assert response.status_code == 404 and response.json()["error"]["code"] == "Request_ResourceNotFound"


def test_manager_needs_more_than_user_read(mock, oauth):
    token = oauth.sign_in(account=user(mock, "AlexW").oid, scope=MEMBERSHIPS_SCOPE)["access_token"]
    response = graph(mock, oauth, "/me/manager", token)
    assert response.status_code == 403 and response.json()["error"]["code"] == "Authorization_RequestDenied"


@pytest.mark.parametrize("path,method", [("/me/transitiveMemberOf", "GET"), ("/me/getMemberObjects", "POST")])
def test_graph_faults_reach_the_membership_calls(mock, oauth, path, method):
    token = oauth.sign_in(account=user(mock, "LeeG").oid, scope=MEMBERSHIPS_SCOPE)["access_token"]
    mock.state.enqueue_fault("graph", "status", status=503)
    response = graph(mock, oauth, path, token, method, json={"securityEnabledOnly": True})
    assert response.status_code == 503 and response.json()["error"]["code"] == "serviceNotAvailable"


def test_an_unknown_group_property_in_select_is_graphs_400(mock, oauth):
    token = oauth.sign_in(account=user(mock, "AdeleV").oid, scope=MEMBERSHIPS_SCOPE)["access_token"]
    response = graph(mock, oauth, "/me/memberOf?$select=id,jobTitle", token)
    assert response.status_code == 400 and response.json()["error"]["code"] == "Request_BadRequest"
    assert "'jobTitle' on type 'microsoft.graph.group'" in response.json()["error"]["message"]
