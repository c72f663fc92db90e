"""Who may sign in, and open which page: app roles (the ID token's `roles`) and groups (its `groups`, or Microsoft
Graph when the token reports a group overage).

Entra's ID token carries `roles` (the app's roles assigned to the user, or to a group they are in) and, when the
registration's groupMembershipClaims asks for them, `groups` (object ids). Past 200 groups it carries no `groups`
but the overage indicator `_claim_names: {"groups": "src1"}` with `_claim_sources`, whose endpoint names the
retired Azure AD Graph: the app asks Microsoft Graph of its cloud instead, once per sign-in, with the user's own
delegated token (User.Read suffices), and keeps the ids with the session. When Graph cannot answer, nobody is
signed in (fail closed): never admitted on a guess, never told they are no member when nobody knows.

Sources: https://learn.microsoft.com/entra/identity-platform/id-token-claims-reference (roles, groups, overage),
https://learn.microsoft.com/graph/api/user-list-transitivememberof (permissions, $select, paging, page sizes).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
from flask import Flask, render_template

from .clouds import graph_host_for
from .errors import GraphFailure
from .graph import GraphClient
from .settings import GUID, Settings

log = logging.getLogger(__name__)

GROUPS_KEY = "webapp.groups"  # in the session's data: the group ids Graph resolved (overage only)
PAGE_SIZE = 999  # Graph's largest page of a directoryObject collection
MAX_PAGES = 3  # at most 2,997 groups kept with a session; a user in more cannot be checked (fail closed)
GROUP_TYPE = "#microsoft.graph.group"  # transitiveMemberOf also lists directory roles and administrative units
GRAPH_PATH_PREFIXES = ("/v1.0/", "/beta/")
# The least privileged delegated permission that reads one's own memberships (user-list-transitivememberof).
MEMBERSHIP_SCOPES = ["User.Read"]


def has_group_overage(claims: Mapping[str, Any]) -> bool:
    """The token names a source for groups instead of carrying them (more than 200)."""
    names = claims.get("_claim_names")
    return "groups" not in claims and isinstance(names, dict) and "groups" in names


def _strings(value: Any) -> tuple[str, ...]:
    return tuple(item for item in value if isinstance(item, str)) if isinstance(value, list) else ()


@dataclass(frozen=True)
class Memberships:
    """A signed-in user's app roles and group ids, and whether the groups came from Graph (an overage)."""

    roles: tuple[str, ...]
    groups: tuple[str, ...]
    from_graph: bool = False
    unresolved_overage: bool = False  # more than 200 groups that nobody resolved (not an Entra authority)

    @classmethod
    def of(cls, claims: Mapping[str, Any], resolved: Any = None) -> Memberships:
        roles = _strings(claims.get("roles"))
        if has_group_overage(claims):
            if isinstance(resolved, list):
                return cls(roles, tuple(group.lower() for group in _strings(resolved)), from_graph=True)
            return cls(roles, (), unresolved_overage=True)
        return cls(roles, tuple(group.lower() for group in _strings(claims.get("groups"))))


@dataclass(frozen=True)
class Requirement:
    """One of these roles (if any are named) and membership of one of these groups (if any are named)."""

    roles: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()

    @classmethod
    def for_roles(cls, values: Iterable[str]) -> Requirement:
        roles = tuple(values)
        if not roles or not all(isinstance(role, str) and role and not role.isspace() for role in roles):
            raise ValueError("requires_role needs one or more app role values, e.g. requires_role('Admin')")
        return cls(roles=roles)

    @classmethod
    def for_groups(cls, ids: Iterable[str]) -> Requirement:
        groups = tuple(ids)
        if not groups or not all(isinstance(group, str) and GUID.match(group) for group in groups):
            raise ValueError("requires_group needs one or more group object ids (GUIDs)")
        return cls(groups=tuple(group.lower() for group in groups))

    def allows(self, held: Memberships) -> bool:
        if self.roles and not set(self.roles) & set(held.roles):  # role values are case-sensitive
            return False
        return not self.groups or bool(set(self.groups) & set(held.groups))

    def check(self, held: Memberships, at_sign_in: bool) -> None:
        if not self.allows(held):
            log.info(
                "%s refused: the user holds none of the required roles or groups", "sign-in" if at_sign_in else "page"
            )
            raise Refused(self, at_sign_in)


@dataclass(eq=False)  # exceptions must stay hashable
class Refused(Exception):
    """The user lacks a required app role or group membership (403). At sign-in, no session was created."""

    requirement: Requirement
    at_sign_in: bool


@dataclass(eq=False)
class GroupsUnresolved(Exception):
    """The token reported a group overage and Graph could not say which groups the user is in (503, no session)."""

    reason: str


def graph_base(settings: Settings) -> str:
    """Microsoft Graph's origin: ENDPOINT's when it is a Graph URL (/v1.0/..., /beta/...), else the Graph host of
    AUTHORITY's cloud (national clouds have their own)."""
    endpoint = urlsplit(settings.endpoint)
    if endpoint.path.startswith(GRAPH_PATH_PREFIXES):
        return f"{endpoint.scheme}://{endpoint.netloc}"
    return f"https://{graph_host_for(urlsplit(settings.authority).hostname or '')}"


class GroupResolver:
    """The signed-in user's groups, from Graph's /me/transitiveMemberOf (direct and nested, as the groups claim)."""

    def __init__(self, graph: GraphClient, base: str, max_pages: int = MAX_PAGES):
        self._graph = graph
        self._base = base.rstrip("/")
        self._max_pages = max_pages

    def resolve(self, access_token: str) -> list[str]:
        """Every group id, following @odata.nextLink on Graph's own origin; GroupsUnresolved otherwise."""
        url = f"{self._base}/v1.0/me/transitiveMemberOf?$select=id&$top={PAGE_SIZE}"
        ids: list[str] = []
        for _ in range(self._max_pages):
            try:
                page = self._graph.get(url, access_token)
            except GraphFailure as failure:
                words = failure.message or failure.plain_words
                raise GroupsUnresolved(f"{words} (Graph: {failure.status} {failure.code})") from None
            items = page.get("value") if isinstance(page, dict) else None
            if not isinstance(items, list):
                raise GroupsUnresolved("Microsoft Graph's answer listed no memberships.")
            ids += [
                item["id"]
                for item in items
                if isinstance(item, dict) and item.get("@odata.type") == GROUP_TYPE and isinstance(item.get("id"), str)
            ]
            next_link = page.get("@odata.nextLink")
            if next_link is None:
                return list(dict.fromkeys(group.lower() for group in ids))
            if not isinstance(next_link, str) or not next_link.startswith(self._base + "/"):
                raise GroupsUnresolved(
                    "Microsoft Graph's next page was not on Microsoft Graph."
                )  # never send the token
            url = next_link
        raise GroupsUnresolved(
            f"The user is in more groups than this site checks ({self._max_pages} pages from Graph)."
        )


class Admission:
    """The sign-in gate, after the ID token validated and before any session exists."""

    def __init__(self, requirement: Requirement = Requirement(), resolver: GroupResolver | None = None):
        self.requirement = requirement
        self.resolver = resolver  # Entra and External ID only: other authorities' tokens report no overage

    def admit(self, claims: Mapping[str, Any], token_for: Callable[[list[str]], Mapping[str, Any]]) -> dict[str, Any]:
        """What to keep with the new session (the groups Graph resolved); Refused or GroupsUnresolved instead.
        token_for(scopes) is msal's answer for the user who just signed in (its cache, or a refresh)."""
        resolved = None
        if self.resolver is not None and has_group_overage(claims):
            resolved = self.resolver.resolve(_access_token(token_for))
            log.info("group overage resolved through Microsoft Graph: %d groups", len(resolved))
        self.requirement.check(Memberships.of(claims, resolved), at_sign_in=True)
        return {} if resolved is None else {GROUPS_KEY: resolved}


def _access_token(token_for: Callable[[list[str]], Mapping[str, Any]]) -> str:
    try:
        result = token_for(list(MEMBERSHIP_SCOPES))
    except (requests.RequestException, ValueError) as exc:
        raise GroupsUnresolved(f"No token for Microsoft Graph ({type(exc).__name__}).") from None
    token = result.get("access_token")
    if not isinstance(token, str) or not token:
        raise GroupsUnresolved(f"No token for Microsoft Graph ({str(result.get('error') or 'none issued')[:100]}).")
    return token


def register_pages(app: Flask, client_id: str) -> None:
    """The 403 page of a refused user, and the 503 page of a group check that could not be completed."""

    @app.errorhandler(Refused)
    def refused(error: Refused) -> Any:
        return render_template("errors/forbidden.html", refused=error, client_id=client_id), 403

    @app.errorhandler(GroupsUnresolved)
    def unresolved(error: GroupsUnresolved) -> Any:
        log.warning("sign-in refused: the group overage could not be resolved: %s", error.reason)
        return render_template("errors/groups_unresolved.html", reason=error.reason), 503
