"""Groups, app-role assignments and managers of the mock's directory, and the roles/groups claims they put in
ID tokens (with Entra's group overage past 200 groups).

Sources: https://learn.microsoft.com/entra/identity-platform/id-token-claims-reference (roles, groups,
_claim_names/_claim_sources), https://learn.microsoft.com/entra/identity-platform/optional-claims (the groups
claim and groupMembershipClaims), https://learn.microsoft.com/security/zero-trust/develop/configure-tokens-group-claims-app-roles."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from .users import DemoUser

GROUP_LIMIT = 200  # groups a JWT carries; past it Entra sends the overage indicator instead
# groupMembershipClaims values the mock emits (the manifest also knows DirectoryRole and ApplicationGroup).
GROUP_MEMBERSHIP_CLAIMS = ("SecurityGroup", "All")
_GROUP_IDS = uuid.UUID("5b0c6b8e-8f0e-4c35-9a3e-6f1f7c2d9a10")  # namespace: stable group ids per tenant and name


@dataclass(frozen=True)
class Group:
    """A directory group; security_enabled=False is a distribution list (left out of SecurityGroup claims)."""

    id: str
    display_name: str
    security_enabled: bool = True
    description: str | None = None


class Memberships:
    """Thread-safe: groups, who (users or groups) is a member of which, app roles held per app, managers."""

    def __init__(self, tenant_id: str) -> None:
        self._tenant_id = tenant_id
        self._lock = threading.Lock()
        self._groups: dict[str, Group] = {}  # in creation order
        self._members: dict[str, list[str]] = {}  # group id -> member ids (users' oids or groups' ids)
        self._roles: dict[tuple[str, str], list[str]] = {}  # (client id, principal id) -> role values
        self._managers: dict[str, str] = {}  # oid -> manager's oid

    def add_group(self, display_name: str, security_enabled: bool = True, description: str | None = None) -> Group:
        """A new group; its id is derived from the tenant and name, so a seeded group keeps it across resets."""
        group = Group(
            str(uuid.uuid5(_GROUP_IDS, f"{self._tenant_id}:{display_name}")),
            display_name,
            security_enabled,
            description,
        )
        with self._lock:
            if group.id in self._groups:
                raise ValueError(f"a group named {display_name!r} already exists")
            self._groups[group.id] = group
            self._members[group.id] = []
        return group

    @property
    def groups(self) -> list[Group]:
        with self._lock:
            return list(self._groups.values())

    def find_group(self, key: str) -> Group | None:
        """A group by id or (case-insensitive) display name."""
        with self._lock:
            return self._groups.get(key) or next(
                (g for g in self._groups.values() if g.display_name.lower() == key.lower()), None
            )

    def add_member(self, group_id: str, member_id: str) -> None:
        """Add a user (oid) or another group (id) to a group."""
        with self._lock:
            if group_id not in self._groups:
                raise ValueError(f"no group with id {group_id}")
            if member_id == group_id:
                raise ValueError("a group cannot be a member of itself")
            if member_id not in self._members[group_id]:
                self._members[group_id].append(member_id)

    def member_of(self, member_id: str) -> list[Group]:
        """The groups a user or group is a direct member of."""
        with self._lock:
            return [self._groups[gid] for gid, members in self._members.items() if member_id in members]

    def transitive_member_of(self, member_id: str) -> list[Group]:
        """Direct and nested memberships, each once, in group creation order."""
        with self._lock:
            found: set[str] = set()
            frontier = [member_id]
            while frontier:
                current = frontier.pop()
                for gid, members in self._members.items():
                    if current in members and gid not in found:
                        found.add(gid)
                        frontier.append(gid)
            return [g for gid, g in self._groups.items() if gid in found]

    def assign_role(self, client_id: str, principal_id: str, value: str) -> None:
        """Assign an app role (its value, e.g. "Admin") of an app to a user or a group."""
        with self._lock:
            values = self._roles.setdefault((client_id, principal_id), [])
            if value not in values:
                values.append(value)

    def roles(self, client_id: str, oid: str) -> list[str]:
        """The app's roles a user holds: assigned to them or to a group they are a direct member of. Group-based
        assignment does not reach members of nested groups ("Assign users and groups to an application",
        https://learn.microsoft.com/entra/identity/enterprise-apps/assign-user-or-group-access-portal)."""
        principals = [oid, *(g.id for g in self.member_of(oid))]
        with self._lock:
            held: list[str] = []
            for principal in principals:
                held += [v for v in self._roles.get((client_id, principal), []) if v not in held]
            return held

    def set_manager(self, oid: str, manager_oid: str | None) -> None:
        with self._lock:
            if manager_oid is None:
                self._managers.pop(oid, None)
            else:
                self._managers[oid] = manager_oid

    def manager_of(self, oid: str) -> str | None:
        with self._lock:
            return self._managers.get(oid)


def id_token_claims(
    memberships: Memberships, *, client_id: str, group_membership_claims: str | None, tenant_id: str, oid: str
) -> dict[str, object]:
    """roles (when the user holds any of the app's roles) and groups (when the app asks for group claims): the
    groups' object ids, or past GROUP_LIMIT the overage indicator pointing at the user's getMemberObjects."""
    claims: dict[str, object] = {}
    roles = memberships.roles(client_id, oid)
    if roles:
        claims["roles"] = roles
    if group_membership_claims is None:
        return claims
    groups = memberships.transitive_member_of(oid)
    if group_membership_claims == "SecurityGroup":
        groups = [g for g in groups if g.security_enabled]
    if len(groups) > GROUP_LIMIT:
        # The form observed in Entra's tokens (the docs show "[Url to get this user's group membership from]").
        claims["_claim_names"] = {"groups": "src1"}
        claims["_claim_sources"] = {
            "src1": {"endpoint": f"https://graph.windows.net/{tenant_id}/users/{oid}/getMemberObjects"}
        }
    elif groups:
        claims["groups"] = [g.id for g in groups]
    return claims


# The demo directory: (UPN alias, groups, app roles of the configured app); groups listed in _NESTED are members of
# another group; Lee Gu is in more groups than a token can carry.
_DEMO_GROUPS = (
    ("Contoso Staff", True),
    ("Retail Managers", True),
    ("All Managers", True),
    ("Marketing", True),
    ("Contoso Newsletter", False),
)
_NESTED = (("Retail Managers", "All Managers"),)
_DEMO_MEMBERS = (
    ("AdeleV", ("Contoso Staff", "Retail Managers", "Contoso Newsletter"), ("Admin",)),
    ("AlexW", ("Contoso Staff", "Marketing"), ("Reader",)),
    ("MeganB", ("Contoso Staff", "Marketing"), ()),
    ("DiegoS", ("Contoso Staff",), ()),
    ("LeeG", ("Contoso Staff",), ()),
)
_GROUP_ROLES = (("Marketing", "Reader"),)  # a role held through a group
_MANAGERS = (("AlexW", "MeganB"), ("MeganB", "AdeleV"), ("AdeleV", "DiegoS"))
OVERAGE_ALIAS = "LeeG"
OVERAGE_GROUPS = 250


def seed_demo(tenant_id: str, users: Iterable[DemoUser], client_id: str) -> Memberships:
    """The demo's groups, roles and managers for those of the seeded people the directory holds."""
    memberships = Memberships(tenant_id)
    by_alias = {u.upn.partition("@")[0]: u for u in users if not u.personal}
    groups = {name: memberships.add_group(name, security) for name, security in _DEMO_GROUPS}
    for inner, outer in _NESTED:
        memberships.add_member(groups[outer].id, groups[inner].id)
    for group_name, role in _GROUP_ROLES:
        memberships.assign_role(client_id, groups[group_name].id, role)
    for alias, names, roles in _DEMO_MEMBERS:
        user = by_alias.get(alias)
        if user is None:
            continue
        for name in names:
            memberships.add_member(groups[name].id, user.oid)
        for role in roles:
            memberships.assign_role(client_id, user.oid, role)
    for alias, manager in _MANAGERS:
        if alias in by_alias and manager in by_alias:
            memberships.set_manager(by_alias[alias].oid, by_alias[manager].oid)
    overage = by_alias.get(OVERAGE_ALIAS)
    if overage is not None:
        for n in range(1, OVERAGE_GROUPS + 1):
            memberships.add_member(memberships.add_group(f"Project {n:03d}").id, overage.oid)
    return memberships
