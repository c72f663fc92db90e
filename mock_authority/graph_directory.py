"""Microsoft Graph: the signed-in user's group memberships (memberOf, transitiveMemberOf, getMemberObjects) and
manager, from memberships.py.

Sources: https://learn.microsoft.com/graph/api/user-list-memberof, .../user-list-transitivememberof,
.../directoryobject-getmemberobjects, .../user-list-manager (permissions, paging, shapes)."""

from __future__ import annotations

from flask import Blueprint, Response, request

from .errors import GraphError
from .graph import ME_SCOPES, _authorize, _next_link, _ok, _parse_select, _parse_skiptoken, user_json
from .memberships import Group
from .runtime import current_state

bp = Blueprint("graph_directory", __name__)

# Delegated permissions that read the caller's own memberships (user-list-transitivememberof: User.Read is the least
# privileged; Directory.Read.All, Group.Read.All, GroupMember.Read.All, User.Read.All also do; a basic profile,
# User.ReadBasic.All, does not).
MEMBERSHIP_SCOPES = (ME_SCOPES - {"User.ReadBasic.All"}) | {"GroupMember.Read.All", "Group.Read.All"}
# /me/manager needs more than User.Read: User.Read.All is the least privileged.
MANAGER_SCOPES = frozenset({"User.Read.All", "User.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"})
GROUP_PROPERTIES = ("id", "displayName", "description", "securityEnabled", "mailEnabled")
_GROUP_PROPERTY_BY_LOWER = {name.lower(): name for name in GROUP_PROPERTIES}
DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 999


def _group_json(group: Group, select: list[str] | None) -> dict[str, object]:
    data: dict[str, object] = {
        "id": group.id,
        "displayName": group.display_name,
        "description": group.description,
        "securityEnabled": group.security_enabled,
        "mailEnabled": not group.security_enabled,
    }
    # A directoryObject collection names each item's type, whatever $select asks for.
    return {"@odata.type": "#microsoft.graph.group", **({k: data[k] for k in select} if select else data)}


def _page_size() -> int:
    top = request.args.get("$top")
    if top is None:
        return DEFAULT_PAGE_SIZE
    if not (top.isdigit() and 1 <= int(top) <= MAX_PAGE_SIZE):
        raise GraphError(
            400, "Request_BadRequest", f"Invalid page size specified: '{top}'. Must be between 1 and 999 inclusive."
        )
    return int(top)


def _membership_page(groups: list[Group]) -> Response:
    """One page of a directoryObject collection, with @odata.nextLink while more remain."""
    select = _parse_select(_GROUP_PROPERTY_BY_LOWER, "microsoft.graph.group")
    size, offset = _page_size(), _parse_skiptoken(request.args.get("$skiptoken"))
    context = f"{request.host_url.rstrip('/')}/v1.0/$metadata#directoryObjects"
    body: dict[str, object] = {"@odata.context": context + (f"({','.join(select)})" if select else "")}
    if offset + size < len(groups):
        body["@odata.nextLink"] = _next_link(offset + size)
    body["value"] = [_group_json(g, select) for g in groups[offset : offset + size]]
    return _ok(body)


@bp.get("/v1.0/me/memberOf", endpoint="graph_member_of")
def member_of() -> Response:
    """The groups the signed-in user is a direct member of (ConsistencyLevel is accepted and not needed)."""
    claims = _authorize(MEMBERSHIP_SCOPES)
    return _membership_page(current_state().memberships.member_of(str(claims.get("oid", ""))))


@bp.get("/v1.0/me/transitiveMemberOf", endpoint="graph_transitive_member_of")
def transitive_member_of() -> Response:
    """The groups the signed-in user is in, directly or through nested groups."""
    claims = _authorize(MEMBERSHIP_SCOPES)
    return _membership_page(current_state().memberships.transitive_member_of(str(claims.get("oid", ""))))


@bp.post("/v1.0/me/getMemberObjects", endpoint="graph_get_member_objects")
def get_member_objects() -> Response:
    """Ids of every group the signed-in user is in (transitively); securityEnabledOnly is required."""
    claims = _authorize(MEMBERSHIP_SCOPES)
    body = request.get_json(silent=True)
    only = body.get("securityEnabledOnly") if isinstance(body, dict) else None
    if not isinstance(only, bool):
        raise GraphError(400, "Request_BadRequest", "The request must specify securityEnabledOnly: true or false.")
    groups = current_state().memberships.transitive_member_of(str(claims.get("oid", "")))
    ids = [g.id for g in groups if g.security_enabled or not only]
    return _ok(
        {"@odata.context": f"{request.host_url.rstrip('/')}/v1.0/$metadata#Collection(Edm.String)", "value": ids}
    )


@bp.get("/v1.0/me/manager", endpoint="graph_manager")
def manager() -> Response:
    """The signed-in user's manager (404 when none is set)."""
    claims = _authorize(MANAGER_SCOPES)
    select = _parse_select()
    state = current_state()
    manager_oid = state.memberships.manager_of(str(claims.get("oid", "")))
    found = state.find_user(manager_oid) if manager_oid else None
    if found is None:
        raise GraphError(
            404,
            message="Resource 'manager' does not exist or one of its queried reference-property objects are not "
            "present.",
        )
    data = user_json(found)
    body = {
        "@odata.context": f"{request.host_url.rstrip('/')}/v1.0/$metadata#directoryObjects/$entity",
        "@odata.type": "#microsoft.graph.user",
        **({k: data[k] for k in select} if select else data),
    }
    return _ok(body)
