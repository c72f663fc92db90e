"""Access to the running mock from request handlers: its state and its public URLs (with the one issuer builder)."""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass

from flask import current_app, request

from .state import MockState
from .tenants import CIAM_SUFFIX, MSA_TENANT_ID, TENANT_TEMPLATE, TenantPath, ciam_subdomain, resolve

EXTENSION = "mock_authority"
MULTI_TENANT = ("common", "organizations")


@dataclass(frozen=True)
class Urls:
    """The two listeners' base URLs and the URLs derived from them."""

    base_url: str  # https back channel (discovery, token, keys, Graph)
    front_url: str  # plain-http front channel (authorize, logout) so browsers see no cert warning
    tenant_id: str

    def issuer_for(self, tenant_id: str, version: str = "2.0") -> str:
        """The one issuer builder: v2.0 (ID tokens, v2 discovery, JWKS) or "1.0" (Graph access tokens, v1).

        External ID (a *.ciamlogin.com host) names the tenant in the host too: https://{tid}.ciamlogin.com/{tid}/v2.0
        (observed in External ID's documents; the mock keeps its port there, as in every URL it builds)."""
        if version != "2.0":
            return f"{self.base_url}/{tenant_id}/"
        if self.ciam:
            parts = urllib.parse.urlsplit(self.base_url)
            return f"https://{tenant_id}{CIAM_SUFFIX}:{parts.port}/{tenant_id}/v2.0"
        return f"{self.base_url}/{tenant_id}/v2.0"

    def issuer_at(self, tenant: str | TenantPath, version: str = "2.0") -> str:
        """The issuer advertised at an authority path: the tenant's, the template at common/organizations, and
        the personal-account tenant's at consumers (what Entra's /consumers document says)."""
        if isinstance(tenant, str):
            multi = is_multi_tenant(tenant)
            tenant_id = MSA_TENANT_ID if tenant.lower() in ("consumers", MSA_TENANT_ID) else self.tenant_id
        else:
            multi, tenant_id = tenant.multi_tenant, tenant.tenant_id or self.tenant_id
        return self.issuer_for(TENANT_TEMPLATE if multi else tenant_id, version)

    def b2c_issuer(self, tenant_id: str) -> str:
        """Azure AD B2C's issuer: https://{host}/{tid}/v2.0/ (with its trailing slash)."""
        return f"{self.base_url}/{tenant_id}/v2.0/"

    @property
    def ciam(self) -> bool:
        """Whether the mock answers as an External ID (CIAM) tenant's host."""
        return ciam_subdomain(urllib.parse.urlsplit(self.base_url).hostname or "") is not None

    @property
    def authority(self) -> str:
        return f"{self.base_url}/{self.tenant_id}"

    @property
    def issuer(self) -> str:
        return self.issuer_for(self.tenant_id)

    @property
    def graph_endpoint(self) -> str:
        return f"{self.base_url}/v1.0/users"


def is_multi_tenant(tenant: str) -> bool:
    """common and organizations, the authority paths any tenant's users may sign in at."""
    return tenant.lower() in MULTI_TENANT


def urls_for(host: str, port: int, front_port: int, tenant_id: str) -> Urls:
    """URLs of listeners bound on known ports."""
    return Urls(f"https://{host}:{port}", f"http://{host}:{front_port}", tenant_id)


def current_state() -> MockState:
    """The MockState of the app handling this request."""
    return current_app.extensions[EXTENSION]


def current_urls() -> Urls:
    """URLs from the config when both ports are known, else from the request (e.g. Flask's test client)."""
    config = current_state().config
    if config.port and config.front_port:
        return urls_for(config.host, config.port, config.front_port, config.tenant_id)
    here = request.host_url.rstrip("/")
    return Urls(here, here, config.tenant_id)


def check_tenant(tenant: str) -> TenantPath:
    """The path's tenant (tenants.resolve); Entra's unknown-tenant error for any tenant the mock does not know."""
    from .errors import EntraError

    config = current_state().config
    path = resolve(tenant, config.tenant_id, config.tenant_domain)
    if path is None:
        raise EntraError(
            "invalid_tenant",
            90002,
            f"Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID "
            "and are signing into the correct cloud.",
        )
    return path
