"""OpenID Provider metadata (v2.0 and v1.0 documents from one builder, B2C's per user flow) and the signing keys."""

from __future__ import annotations

import urllib.parse

from flask import Blueprint, Response, abort

from . import b2c
from .clouds import cloud_for
from .errors import json_response
from .runtime import check_tenant, current_state, current_urls
from .tenants import TenantPath

bp = Blueprint("discovery", __name__)

DISCOVERY_HEADERS = {"Cache-Control": "max-age=86400, private"}
AUTH_METHODS = ["client_secret_post", "private_key_jwt", "client_secret_basic"]
V2_CLAIMS = [
    "sub",
    "iss",
    "cloud_instance_name",
    "cloud_instance_host_name",
    "cloud_graph_host_name",
    "msgraph_host",
    "aud",
    "exp",
    "iat",
    "auth_time",
    "acr",
    "nonce",
    "preferred_username",
    "name",
    "tid",
    "ver",
    "at_hash",
    "c_hash",
    "email",
]


def discovery_document(path: TenantPath, version: str) -> dict[str, object]:
    """The metadata at /<tenant>[/v2.0]/.well-known/openid-configuration, in Entra's key order."""
    urls = current_urls()
    v2 = version == "2.0"
    tenant = path.endpoint_segment
    back, front = f"{urls.base_url}/{tenant}", f"{urls.front_url}/{tenant}"
    oauth2 = "oauth2/v2.0" if v2 else "oauth2"
    doc: dict[str, object] = {
        "token_endpoint": f"{back}/{oauth2}/token",
        "token_endpoint_auth_methods_supported": AUTH_METHODS,
        "jwks_uri": f"{back}/discovery/v2.0/keys" if v2 else f"{back}/discovery/keys",
        # The mock implements only the query response mode and the code flow.
        "response_modes_supported": ["query"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "response_types_supported": ["code"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"] if v2 else ["openid"],
        "issuer": urls.issuer_at(path, version),
    }
    if v2:
        doc["request_uri_parameter_supported"] = False
        doc["userinfo_endpoint"] = f"{urls.base_url}/oidc/userinfo"
    else:
        doc["microsoft_multi_refresh_token"] = True
    doc.update(
        {
            "authorization_endpoint": f"{front}/{oauth2}/authorize",
            "http_logout_supported": True,
            "frontchannel_logout_supported": True,
            "end_session_endpoint": f"{front}/{oauth2}/logout",
        }
    )
    if v2:
        doc["claims_supported"] = V2_CLAIMS
        doc["kerberos_endpoint"] = f"{back}/kerberos"
    else:
        doc["check_session_iframe"] = f"{front}/oauth2/checksession"
        doc["userinfo_endpoint"] = f"{back}/openid/userinfo"
    base_netloc = urllib.parse.urlsplit(urls.base_url).netloc
    cloud = cloud_for(urllib.parse.urlsplit(urls.base_url).hostname or "")
    doc.update(
        {
            "tenant_region_scope": None if path.multi_tenant or path.kind == "consumers" else "WW",
            "cloud_instance_name": cloud.instance_name,
            "cloud_graph_host_name": cloud.graph_host,
            "msgraph_host": cloud.msgraph_host or base_netloc,
            "rbac_url": "https://pas.windows.net",
        }
    )
    return doc


def b2c_tenant(tenant: str, policy: str) -> tuple[TenantPath, b2c.UserFlow]:
    """A B2C authority path: the mock's tenant (GUID or domain) and a registered user flow; else B2C's 404."""
    path = check_tenant(tenant)
    flow = b2c.user_flow(policy)
    if path.kind != "tenant" or flow is None:
        abort(404)
    return path, flow


def b2c_document(tenant: str, policy: str) -> dict[str, object]:
    path, flow = b2c_tenant(tenant, policy)
    urls = current_urls()
    suffix = f"{path.segment}/{flow.name.lower()}"
    issuer = urls.b2c_issuer(path.tenant_id or urls.tenant_id)
    return b2c.discovery_document(f"{urls.base_url}/{suffix}", f"{urls.front_url}/{suffix}", issuer)


@bp.get("/<tenant>/v2.0/.well-known/openid-configuration", endpoint="discovery_v2")
@bp.get("/<tenant>/<b2c_policy:policy>/v2.0/.well-known/openid-configuration", endpoint="discovery_v2")
def discovery_v2(tenant: str, policy: str | None = None) -> Response:
    """OpenID Provider metadata, v2.0 (at a B2C user flow: that flow's)."""
    if policy is not None:
        return json_response(b2c_document(tenant, policy), 200, DISCOVERY_HEADERS)
    return json_response(discovery_document(check_tenant(tenant), "2.0"), 200, DISCOVERY_HEADERS)


@bp.get("/<tenant>/.well-known/openid-configuration", endpoint="discovery_v1")
@bp.get("/<tenant>/<b2c_policy:policy>/.well-known/openid-configuration", endpoint="discovery_v1")
def discovery_v1(tenant: str, policy: str | None = None) -> Response:
    """OpenID Provider metadata, v1.0 (what identity reads for its end_session_endpoint; B2C serves its one
    document there too)."""
    if policy is not None:
        return json_response(b2c_document(tenant, policy), 200, DISCOVERY_HEADERS)
    return json_response(discovery_document(check_tenant(tenant), "1.0"), 200, DISCOVERY_HEADERS)


@bp.get("/<tenant>/discovery/v2.0/keys", endpoint="jwks")
@bp.get("/<tenant>/<b2c_policy:policy>/discovery/v2.0/keys", endpoint="jwks")
@bp.get("/<tenant>/discovery/keys", endpoint="jwks_v1")
def jwks(tenant: str, policy: str | None = None) -> Response:
    """The signing keys; keys served at common/organizations carry the issuer template."""
    urls = current_urls()
    if policy is not None:
        path, _ = b2c_tenant(tenant, policy)
        issuer = urls.b2c_issuer(path.tenant_id or urls.tenant_id)
    else:
        issuer = urls.issuer_at(check_tenant(tenant))
    keys = [key.jwk(issuer) for key in current_state().published_keys()]
    return json_response({"keys": keys}, 200, DISCOVERY_HEADERS)
