"""The token endpoint: client authentication, the authorization_code (PKCE) and refresh_token grants."""

from __future__ import annotations

import hashlib
import hmac
import urllib.parse
from collections.abc import Callable, Sequence

from flask import Blueprint, Response, g, request
from werkzeug.datastructures import MultiDict

from . import tokens
from .errors import TOKEN_HEADERS, EntraError, json_response
from .models import Client, RefreshGrant
from .runtime import check_tenant, current_state, current_urls
from .users import DemoUser

bp = Blueprint("token", __name__)

EXPIRED = (
    "The provided authorization code or refresh token has expired due to inactivity. Send a new "
    "interactive authorization request for this user and resource."
)
MALFORMED = "Invalid request. Request is malformed or invalid."
Form = MultiDict[str, str]


def _missing(parameter: str) -> EntraError:
    return EntraError(
        "invalid_request", 900144, f"The request body must contain the following parameter: '{parameter}'."
    )


def _invalid_grant(code: int, text: str, **extra: str) -> EntraError:
    return EntraError("invalid_grant", code, text, extra=extra)


def _invalid_client(code: int, text: str) -> EntraError:
    return EntraError("invalid_client", code, text, status=401)


def _pkce_s256(verifier: str) -> str:
    return tokens.b64url(hashlib.sha256(verifier.encode("ascii", "replace")).digest())


def authenticate_client(form: Form) -> Client:
    """Resolve the client from client_secret_post or client_secret_basic."""
    state = current_state()
    client_id, secret = form.get("client_id"), form.get("client_secret")
    auth = request.authorization
    if auth is not None and auth.type == "basic":
        # RFC 6749 2.3.1: Basic credentials are form-urlencoded before base64.
        basic_id = urllib.parse.unquote_plus(auth.username or "")
        if client_id and client_id != basic_id:
            raise EntraError(
                "invalid_request", 900144, "client_id in the body does not match the Authorization header."
            )
        client_id, secret = basic_id, urllib.parse.unquote_plus(auth.password or "")
    g.client_id = client_id
    if not client_id:
        raise _missing("client_id")
    client = state.clients.get(client_id)
    if client is None:
        raise EntraError(
            "unauthorized_client",
            700016,
            f"Application with identifier '{client_id}' was not found in the directory '{state.config.tenant_id}'.",
        )
    if form.get("client_assertion"):
        raise _invalid_client(
            700027, "Client assertion failed signature validation: the mock accepts only client secrets."
        )
    if not secret:
        # Observed as 401 invalid_client (the reference table lists invalid_request).
        raise _invalid_client(
            7000218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'."
        )
    if not client.secret_matches(secret):
        raise _invalid_client(
            7000215,
            "Invalid client secret provided. Ensure the secret being sent in the request "
            "is the client secret value, not the client secret ID, for a secret added to "
            f"app '{client_id}'.",
        )
    return client


def _id_token(
    *, client_id: str, tenant_id: str, user: DemoUser, nonce: str | None, sid: str, scopes: Sequence[str]
) -> str | None:
    """The ID token, with the defect a queued id_token_* fault asks for (None: left out)."""
    state = current_state()
    fault = g.get("fault")
    defect = fault.kind if fault is not None and fault.kind.startswith("id_token_") else None
    if defect == "id_token_missing":
        return None
    lifetime = state.setting("id_token_lifetime")
    claims = tokens.id_token_claims(
        now=state.now(),
        lifetime=lifetime,
        issuer=current_urls().issuer_for(tenant_id),
        client_id=client_id,
        tenant_id=tenant_id,
        user=user,
        nonce=nonce,
        sid=sid,
        scopes=scopes,
    )
    if defect:
        claims = tokens.apply_id_token_fault(defect, claims, lifetime)
    signer = state.rogue_key if defect == "id_token_unknown_kid" else state.keys
    id_token = signer.sign(claims)
    return tokens.break_signature(id_token) if defect == "id_token_bad_signature" else id_token


def _token_success(
    *,
    client_id: str,
    user_oid: str,
    sid: str,
    resources: tuple[str, ...],
    requested_scopes: Sequence[str],
    nonce: str | None,
    want_client_info: bool,
) -> Response:
    """The token response: access token (v1 shape), optional refresh token and ID token, client_info."""
    state = current_state()
    user = state.find_user(user_oid)
    if user is None:
        raise _invalid_grant(50034, "The user account does not exist in the directory.")
    now, settings = state.now(), state.settings
    at_lifetime = settings["access_token_lifetime"]
    # A user of another tenant signing in through common/organizations gets tokens from that tenant.
    tenant_id = user.home_tenant(state.config.tenant_id)
    scp = " ".join((*(tokens.short_scope(s) for s in resources), "profile", "openid", "email"))
    access_token = state.keys.sign(
        tokens.access_token_claims(
            now=now,
            lifetime=at_lifetime,
            sts_issuer=current_urls().issuer_for(tenant_id, "1.0"),
            client_id=client_id,
            tenant_id=tenant_id,
            user=user,
            scp=scp,
        ),
        {"x5t": state.keys.x5t},
    )
    body: dict[str, object] = {
        "token_type": "Bearer",
        "scope": tokens.granted_scope_string(resources),
        "expires_in": int(at_lifetime),
        "ext_expires_in": int(at_lifetime),
        "access_token": access_token,
    }
    lowered = {s.lower() for s in requested_scopes}
    if "offline_access" in lowered:
        body["refresh_token"] = state.grants.add_refresh_token(
            RefreshGrant(
                user_oid=user.oid,
                client_id=client_id,
                scopes=resources,
                sid=sid,
                expires_at=now + settings["refresh_token_lifetime"],
            )
        )
    if "openid" in lowered:
        id_token = _id_token(
            client_id=client_id, tenant_id=tenant_id, user=user, nonce=nonce, sid=sid, scopes=requested_scopes
        )
        if id_token is not None:
            body["id_token"] = id_token
    if want_client_info:
        body["client_info"] = tokens.client_info(user.oid, tenant_id)
    return json_response(body, 200, TOKEN_HEADERS)


def _redeem_code(form: Form, client: Client) -> Response:
    state = current_state()
    value = form.get("code")
    if not value:
        raise _missing("code")
    code, already = state.grants.claim_code(value)
    if code is None or code.client_id != client.client_id:
        raise _invalid_grant(9002313, MALFORMED)
    if already:
        raise _invalid_grant(
            54005,
            "OAuth2 Authorization code was already redeemed, please retry with a new "
            "valid code or use an existing refresh token.",
        )
    if code.expires_at < state.now():
        raise _invalid_grant(70008, EXPIRED)
    if form.get("redirect_uri") != code.redirect_uri:
        raise _invalid_grant(
            500112,
            f"The reply address '{form.get('redirect_uri')}' does not match the reply "
            f"address '{code.redirect_uri}' provided when requesting Authorization code.",
        )
    verifier = form.get("code_verifier")
    if not verifier or not hmac.compare_digest(_pkce_s256(verifier), code.code_challenge):
        raise _invalid_grant(
            501481, "The Code_Verifier does not match the code_challenge supplied in the authorization request."
        )
    requested = tokens.split_scopes(form.get("scope")) or list(code.scopes)
    return _token_success(
        client_id=client.client_id,
        user_oid=code.user_oid,
        sid=code.sid,
        resources=tokens.resource_scopes(requested) or tokens.resource_scopes(code.scopes),
        requested_scopes=requested,
        nonce=code.nonce,
        want_client_info=form.get("client_info") == "1",
    )


def _redeem_refresh_token(form: Form, client: Client) -> Response:
    state = current_state()
    value = form.get("refresh_token")
    if not value:
        raise _missing("refresh_token")
    grant = state.grants.get_refresh_grant(value)
    if grant is None or grant.client_id != client.client_id:
        raise _invalid_grant(9002313, MALFORMED)
    if grant.expires_at < state.now():
        raise _invalid_grant(70008, EXPIRED)
    requested = tokens.split_scopes(form.get("scope"))
    # msal's silent refresh sends only OIDC scopes; Entra then grants what was consented before.
    resources = tokens.resource_scopes(requested) or grant.scopes
    missing = [s for s in resources if s not in grant.scopes]
    if missing:
        raise _invalid_grant(
            65001,
            f"The user or administrator has not consented to use the application with "
            f"ID '{client.client_id}'. Send an interactive authorization request for "
            f"this user and resource (missing: {' '.join(missing)}).",
            suberror="consent_required",
        )
    return _token_success(
        client_id=client.client_id,
        user_oid=grant.user_oid,
        sid=grant.sid,
        resources=resources,
        requested_scopes=requested or ["openid", "profile"],
        nonce=None,
        want_client_info=form.get("client_info") == "1",
    )


GRANTS: dict[str, Callable[[Form, Client], Response]] = {
    "authorization_code": _redeem_code,
    "refresh_token": _redeem_refresh_token,
}


@bp.post("/<tenant>/oauth2/v2.0/token", endpoint="token")
def token(tenant: str) -> Response:
    """The token endpoint: authorization_code (with PKCE) and refresh_token grants."""
    check_tenant(tenant)
    form = request.form
    client = authenticate_client(form)
    grant_type = form.get("grant_type")
    if not grant_type:
        raise _missing("grant_type")
    if grant_type not in GRANTS:
        raise EntraError(
            "unsupported_grant_type", 70003, f"The app requested an unsupported grant type '{grant_type}'."
        )
    return GRANTS[grant_type](form, client)
