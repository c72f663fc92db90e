"""The `claims` request parameter (OIDC Core §5.5) as Entra reads it at authorize and token: client
capabilities (`access_token.xms_cc`), a claims challenge's `access_token.nbf` and Conditional Access's
`access_token.capolids`.

msal sends it on every request when the app declares `client_capabilities`, merged with any challenge:
https://learn.microsoft.com/entra/identity-platform/claims-challenge"""

from __future__ import annotations

import json
from dataclasses import dataclass

# The only client capability Entra knows today (claims-challenge doc: "The only currently known value is cp1");
# values are case-insensitive and unknown ones are dropped from the token.
KNOWN_CAPABILITIES = ("cp1",)


class MalformedClaims(ValueError):
    """The claims parameter is not a JSON object of the OIDC claims-request form."""


@dataclass(frozen=True)
class ClaimsRequest:
    """What the mock acts on in a claims request."""

    capabilities: tuple[str, ...] = ()  # known xms_cc values, lower case, in request order
    not_before: int | None = None  # access_token.nbf.value: tokens must be issued at or after it
    policy_ids: tuple[str, ...] = ()  # access_token.capolids.values: the Conditional Access policies to satisfy

    @property
    def cae_capable(self) -> bool:
        """The client declared cp1: it can handle claims challenges, so its tokens are CAE tokens."""
        return "cp1" in self.capabilities


def _values(member: object) -> list[str]:
    if not isinstance(member, dict):
        return []
    values = member.get("values", [member["value"]] if "value" in member else [])
    return [str(v) for v in values] if isinstance(values, list) else []


def parse(raw: str | None) -> ClaimsRequest:
    """Parse the claims parameter (absent or empty: an empty request); MalformedClaims when not a JSON object."""
    if not raw:
        return ClaimsRequest()
    try:
        document = json.loads(raw)
    except ValueError:
        raise MalformedClaims("The claims parameter is not valid JSON.") from None
    if not isinstance(document, dict):
        raise MalformedClaims("The claims parameter must be a JSON object.")
    access_token = document.get("access_token") or {}
    if not isinstance(access_token, dict):
        raise MalformedClaims("The claims parameter's access_token member must be a JSON object.")
    requested = {v.lower() for v in _values(access_token.get("xms_cc"))}
    nbf = _values(access_token.get("nbf"))
    try:
        not_before = int(nbf[0]) if nbf else None
    except ValueError:
        raise MalformedClaims("The claims parameter's access_token.nbf value must be a number of seconds.") from None
    return ClaimsRequest(
        capabilities=tuple(c for c in KNOWN_CAPABILITIES if c in requested),
        not_before=not_before,
        policy_ids=tuple(_values(access_token.get("capolids"))),
    )
