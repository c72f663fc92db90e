"""Scopes as Entra reads them: one resource per request, Graph's delegated permissions in their canonical case,
`.default`, and the errors for what Entra refuses (reference entra-advanced.md section 1)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from .errors import EntraError

GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"
GRAPH_URI = "https://graph.microsoft.com"
# Graph is named by its URI (with or without a trailing slash) or its app id; a bare permission means Graph.
GRAPH_NAMES = frozenset({GRAPH_URI, GRAPH_URI + "/", GRAPH_APP_ID})
OIDC_SCOPES = ("openid", "profile", "email", "offline_access")
DEFAULT = ".default"


@dataclass(frozen=True)
class Permission:
    """A delegated permission of Microsoft Graph: its canonical name and whether only an admin may consent."""

    name: str
    admin_only: bool


# Graph's delegated permissions the mock knows (learn.microsoft.com/graph/permissions-reference, "Admin
# consent required" column). The OpenID scopes are Graph permissions too, and user-consentable.
GRAPH_PERMISSIONS: dict[str, Permission] = {
    p.name.lower(): p
    for p in (
        *(Permission(name, False) for name in OIDC_SCOPES),
        Permission("User.Read", False),
        Permission("User.ReadBasic.All", False),
        Permission("User.ReadWrite", False),
        Permission("Mail.Read", False),
        Permission("Calendars.Read", False),
        Permission("Files.Read", False),
        Permission("People.Read", False),
        Permission("User.Read.All", True),
        Permission("Directory.Read.All", True),
        Permission("GroupMember.Read.All", True),
        Permission("Group.Read.All", True),
    )
}
# A permission name: dotted words (Entra's scope values allow letters, digits, '.', '_', '-').
_PERMISSION_SHAPE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]*")


@dataclass(frozen=True)
class ScopeRequest:
    """A request's scopes as Entra understands them: Graph permissions in canonical case (OpenID ones apart),
    whether `.default` was asked for, and whether the client used the full-URI form."""

    permissions: tuple[str, ...]  # resource permissions, canonical, without the OpenID scopes
    oidc: tuple[str, ...]  # OpenID scopes requested, canonical
    default: bool
    uri_form: bool

    @property
    def requested(self) -> frozenset[str]:
        """Every permission the request needs consent for (OpenID scopes included)."""
        return frozenset((*self.permissions, *self.oidc))


def _invalid_scope(code: int, text: str) -> EntraError:
    return EntraError("invalid_scope", code, text)


def _split_resource(scope: str) -> tuple[str | None, str]:
    """(resource or None for a bare name, permission) of one scope value."""
    if "://" not in scope and not _looks_like_guid_prefix(scope):
        return None, scope
    resource, _, permission = scope.rpartition("/")
    return resource, permission


def _looks_like_guid_prefix(scope: str) -> bool:
    head = scope.split("/", 1)[0]
    return "/" in scope and bool(re.fullmatch(r"[0-9a-fA-F-]{36}", head))


def parse(scopes: Iterable[str]) -> ScopeRequest:
    """Read a request's scopes, or raise Entra's error: 70011 malformed (also `.default` beside other permissions
    of its resource: "static scope limit exceeded"), 700022 several resources, 500011 an unknown resource,
    650053 a Graph permission that does not exist."""
    resources: set[str] = set()
    permissions: list[str] = []
    oidc: list[str] = []
    default = uri_form = False
    values = list(scopes)
    for scope in values:
        if scope.lower() in OIDC_SCOPES:
            oidc.append(scope.lower())
            continue
        resource, permission = _split_resource(scope)
        if not permission or (permission != DEFAULT and not _PERMISSION_SHAPE.fullmatch(permission)):
            raise _invalid_scope(
                70011, f"The value of the input parameter 'scope' is not valid. The scope '{scope}' is not valid."
            )
        if resource is not None:
            uri_form = True
            resources.add(GRAPH_APP_ID if resource.lower().rstrip("/") in {GRAPH_URI, GRAPH_APP_ID} else resource)
        else:
            resources.add(GRAPH_APP_ID)
        if permission == DEFAULT:
            default = True
        else:
            permissions.append(permission)
    if len(resources) > 1:
        raise _invalid_scope(
            700022,
            "The provided value for the input parameter scope is not valid because it contains more than one "
            f"resource. Scope {' '.join(values)} is not valid.",
        )
    if resources and resources != {GRAPH_APP_ID}:
        (resource,) = resources
        raise EntraError(
            "invalid_resource",
            500011,
            f"The resource principal named {resource} was not found in the tenant. This can happen if the "
            "application has not been installed by the administrator of the tenant or consented to by any user "
            "in the tenant.",
        )
    if default and permissions:
        raise _invalid_scope(
            70011,
            f"The provided value for the input parameter 'scope' is not valid. The scope {' '.join(values)} is not "
            "valid. static scope limit exceeded.",
        )
    canonical: list[str] = []
    for permission in permissions:
        known = GRAPH_PERMISSIONS.get(permission.lower())
        if known is None:
            raise _invalid_scope(
                650053,
                f"The application asked for scope '{permission}' that doesn't exist on the resource "
                f"'{GRAPH_APP_ID}'. Contact the app vendor.",
            )
        if known.name in OIDC_SCOPES:
            oidc.append(known.name)
        elif known.name not in canonical:
            canonical.append(known.name)
    return ScopeRequest(tuple(canonical), tuple(dict.fromkeys(oidc)), default, uri_form)


def admin_only(permissions: Iterable[str]) -> tuple[str, ...]:
    """Those of these (canonical) permissions only an admin may consent to."""
    return tuple(p for p in permissions if GRAPH_PERMISSIONS[p.lower()].admin_only)


def resource_permissions(granted: Iterable[str]) -> tuple[str, ...]:
    """The resource permissions (not the OpenID scopes) among granted ones, in the catalogue's order."""
    names = set(granted)
    return tuple(p.name for p in GRAPH_PERMISSIONS.values() if p.name in names and p.name not in OIDC_SCOPES)


def response_scope(granted: Iterable[str], uri_form: bool) -> str:
    """The token response's scope: granted permissions in canonical case plus `profile openid email`; in the
    full-URI form when the request used it (entra-protocol.md section 4.2, observed)."""
    resources = [p for p in granted if p not in OIDC_SCOPES]
    if uri_form:
        return " ".join(("openid", "profile", "email", *(f"{GRAPH_URI}/{p}" for p in resources)))
    return " ".join((*resources, "profile", "openid", "email"))
