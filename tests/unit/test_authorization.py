"""REQUIRED_ROLES and ALLOWED_GROUPS, the requirement check, and the group overage resolved through a local Graph.

Claims are built here the way Entra documents them (id-token-claims-reference: roles, groups, _claim_names and
_claim_sources past 200 groups); Graph's paging is as user-list-transitivememberof documents it."""

from __future__ import annotations

import uuid
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.support.apps import GOOD_SETTINGS
from tests.support.local_upstream import upstream
from webapp.authorization import (
    GROUP_TYPE,
    GROUPS_KEY,
    Admission,
    GroupResolver,
    GroupsUnresolved,
    Memberships,
    Refused,
    Requirement,
    graph_base,
    has_group_overage,
)
from webapp.graph import GraphClient
from webapp.outbound import TimeoutSession
from webapp.settings import parse

GROUP_A, GROUP_B = str(uuid.uuid4()), str(uuid.uuid4())
# The overage indicator as Entra sends it in a v2.0 ID token past 200 groups.
OVERAGE = {
    "_claim_names": {"groups": "src1"},
    "_claim_sources": {"src1": {"endpoint": "https://graph.windows.net/tenant/users/oid/getMemberObjects"}},
}
TOKEN = {"access_token": "a-delegated-graph-token"}


def settings(**overrides):
    return parse({**GOOD_SETTINGS, **overrides})


def test_required_roles_and_allowed_groups_are_parsed_from_lists():
    parsed, problems = settings(REQUIRED_ROLES="Admin, Reader  Admin", ALLOWED_GROUPS=f"{GROUP_A.upper()},{GROUP_B}")
    assert not problems
    assert parsed.required_roles == ("Admin", "Reader"), "role values keep their case (Entra compares them exactly)"
    assert parsed.allowed_groups == (GROUP_A, GROUP_B), "group object ids are GUIDs, compared in any case"


def test_by_default_anyone_the_authority_signs_in_is_admitted():
    parsed, _ = settings()
    assert parsed.required_roles == () and parsed.allowed_groups == ()


@pytest.mark.parametrize("value", ["Sales Team", "not-a-guid", f"{GROUP_A} 42"])
def test_allowed_groups_must_be_object_ids(value):
    _, problems = settings(ALLOWED_GROUPS=value)
    assert [p.setting for p in problems] == ["ALLOWED_GROUPS"] and "object ids" in problems[0].message


def test_b2c_cannot_require_roles_or_groups():
    b2c = {**GOOD_SETTINGS, "AUTHORITY": "", "B2C_TENANT_NAME": "contoso", "SIGNUPSIGNIN_USER_FLOW": "B2C_1_susi"}
    _, problems = parse({**b2c, "REQUIRED_ROLES": "Admin"})
    assert [p.setting for p in problems] == ["REQUIRED_ROLES"] and "B2C" in problems[0].message


def test_memberships_come_from_the_roles_and_groups_claims():
    held = Memberships.of({"roles": ["Admin", 7], "groups": [GROUP_A.upper()]})
    assert held == Memberships(("Admin",), (GROUP_A,))


def test_an_overage_has_no_groups_until_graph_resolved_them():
    assert has_group_overage(OVERAGE) and not has_group_overage({"groups": [GROUP_A]})
    assert not has_group_overage({"_claim_names": {"other": "src1"}})
    assert Memberships.of(OVERAGE) == Memberships((), (), unresolved_overage=True)
    assert Memberships.of(OVERAGE, [GROUP_B]) == Memberships((), (GROUP_B,), from_graph=True)


@pytest.mark.parametrize(
    ("requirement", "claims", "allowed"),
    [
        (Requirement(), {}, True),
        (Requirement(roles=("Admin",)), {"roles": ["Reader", "Admin"]}, True),
        (Requirement(roles=("Admin",)), {"roles": ["admin"]}, False),
        (Requirement(roles=("Admin",)), {}, False),
        (Requirement(groups=(GROUP_A,)), {"groups": [GROUP_B, GROUP_A.upper()]}, True),
        (Requirement(groups=(GROUP_A,)), {"groups": [GROUP_B]}, False),
        (Requirement(groups=(GROUP_A,)), OVERAGE, False),
        (Requirement(("Admin",), (GROUP_A,)), {"roles": ["Admin"], "groups": [GROUP_B]}, False),
        (Requirement(("Admin",), (GROUP_A,)), {"roles": ["Admin"], "groups": [GROUP_A]}, True),
    ],
    ids=[
        "nothing-required",
        "one-of-the-roles",
        "role-values-are-case-sensitive",
        "no-roles-claim",
        "group-in-any-case",
        "other-group",
        "unresolved-overage-is-no-membership",
        "role-without-group",
        "role-and-group",
    ],
)
def test_a_requirement_needs_one_role_and_one_group_of_those_it_names(requirement, claims, allowed):
    assert requirement.allows(Memberships.of(claims)) is allowed


def test_decorator_requirements_are_checked_when_declared():
    assert Requirement.for_groups([GROUP_A.upper()]).groups == (GROUP_A,)
    for bad in ([], ["Sales"]):
        with pytest.raises(ValueError, match="group object ids"):
            Requirement.for_groups(bad)
    for bad in ([], [""], [" "]):
        with pytest.raises(ValueError, match="app role values"):
            Requirement.for_roles(bad)


def test_admission_refuses_a_user_without_the_role_before_any_token_is_asked_for():
    asked = []
    gate = Admission(Requirement(roles=("Admin",)))
    with pytest.raises(Refused) as refused:
        gate.admit({"roles": ["Reader"]}, lambda scopes: asked.append(scopes) or TOKEN)
    assert refused.value.at_sign_in and refused.value.requirement.roles == ("Admin",)
    assert asked == [], "no overage: Graph is not needed"
    assert gate.admit({"roles": ["Admin"]}, lambda scopes: TOKEN) == {}, "nothing extra kept without an overage"


def test_graph_base_is_endpoints_origin_when_it_is_a_graph_url_else_the_clouds_graph():
    us_gov = {"AUTHORITY": f"https://login.microsoftonline.us/{uuid.uuid4()}", "ENDPOINT": "https://api.example.test/x"}
    assert graph_base(settings(ENDPOINT="https://127.0.0.1:8443/v1.0/users")[0]) == "https://127.0.0.1:8443"
    assert graph_base(settings(**us_gov)[0]) == "https://graph.microsoft.us"


class Graph:
    """A local Graph answering /v1.0/me/transitiveMemberOf in pages of `size`, as directoryObjects."""

    def __init__(self, server, groups: list[str], size: int, others: int = 0):
        self.server, self.tokens, self.pages = server, [], 0
        objects = [{"@odata.type": "#microsoft.graph.directoryRole", "id": str(uuid.uuid4())}] * others
        objects += [{"@odata.type": GROUP_TYPE, "id": group} for group in groups]

        def answer(request):
            self.pages += 1
            self.tokens.append(request.headers.get("Authorization"))
            query = parse_qs(urlsplit(request.path).query)
            assert query["$select"] == ["id"], "only the ids are asked for"
            start = int(query.get("$skiptoken", ["0"])[0])
            body: dict = {"value": objects[start : start + size]}
            if start + size < len(objects):
                body["@odata.nextLink"] = (
                    f"{server.url}/v1.0/me/transitiveMemberOf?$select=id&$skiptoken={start + size}"
                )
            request.send_json(body)

        server.route("/v1.0/me/transitiveMemberOf", answer)

    def resolver(self, max_pages=3) -> GroupResolver:
        return GroupResolver(GraphClient(TimeoutSession(2.0, 5.0, total_timeout=5.0)), self.server.url, max_pages)


@pytest.fixture
def server():
    with upstream() as server:
        yield server


def test_an_overage_is_resolved_through_every_page_with_the_users_token(server):
    groups = [str(uuid.uuid4()) for _ in range(250)]
    graph = Graph(server, groups, size=100, others=2)
    asked = []
    gate = Admission(Requirement(groups=(groups[-1],)), graph.resolver())
    kept = gate.admit(OVERAGE, lambda scopes: asked.append(scopes) or TOKEN)
    assert asked == [["User.Read"]], "the least privileged permission that reads one's own memberships"
    assert kept == {GROUPS_KEY: groups}, "every group, in Graph's order, without directory roles"
    assert graph.pages == 3 and set(graph.tokens) == {"Bearer a-delegated-graph-token"}


def test_a_resolved_overage_without_the_allowed_group_is_refused(server):
    graph = Graph(server, [GROUP_B], size=100)
    with pytest.raises(Refused):
        Admission(Requirement(groups=(GROUP_A,)), graph.resolver()).admit(OVERAGE, lambda scopes: TOKEN)


def test_more_pages_than_the_bound_fail_closed(server):
    graph = Graph(server, [str(uuid.uuid4()) for _ in range(10)], size=2)
    with pytest.raises(GroupsUnresolved, match="more groups than this site checks"):
        Admission(resolver=graph.resolver(max_pages=3)).admit(OVERAGE, lambda scopes: TOKEN)
    assert graph.pages == 3


def test_a_next_link_off_graph_is_not_followed(server):
    def answer(request):
        request.send_json({"value": [], "@odata.nextLink": "https://elsewhere.example/v1.0/me/transitiveMemberOf"})

    server.route("/v1.0/me/transitiveMemberOf", answer)
    resolver = GroupResolver(GraphClient(TimeoutSession(2.0, 5.0, total_timeout=5.0)), server.url)
    with pytest.raises(GroupsUnresolved, match="not on Microsoft Graph"):
        resolver.resolve("token")


@pytest.mark.parametrize(
    ("status", "body"), [(403, {"error": {"code": "Authorization_RequestDenied"}}), (200, {"value": "x"}), (200, [])]
)
def test_graph_failing_or_answering_nonsense_fails_closed(server, status, body):
    server.json_route("/v1.0/me/transitiveMemberOf", body, status=status)
    resolver = GroupResolver(GraphClient(TimeoutSession(2.0, 5.0, total_timeout=5.0)), server.url)
    with pytest.raises(GroupsUnresolved):
        Admission(resolver=resolver).admit(OVERAGE, lambda scopes: TOKEN)


def test_no_token_for_graph_fails_closed(server):
    resolver = GroupResolver(GraphClient(TimeoutSession(2.0, 5.0, total_timeout=5.0)), server.url)
    with pytest.raises(GroupsUnresolved, match="invalid_grant"):
        Admission(resolver=resolver).admit(OVERAGE, lambda scopes: {"error": "invalid_grant"})
    assert server.hits["/v1.0/me/transitiveMemberOf"] == 0
