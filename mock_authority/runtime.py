"""Access to the running mock from request handlers: its state and its public URLs (with the one issuer builder)."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app, request

from .state import MockState

EXTENSION = "mock_authority"
MULTI_TENANT = ("common", "organizations")
TENANT_TEMPLATE = "{tenantid}"


@dataclass(frozen=True)
class Urls:
    """The two listeners' base URLs and the URLs derived from them."""

    base_url: str  # https back channel (discovery, token, keys, Graph)
    front_url: str  # plain-http front channel (authorize, logout) so browsers see no cert warning
    tenant_id: str

    def issuer_for(self, tenant_id: str, version: str = "2.0") -> str:
        """The one issuer builder: v2.0 (ID tokens, v2 discovery, JWKS) or "1.0" (Graph access tokens, v1)."""
        return f"{self.base_url}/{tenant_id}/v2.0" if version == "2.0" else f"{self.base_url}/{tenant_id}/"

    def issuer_at(self, tenant: str, version: str = "2.0") -> str:
        """The issuer advertised at an authority path: the tenant's, or the template at common/organizations."""
        return self.issuer_for(TENANT_TEMPLATE if is_multi_tenant(tenant) else self.tenant_id, version)

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


def check_tenant(tenant: str) -> None:
    """Raise Entra's unknown-tenant error unless the path names the mock's tenant or common/organizations."""
    from .errors import EntraError

    if tenant.lower() not in (current_state().config.tenant_id.lower(), *MULTI_TENANT):
        raise EntraError(
            "invalid_tenant",
            90002,
            f"Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID "
            "and are signing into the correct cloud.",
        )
