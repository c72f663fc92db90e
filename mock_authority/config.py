"""The mock's configuration: one frozen dataclass shared by the factory, the thread runner and the CLI."""

from __future__ import annotations

import dataclasses
import secrets
import uuid
from dataclasses import dataclass
from typing import Any

from .shapes import DEFAULT_SHAPE, SHAPES
from .tenants import SIGN_IN_AUDIENCES, default_tenant_domain
from .users import DemoUser, personal_seed_users, seed_users

DEFAULT_REDIRECT_URI = "http://localhost:5000/getAToken"
# The app's site root, where it sends users after sign-out: Entra redirects there only if it is registered too.
DEFAULT_POST_LOGOUT_URI = "http://localhost:5000/"
# What an admin consented to for the configured app in every tenant, so `make run`'s demo users and the tests'
# default SCOPE sign in without a consent page (apps registered at run time start with no consent).
DEFAULT_ADMIN_CONSENT = ("User.Read", "User.ReadBasic.All", "openid", "profile", "email", "offline_access")


@dataclass(frozen=True)
class MockConfig:
    """Settings of one mock identity platform + Graph; None ids/secrets/users are generated at start."""

    client_id: str | None = None
    client_secret: str | None = None
    redirect_uris: tuple[str, ...] = (DEFAULT_REDIRECT_URI, DEFAULT_POST_LOGOUT_URI)
    frontchannel_logout_uri: str | None = None  # the app's front-channel logout URL, loaded at sign-out
    tenant_id: str | None = None
    host: str = "localhost"
    port: int = 0
    front_port: int = 0
    users: tuple[DemoUser, ...] | None = None
    access_token_lifetime: int = 3600
    id_token_lifetime: int = 3600
    refresh_token_lifetime: int = 86400
    code_lifetime: int = 600
    graph_latency: float = 0.0
    client_certificate: str | None = None  # PEM file: a certificate registered on the configured app
    managed_identity: bool = False  # create one user-assigned managed identity (App Service endpoint)
    shape: str = DEFAULT_SHAPE  # shapes.SHAPES: which authority the app is given (host, audience, seed users)
    tenant_domain: str | None = None  # the tenant's domain name (default: <sub>.onmicrosoft.com on CIAM, else fake)
    sign_in_audience: str | None = None  # the configured app's signInAudience (default: the shape's)
    admin_consented_scopes: tuple[str, ...] = DEFAULT_ADMIN_CONSENT  # Graph permissions, for the configured app

    def resolved(self) -> ResolvedConfig:
        """Fill in generated tenant/client ids, secret and demo users (never real values)."""
        if self.shape not in SHAPES:
            raise ValueError(f"unknown shape {self.shape!r}: one of {', '.join(SHAPES)}")
        if self.sign_in_audience is not None and self.sign_in_audience not in SIGN_IN_AUDIENCES:
            raise ValueError(
                f"unknown sign_in_audience {self.sign_in_audience!r}: one of {', '.join(SIGN_IN_AUDIENCES)}"
            )
        shape = SHAPES[self.shape]
        host = shape.host if shape.host and self.host == MockConfig.host else self.host
        fields = {f.name: getattr(self, f.name) for f in dataclasses.fields(MockConfig)}
        fields.update(
            client_id=self.client_id or str(uuid.uuid4()),
            client_secret=self.client_secret or secrets.token_urlsafe(32),
            tenant_id=self.tenant_id or str(uuid.uuid4()),
            redirect_uris=tuple(self.redirect_uris),
            users=tuple(self.users) if self.users is not None else self._seed(shape.personal_users),
            host=host,
            tenant_domain=self.tenant_domain or default_tenant_domain(host),
            sign_in_audience=self.sign_in_audience or shape.sign_in_audience,
        )
        return ResolvedConfig(**fields)

    @staticmethod
    def _seed(personal: bool) -> tuple[DemoUser, ...]:
        return seed_users() + (personal_seed_users() if personal else ())


@dataclass(frozen=True, kw_only=True)
class ResolvedConfig(MockConfig):
    """A MockConfig whose ids, secret and users are filled in: what a running mock (MockState) holds."""

    client_id: str
    client_secret: str
    tenant_id: str
    users: tuple[DemoUser, ...]
    tenant_domain: str
    sign_in_audience: str


def config_from(config: MockConfig | None = None, **overrides: Any) -> MockConfig:
    """Merge keyword overrides (MockConfig field names only) into a config."""
    known = {f.name for f in dataclasses.fields(MockConfig)}
    unknown = set(overrides) - known
    if unknown:
        raise TypeError(f"unknown MockConfig option(s): {', '.join(sorted(unknown))}")
    return dataclasses.replace(config or MockConfig(), **overrides)
