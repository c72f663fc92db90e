"""Deployment shapes: which authority an app is given, and what the mock's host and registration are for it.

Every shape's paths are served at once (a tenant's GUID and domain, common, organizations, consumers, B2C user
flows); a shape picks the host name (External ID and national clouds answer under their own, with fake DNS), the
configured app's sign-in audience, whether personal accounts are seeded, and the settings the CLI prints.
"""

from __future__ import annotations

from dataclasses import dataclass

from .tenants import MULTIPLE_ORGS, ORGS_AND_PERSONAL


@dataclass(frozen=True)
class Shape:
    name: str
    host: str | None  # None: keep MockConfig.host
    sign_in_audience: str
    personal_users: bool = False


SHAPES = {
    shape.name: shape
    for shape in (
        Shape("workforce", None, MULTIPLE_ORGS),  # AUTHORITY = the tenant (GUID)
        Shape("multi-tenant", None, MULTIPLE_ORGS),  # AUTHORITY = /organizations
        Shape("consumers", None, ORGS_AND_PERSONAL, personal_users=True),  # AUTHORITY = /common
        Shape("b2c", None, MULTIPLE_ORGS),  # B2C_TENANT_NAME + the three user flows
        Shape("ciam", "mocktenant.ciamlogin.com", MULTIPLE_ORGS),  # AUTHORITY = https://<sub>.ciamlogin.com/
        Shape("national-us", "login.microsoftonline.us", MULTIPLE_ORGS),
        Shape("national-cn", "login.partner.microsoftonline.cn", MULTIPLE_ORGS),
    )
}
DEFAULT_SHAPE = "workforce"
