"""Consent: which delegated permissions of a resource each user, or a tenant's admin for everyone, granted to
an app (entra-advanced.md section 1). Only Graph is a resource in the mock."""

from __future__ import annotations

import threading
from collections.abc import Iterable

from . import scopes

EVERY_TENANT = "*"  # an admin grant recorded for every tenant (the configured app's, as in `make run`)


class ConsentGrants:
    """Thread-safe record of grants: per (tenant, user, client, resource) and per (tenant, client, resource)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._user: dict[tuple[str, str, str, str], set[str]] = {}
        self._admin: dict[tuple[str, str, str], set[str]] = {}

    def grant_user(self, tenant_id: str, user_oid: str, client_id: str, permissions: Iterable[str]) -> None:
        """The user consented to these (canonical) permissions for the app."""
        key = (tenant_id.lower(), user_oid.lower(), client_id, scopes.GRAPH_APP_ID)
        with self._lock:
            self._user.setdefault(key, set()).update(permissions)

    def grant_admin(self, tenant_id: str | None, client_id: str, permissions: Iterable[str]) -> None:
        """An admin consented for every user of the tenant (None: of every tenant)."""
        key = ((tenant_id or EVERY_TENANT).lower(), client_id, scopes.GRAPH_APP_ID)
        with self._lock:
            self._admin.setdefault(key, set()).update(permissions)

    def granted_by_admin(self, tenant_id: str, client_id: str) -> frozenset[str]:
        """What an admin granted the app for every user of the tenant."""
        with self._lock:
            admin = self._admin.get((tenant_id.lower(), client_id, scopes.GRAPH_APP_ID), set())
            everywhere = self._admin.get((EVERY_TENANT, client_id, scopes.GRAPH_APP_ID), set())
            return frozenset(admin | everywhere)

    def granted(self, tenant_id: str, user_oid: str, client_id: str) -> frozenset[str]:
        """What the app may do for this user at Graph: their own grants and their tenant's admin grants."""
        with self._lock:
            own = frozenset(self._user.get((tenant_id.lower(), user_oid.lower(), client_id, scopes.GRAPH_APP_ID), ()))
        return own | self.granted_by_admin(tenant_id, client_id)
