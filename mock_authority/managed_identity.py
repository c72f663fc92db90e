"""The App Service managed-identity endpoint (IDENTITY_ENDPOINT), as msal's ManagedIdentityClient calls it.

GET ?api-version=2019-08-01&resource=...&client_id=... (or object_id / principal_id) with X-IDENTITY-HEADER
(https://learn.microsoft.com/azure/app-service/overview-managed-identity#rest-endpoint-reference). It is served on
the plain-http listener, as App Service's own endpoint is http on localhost. Errors are App Service's
{"statusCode", "message"} bodies, which msal turns into {"error": "invalid_scope", "error_description": ...}."""

from __future__ import annotations

import hmac
import secrets
import uuid

from flask import Blueprint, Response, request

from .credentials import TOKEN_EXCHANGE_APP_ID, TOKEN_EXCHANGE_AUDIENCE, ManagedIdentity
from .errors import TOKEN_HEADERS, json_response
from .keys import b64url
from .runtime import current_state, current_urls

bp = Blueprint("managed_identity", __name__)
PATH = "/msi/token"
API_VERSION = "2019-08-01"
# App Service's wording for an identity it does not hold.
NOT_FOUND = "No User Assigned or Delegated Managed Identity found for specified ClientId/ResourceId/PrincipalId."


class _Refusal(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


def _refuse(exc: _Refusal) -> Response:
    return json_response({"statusCode": exc.status, "message": exc.message}, exc.status)


bp.register_error_handler(_Refusal, _refuse)


def _identity() -> ManagedIdentity:
    """Check the version and the secret header, then find the identity asked for."""
    if request.args.get("api-version") != API_VERSION:
        raise _Refusal(400, f"api-version must be {API_VERSION} with the X-IDENTITY-HEADER header.")
    presented = request.headers.get("X-IDENTITY-HEADER")
    if not presented:
        raise _Refusal(400, "The X-IDENTITY-HEADER header is required.")
    state = current_state()
    # With X-IDENTITY-HEADER, a wrong secret is a 401 (Azure/azure-sdk-for-js#11595 observed 401 there).
    if not hmac.compare_digest(presented.encode(), state.identity_header.encode()):
        raise _Refusal(401, "Unauthorized.")
    if not request.args.get("resource"):
        raise _Refusal(400, "The resource parameter is required.")
    client_id = request.args.get("client_id")
    object_id = request.args.get("object_id") or request.args.get("principal_id")
    # The mock's App Service has no system-assigned identity: a request naming none finds none.
    identity = state.credentials.find_managed_identity(client_id, object_id)
    if identity is None:
        raise _Refusal(400, NOT_FOUND)
    return identity


@bp.get(PATH, endpoint="managed_identity_token")
def token() -> Response:
    """An app-only v2.0 token for the identity, signed by the tenant's keys (sub and oid = its principal id)."""
    identity = _identity()
    state, urls = current_state(), current_urls()
    resource = request.args["resource"]
    tenant_id = state.config.tenant_id
    iat = int(state.now())
    exp = iat + int(state.setting("access_token_lifetime"))
    claims = {
        # A token for api://AzureADTokenExchange carries the token-exchange app's id as aud.
        "aud": TOKEN_EXCHANGE_APP_ID if resource.rstrip("/") == TOKEN_EXCHANGE_AUDIENCE else resource,
        "iss": urls.issuer_for(tenant_id),
        "iat": iat,
        "nbf": iat,
        "exp": exp,
        "aio": secrets.token_urlsafe(24),
        "azp": identity.client_id,
        "azpacr": "2",
        "idtyp": "app",
        "oid": identity.principal_id,
        "rh": "1.A" + secrets.token_urlsafe(16) + ".",
        "sub": identity.principal_id,
        "tid": tenant_id,
        "uti": b64url(uuid.uuid4().bytes),
        "ver": "2.0",
        "xms_mirid": f"/subscriptions/mock/resourcegroups/mock/providers/Microsoft.ManagedIdentity/"
        f"userAssignedIdentities/{identity.client_id}",
    }
    body = {
        "access_token": state.keys.sign(claims, {"x5t": state.keys.x5t}),  # Entra's tokens carry x5t and kid
        # Epoch seconds on the mock's clock, as a string like App Service's.
        "expires_on": str(exp),
        "resource": resource,
        "token_type": "Bearer",
        "client_id": identity.client_id,
    }
    return json_response(body, 200, TOKEN_HEADERS)
