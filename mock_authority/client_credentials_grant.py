"""The client_credentials grant: an app-only access token for one resource's /.default scope."""

from __future__ import annotations

import secrets
import uuid

from flask import Response

from . import tokens
from .client_auth import Form, credential_kind
from .errors import TOKEN_HEADERS, EntraError, json_response
from .models import Client
from .runtime import current_state, current_urls

DEFAULT_SUFFIX = "/.default"


def _resource(scope_parameter: str | None) -> str:
    """The one resource a client-credentials request may name, as <resource>/.default."""
    scopes = tokens.split_scopes(scope_parameter)
    if not scopes:
        raise EntraError("invalid_request", 900144, "The request body must contain the following parameter: 'scope'.")
    for scope in scopes:
        if not scope.endswith(DEFAULT_SUFFIX) or scope == DEFAULT_SUFFIX:
            # Wording as observed (MicrosoftDocs/azure-docs#99862, microsoftgraph/microsoft-graph-docs#14323).
            raise EntraError(
                "invalid_scope",
                1002012,
                f"The provided value for scope {scope} is not valid. Client credential flows must have a scope "
                "value with /.default suffixed to the resource identifier (application ID URI).",
            )
    resources = {scope[: -len(DEFAULT_SUFFIX)] for scope in scopes}
    if len(resources) > 1:
        raise EntraError(
            "invalid_scope",
            70011,
            f"The provided value for the input parameter 'scope' is not valid. The scope {' '.join(scopes)} is not "
            "valid. A token can be issued for one resource only.",
        )
    return resources.pop()


def redeem_client_credentials(form: Form, client: Client) -> Response:
    """The token response of the client_credentials grant: no refresh token, no ID token."""
    resource = _resource(form.get("scope"))
    state = current_state()
    tenant_id = state.config.tenant_id
    lifetime = int(state.setting("access_token_lifetime"))
    iat = int(state.now())
    graph = resource.rstrip("/").lower() == tokens.GRAPH_RESOURCE.rstrip("/")
    # The app's service principal in this tenant: one stable object id per app.
    principal = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{tenant_id}/{client.client_id}"))
    claims: tokens.Claims = {
        "aud": tokens.GRAPH_APP_ID if graph else resource,
        "iss": current_urls().issuer_for(tenant_id, "1.0"),
        "iat": iat,
        "nbf": iat,
        "exp": iat + lifetime,
        "aio": secrets.token_urlsafe(24),
        "app_displayname": "mock-authority client",
        "appid": client.client_id,
        # 1: a secret; 2: a certificate or a federated assertion.
        "appidacr": "1" if credential_kind() == "secret" else "2",
        "idp": current_urls().issuer_for(tenant_id, "1.0"),
        "idtyp": "app",
        "oid": principal,
        "rh": "1.A" + secrets.token_urlsafe(16) + ".",
        "sub": principal,
        "tid": tenant_id,
        "uti": secrets.token_urlsafe(16),
        "ver": "1.0",
        # No roles claim: the mock grants no application permissions, and Entra leaves the claim out then.
    }
    body = {
        "token_type": "Bearer",
        "expires_in": lifetime,
        "ext_expires_in": lifetime,
        "access_token": state.keys.sign(claims, {"x5t": state.keys.x5t}),
    }
    return json_response(body, 200, TOKEN_HEADERS)
