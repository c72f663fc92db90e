"""The mock's workload-identity issuer (like an AKS cluster's OIDC issuer): its discovery document and JWKS.

Its tokens come from MockState.mint_workload_token; an app presents one as client_assertion to an app with a
federated identity credential for this issuer (reference section 3)."""

from __future__ import annotations

from flask import Blueprint, Response

from .credentials import WORKLOAD_ISSUER_PATH
from .discovery import DISCOVERY_HEADERS
from .errors import json_response
from .runtime import current_state, current_urls

bp = Blueprint("workload_issuer", __name__, url_prefix=WORKLOAD_ISSUER_PATH)
JWKS_PATH = "/openid/v1/jwks"  # where a Kubernetes API server publishes its service-account keys


def issuer_url() -> str:
    """This issuer's iss, under the back channel's base URL."""
    return current_urls().base_url + WORKLOAD_ISSUER_PATH


@bp.get("/.well-known/openid-configuration", endpoint="workload_discovery")
def discovery() -> Response:
    """The OIDC metadata a Kubernetes issuer publishes (only what a relying party reads)."""
    issuer = issuer_url()
    document = {
        "issuer": issuer,
        "jwks_uri": issuer + JWKS_PATH,
        "response_types_supported": ["id_token"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
    }
    return json_response(document, 200, DISCOVERY_HEADERS)


@bp.get(JWKS_PATH, endpoint="workload_jwks")
def jwks() -> Response:
    """The issuer's one signing key."""
    key = current_state().workload_issuer_key.jwk(issuer_url())
    return json_response({"keys": [key]}, 200, DISCOVERY_HEADERS)
