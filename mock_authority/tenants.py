"""Which tenant an authority path names, and who may sign in there (sign-in audience).

Entra accepts at /{tenant}: the tenant's GUID or one of its domain names, `common` (work and personal accounts),
`organizations` (work accounts), `consumers` and the personal-account tenant's GUID (personal Microsoft accounts).
https://learn.microsoft.com/entra/identity-platform/v2-protocols#endpoints
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

# The tenant of personal Microsoft accounts: the tid of their tokens, the issuer of /consumers.
MSA_TENANT_ID = "9188040d-6c67-4c5b-b112-36a304b66dad"
TENANT_TEMPLATE = "{tenantid}"
DEFAULT_TENANT_DOMAIN = "mocktenant.onmicrosoft.com"
CIAM_SUFFIX = ".ciamlogin.com"

Kind = Literal["tenant", "common", "organizations", "consumers"]
# A registration's signInAudience (application manifest), in Entra's spelling.
MY_ORG = "AzureADMyOrg"
MULTIPLE_ORGS = "AzureADMultipleOrgs"
ORGS_AND_PERSONAL = "AzureADandPersonalMicrosoftAccount"
PERSONAL_ONLY = "PersonalMicrosoftAccount"
SIGN_IN_AUDIENCES = (MY_ORG, MULTIPLE_ORGS, ORGS_AND_PERSONAL, PERSONAL_ONLY)


@dataclass(frozen=True)
class TenantPath:
    """An authority path's tenant segment, resolved: its kind and (for a tenant) the tenant's GUID."""

    segment: str  # as the request spelled it
    kind: Kind
    tenant_id: str | None  # the mock's tenant or MSA_TENANT_ID; None at common/organizations

    @property
    def multi_tenant(self) -> bool:
        """common and organizations advertise the issuer template; their users come from any tenant."""
        return self.kind in ("common", "organizations")

    @property
    def endpoint_segment(self) -> str:
        """What discovery puts in endpoint URLs: a domain name becomes the tenant's GUID, as Entra's documents do."""
        return self.tenant_id if self.kind == "tenant" and self.tenant_id else self.segment

    def same_tenant(self, other: TenantPath) -> bool:
        """Whether two paths name one tenant (GUID and domain, consumers and the MSA GUID are each the same)."""
        return (self.kind, self.tenant_id) == (other.kind, other.tenant_id)

    def admits_work_accounts(self) -> bool:
        return self.kind != "consumers"

    def admits_personal_accounts(self) -> bool:
        return self.kind in ("common", "consumers")


def ciam_subdomain(host: str) -> str | None:
    """`contoso` for contoso.ciamlogin.com, else None."""
    return host[: -len(CIAM_SUFFIX)] if host.lower().endswith(CIAM_SUFFIX) and len(host) > len(CIAM_SUFFIX) else None


def default_tenant_domain(host: str) -> str:
    """External ID names its tenant after the subdomain (msal turns https://<sub>.ciamlogin.com/ into
    <sub>.onmicrosoft.com); elsewhere a fixed, obviously fake name."""
    sub = ciam_subdomain(host)
    return f"{sub.lower()}.onmicrosoft.com" if sub else DEFAULT_TENANT_DOMAIN


def resolve(segment: str, tenant_id: str, tenant_domain: str) -> TenantPath | None:
    """The path's tenant, or None when the mock does not know it (Entra's AADSTS90002)."""
    lowered = segment.lower()
    if lowered in ("common", "organizations"):
        return TenantPath(segment, "common" if lowered == "common" else "organizations", None)
    if lowered in ("consumers", MSA_TENANT_ID):
        return TenantPath(segment, "consumers", MSA_TENANT_ID)
    if lowered in (tenant_id.lower(), tenant_domain.lower()):
        return TenantPath(segment, "tenant", tenant_id)
    return None


def audience_error(audience: str, path: TenantPath) -> tuple[str, int, str, bool] | None:
    """(error, AADSTS code, text, shown as a page) when an app of this audience may not start a sign-in here.

    AADSTS50194 comes back to the app (reported as error=invalid_request); /consumers refuses work-only apps
    on the personal-account service's own page ("unauthorized_client: The client does not exist or is not
    enabled for consumers", reported in public threads, no AADSTS number); AADSTS9002331 refuses personal-only
    apps elsewhere."""
    if audience == MY_ORG and path.multi_tenant:
        return (
            "invalid_request",
            50194,
            "Application is not configured as a multi-tenant application. Usage of the /common endpoint is not "
            "supported for such applications created after '10/15/2018'. Use a tenant-specific endpoint or "
            "configure the application to be multi-tenant.",
            False,
        )
    if audience in (MY_ORG, MULTIPLE_ORGS) and path.kind == "consumers":
        return (
            "unauthorized_client",
            700016,
            "The client does not exist or is not enabled for consumers. If you are the application developer, "
            "configure a new application through the App Registrations in the Azure Portal.",
            True,
        )
    if audience == PERSONAL_ONLY and path.kind in ("tenant", "organizations"):
        return (
            "invalid_request",
            9002331,
            "Application is configured for use by Microsoft Account users only. Please use the /consumers "
            "endpoint to serve this request.",
            False,
        )
    return None


def audience_admits(audience: str, personal: bool) -> bool:
    """Whether an app of this audience accepts a work (personal=False) or personal account."""
    if personal:
        return audience in (ORGS_AND_PERSONAL, PERSONAL_ONLY)
    return audience != PERSONAL_ONLY
