"""Demo directory users: fake people with @contoso.example names and fresh object ids, and personal Microsoft
accounts (@outlook.example) for the consumers shape."""

from __future__ import annotations

import uuid
from typing import Any, NamedTuple

from .tenants import MSA_TENANT_ID


class DemoUser(NamedTuple):
    """One directory user, with the claims and Graph properties the mock serves for it."""

    oid: str
    name: str
    upn: str
    given_name: str | None = None
    surname: str | None = None
    mail: str | None = None
    job_title: str | None = None
    office_location: str | None = None
    mobile_phone: str | None = None
    business_phones: tuple[str, ...] = ()
    preferred_language: str | None = "en-US"
    tenant_id: str | None = None  # None: the mock's own tenant; another GUID: a user of a foreign tenant
    personal: bool = False  # a personal Microsoft account: its home tenant is the MSA tenant

    def home_tenant(self, default: str) -> str:
        """The tenant this user signs in from."""
        return MSA_TENANT_ID if self.personal else self.tenant_id or default

    @property
    def preferred_username(self) -> str:
        """The ID token's preferred_username: Entra puts the UPN there for work accounts."""
        return self.upn


def make_user(name: str, upn: str, oid: str | None = None, **fields: Any) -> DemoUser:
    """Build a DemoUser, deriving the unset name parts and mail from name and UPN."""
    given, _, surname = name.partition(" ")
    fields.setdefault("given_name", given or None)
    fields.setdefault("surname", surname or None)
    fields.setdefault("mail", upn)
    if "business_phones" in fields:
        fields["business_phones"] = tuple(fields["business_phones"] or ())
    return DemoUser(oid=oid or str(uuid.uuid4()), name=name, upn=upn, **fields)


# Fictional people on a reserved (.example) domain; oids are generated per process.
_SEED = (
    ("Adele Vance", "AdeleV", "Retail Manager", "18/2111"),
    ("Alex Wilber", "AlexW", "Marketing Assistant", "131/1104"),
    ("Diego Siciliani", "DiegoS", "HR Manager", "14/1108"),
    ("Grady Archie", "GradyA", "Designer", "19/2109"),
    ("Isaiah Langer", "IsaiahL", "Sales Rep", "20/1101"),
    ("Johanna Lorenz", "JohannaL", "Senior Engineer", "23/2102"),
    ("Lee Gu", "LeeG", None, None),
    ("Megan Bowen", "MeganB", "Marketing Manager", "12/1110"),
)


def seed_users() -> tuple[DemoUser, ...]:
    """Return a fresh set of demo users with new object ids."""
    return tuple(
        make_user(name, f"{alias}@contoso.example", job_title=job, office_location=office)
        for name, alias, job, office in _SEED
    )


# Personal accounts' object ids have Entra's MSA form: eight zero bytes, then the account's 64-bit id.
_PERSONAL_SEED = (("Kai Carter", "kai.carter"), ("Robin Ito", "robin.ito"))


def personal_seed_users() -> tuple[DemoUser, ...]:
    """Two personal Microsoft accounts on a reserved domain (only the consumers shape seeds them)."""
    return tuple(
        make_user(
            name,
            f"{alias}@outlook.example",
            oid=f"00000000-0000-0000-{uuid.uuid4().hex[:4]}-{uuid.uuid4().hex[:12]}",
            personal=True,
        )
        for name, alias in _PERSONAL_SEED
    )
