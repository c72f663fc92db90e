"""Access to the running mock from request handlers: its state and its public URLs."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app, request

from .state import MockState

EXTENSION = "mock_authority"


@dataclass(frozen=True)
class Urls:
    """The two listeners' base URLs and the URLs derived from them."""

    base_url: str  # https back channel (discovery, token, keys, Graph)
    front_url: str  # plain-http front channel (authorize, logout) so browsers see no cert warning
    tenant_id: str

    @property
    def authority(self) -> str:
        return f"{self.base_url}/{self.tenant_id}"

    @property
    def issuer(self) -> str:
        return f"{self.base_url}/{self.tenant_id}/v2.0"

    @property
    def sts_issuer(self) -> str:
        """v1 issuer, sts.windows.net-style but on the mock host."""
        return f"{self.base_url}/{self.tenant_id}/"

    @property
    def graph_endpoint(self) -> str:
        return f"{self.base_url}/v1.0/users"


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
