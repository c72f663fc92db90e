"""Each kind of authority, resolved once from the settings: what msal is given, where the discovery document
is, which issuer and signing algorithms an ID token may have, and what Entra-only claims exist.

- entra: msal gets authority=AUTHORITY; discovery at {AUTHORITY}/v2.0/.well-known/openid-configuration; the
  token's iss is the document's, its {tenantid} template (common, organizations) filled with the token's tid.
- ciam (External ID, *.ciamlogin.com): the same; a bare host names the tenant <sub>.onmicrosoft.com, as in msal.
- b2c: authority=https://<host>/<name>.onmicrosoft.com/<flow>, one per user flow; discovery at
  {that}/v2.0/.well-known/openid-configuration; iss exactly the document's (it ends with a slash).
- oidc: oidc_authority=OIDC_AUTHORITY; discovery at {OIDC_AUTHORITY}/.well-known/openid-configuration; iss
  exactly the document's, which must be OIDC_AUTHORITY. Nothing Entra-specific: no tid, no client_info.

Sources: https://learn.microsoft.com/entra/identity-platform/id-tokens#validate-tokens (Entra),
https://learn.microsoft.com/azure/active-directory-b2c/tokens-overview (B2C), OpenID Connect Discovery 1.0 §4
(any provider). msal's own rules for the same shapes are in msal/authority.py.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlsplit

from .settings import Settings

Kind = Literal["entra", "ciam", "b2c", "oidc"]
# The sign-in flows an app can start: B2C adds its profile-editing and password-reset user flows.
FlowName = Literal["signin", "editprofile", "resetpassword"]
# The tenant of personal Microsoft accounts (outlook.com, hotmail.com, ...): the tid of their ID tokens.
MSA_TENANT = "9188040d-6c67-4c5b-b112-36a304b66dad"
CIAM_SUFFIX = ".ciamlogin.com"
# Microsoft's authorities sign ID tokens with RS256 only. A generic provider may use any of these; each is also
# checked against the document's id_token_signing_alg_values_supported (which must include RS256, §3).
MICROSOFT_ALGORITHMS = ("RS256",)
OIDC_ALGORITHMS = ("RS256", "PS256", "ES256")
DISCOVERY_PATH = "/.well-known/openid-configuration"


class IssuerMismatch(ValueError):
    """The discovery document names another issuer than the one configured."""


@dataclass(frozen=True)
class Flow:
    """One place a sign-in starts: the keyword msal gets (authority= or oidc_authority=) and its discovery URL."""

    name: FlowName
    msal_authority: Mapping[str, str]
    discovery_url: str


@dataclass(frozen=True)
class Authority:
    kind: Kind
    flows: Mapping[FlowName, Flow]
    oidc_issuer: str = ""  # oidc: the issuer the document must name (OIDC Discovery §4.3)
    allowed_algorithms: tuple[str, ...] = MICROSOFT_ALGORITHMS

    @property
    def signin(self) -> Flow:
        return self.flows["signin"]

    @property
    def microsoft_tenant_claims(self) -> bool:
        """Entra and External ID tokens carry tid (and the token response client_info); B2C's and others' do not
        need to: their tenant is the issuer itself."""
        return self.kind in ("entra", "ciam")

    @property
    def client_capabilities(self) -> tuple[str, ...]:
        """cp1 ("this app handles claims challenges") for Entra and External ID, which send CAE claims challenges
        to clients that declare it; nothing Entra-specific goes to B2C or a generic provider."""
        return ("cp1",) if self.kind in ("entra", "ciam") else ()

    @property
    def sends_logout_hint(self) -> bool:
        """Entra's end-session endpoint takes logout_hint = the ID token's login_hint claim."""
        return self.kind in ("entra", "ciam")

    @property
    def sends_client_id_at_logout(self) -> bool:
        """RP-Initiated Logout 1.0 §2: a post_logout_redirect_uri without id_token_hint needs client_id."""
        return self.kind == "oidc"

    def expected_issuer(self, document: Mapping[str, Any], tenant: str) -> str:
        """The iss an ID token must have, given the discovery document (and, for Entra, the token's tid)."""
        issuer = document.get("issuer")
        if not isinstance(issuer, str) or not issuer:
            raise IssuerMismatch("the discovery document names no issuer")
        if self.kind == "oidc" and not _names_configured_issuer(issuer, self.oidc_issuer):
            raise IssuerMismatch(f"the discovery document's issuer {issuer[:100]!r} is not OIDC_AUTHORITY")
        if self.kind == "entra":  # /common and /organizations name a template (the tenant-specific one, none)
            return issuer.replace("{tenantid}", tenant)
        return issuer

    def names_itself(self, iss: str | None) -> bool:
        """Whether a front-channel logout's iss (sent by a provider that implements OIDC Front-Channel Logout 1.0;
        Entra sends none) is this authority: it must match the configured issuer when present (§2)."""
        return iss is None or self.kind != "oidc" or iss.rstrip("/") == self.oidc_issuer

    def algorithms(self, document: Mapping[str, Any]) -> list[str]:
        """The ID-token signing algorithms accepted: ours, narrowed to what the provider says it uses."""
        advertised = document.get("id_token_signing_alg_values_supported")
        if not isinstance(advertised, list) or self.kind != "oidc":
            return list(self.allowed_algorithms)
        return [alg for alg in self.allowed_algorithms if alg in advertised]

    def prompt(self, document: Callable[[], Mapping[str, Any]]) -> str | None:
        """select_account where the authority offers it: Entra does; B2C documents only prompt=login; a generic
        provider only when its document lists it (an unknown prompt value is an error, OIDC Core §3.1.2.1)."""
        if self.kind in ("entra", "ciam"):
            return "select_account"
        if self.kind == "b2c":
            return None
        advertised = document().get("prompt_values_supported")
        return "select_account" if isinstance(advertised, list) and "select_account" in advertised else None


def resolve(settings: Settings) -> Authority:
    """The authority the settings describe (settings.authority_kind says which of the three is set)."""
    kind = settings.authority_kind
    if kind == "oidc":
        return oidc(settings.oidc_authority)
    if kind == "b2c":
        return b2c(
            settings.b2c_tenant_name,
            settings.b2c_instance,
            {
                "signin": settings.signupsignin_user_flow,
                "editprofile": settings.editprofile_user_flow,
                "resetpassword": settings.resetpassword_user_flow,
            },
        )
    return entra(settings.authority)


def entra(authority: str) -> Authority:
    """Entra workforce (any cloud, GUID or domain tenant, common/organizations/consumers) or External ID."""
    authority = authority.rstrip("/")
    parts = urlsplit(authority)
    host = (parts.hostname or "").lower()
    tenant = parts.path.strip("/").split("/")[0]
    if host.endswith(CIAM_SUFFIX):
        # A bare External ID host names its tenant by its subdomain, as msal rewrites it (msal/authority.py).
        path = parts.path if tenant else f"/{host[: -len(CIAM_SUFFIX)]}.onmicrosoft.com"
        discovery = f"{parts.scheme}://{parts.netloc}{path}/v2.0{DISCOVERY_PATH}"
        return Authority("ciam", {"signin": Flow("signin", {"authority": authority}, discovery)})
    discovery = f"{authority}/v2.0{DISCOVERY_PATH}"
    return Authority("entra", {"signin": Flow("signin", {"authority": authority}, discovery)})


def b2c(tenant_name: str, instance: str, user_flows: Mapping[FlowName, str]) -> Authority:
    """Azure AD B2C: one authority per user flow, https://<host>/<name>.onmicrosoft.com/<flow> (msal knows it as
    B2C by its b2clogin host, or on a custom domain by a third path segment starting b2c_)."""
    host = instance or f"https://{tenant_name}.b2clogin.com"
    flows: dict[FlowName, Flow] = {}
    for name, user_flow in user_flows.items():
        if user_flow:
            authority = f"{host}/{tenant_name}.onmicrosoft.com/{user_flow}"
            flows[name] = Flow(name, {"authority": authority}, f"{authority}/v2.0{DISCOVERY_PATH}")
    return Authority("b2c", flows)


def oidc(issuer: str) -> Authority:
    """Any OpenID provider by its issuer: discovery per OIDC Discovery §4.1 (a trailing / removed first)."""
    issuer = issuer.rstrip("/")
    return Authority(
        "oidc",
        {"signin": Flow("signin", {"oidc_authority": issuer}, f"{issuer}{DISCOVERY_PATH}")},
        oidc_issuer=issuer,
        allowed_algorithms=OIDC_ALGORITHMS,
    )


def _names_configured_issuer(issuer: str, configured: str) -> bool:
    """OIDC Discovery §4.3: the document's issuer is the configured one (OIDC_AUTHORITY loses a trailing / when
    parsed, so only that may differ). External ID behind a custom domain keeps its own issuer,
    https://<tid>.ciamlogin.com/<tid>/v2.0, for the tenant its custom-domain authority names (msal accepts it too)."""
    if issuer.rstrip("/") == configured.rstrip("/"):
        return True
    parts = urlsplit(issuer)
    host = (parts.hostname or "").lower()
    configured_tenant = urlsplit(configured).path.strip("/").split("/")[0].lower()
    if not host.endswith(CIAM_SUFFIX) or not configured_tenant:
        return False
    tenant = host[: -len(CIAM_SUFFIX)]
    return tenant == configured_tenant and parts.path.rstrip("/").lower() == f"/{tenant}/v2.0"
