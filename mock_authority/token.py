"""The token endpoint: client authentication, the authorization_code (PKCE) and refresh_token grants, at an
Entra tenant path or a B2C user flow's."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Sequence

from flask import Blueprint, Response, g, request
from werkzeug.datastructures import MultiDict

from . import b2c, scopes, tokens
from .client_auth import authenticate_client
from .client_credentials_grant import redeem_client_credentials
from .conditional_access import check_code, check_refresh, session_claims
from .errors import TOKEN_HEADERS, EntraError, json_response
from .memberships import id_token_claims
from .models import AuthCode, Client, RefreshGrant
from .runtime import check_tenant, current_state, current_urls
from .tenants import TenantPath
from .users import DemoUser

bp = Blueprint("token", __name__)

EXPIRED = (
    "The provided authorization code or refresh token has expired due to inactivity. Send a new "
    "interactive authorization request for this user and resource."
)
MALFORMED = "Invalid request. Request is malformed or invalid."
OTHER_TENANT = "Provided Authorization Code is intended to use against other tenant, thus rejected."
Form = MultiDict[str, str]


def _missing(parameter: str) -> EntraError:
    return EntraError(
        "invalid_request", 900144, f"The request body must contain the following parameter: '{parameter}'."
    )


def _invalid_grant(code: int, text: str, **extra: str) -> EntraError:
    return EntraError("invalid_grant", code, text, extra=extra)


def _pkce_s256(verifier: str) -> str:
    return tokens.b64url(hashlib.sha256(verifier.encode("ascii", "replace")).digest())


def _id_token(
    *,
    client_id: str,
    tenant_id: str,
    user: DemoUser,
    nonce: str | None,
    sid: str,
    requested: Sequence[str],
    auth_time: int | None,
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
        scopes=requested,
    )
    if auth_time is not None:  # max_age was sent: msal then requires auth_time (OIDC Core section 3.1.2.1)
        claims["auth_time"] = auth_time
    client = state.clients.get(client_id)
    claims |= id_token_claims(
        state.memberships,
        client_id=client_id,
        group_membership_claims=client.group_membership_claims if client else None,
        tenant_id=tenant_id,
        oid=user.oid,
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
    uri_form: bool = False,
    auth_time: int | None = None,
) -> Response:
    """The token response: access token (v1 shape), optional refresh token and ID token, client_info.

    resources: the granted Graph permissions (canonical names; B2C: its scopes as sent)."""
    state = current_state()
    user = state.find_user(user_oid)
    if user is None:
        raise _invalid_grant(50034, "The user account does not exist in the directory.")
    flow: b2c.UserFlow | None = g.get("user_flow")
    if flow is not None:
        return _b2c_token_success(
            client_id=client_id,
            user=user,
            sid=sid,
            resources=resources,
            requested_scopes=requested_scopes,
            nonce=nonce,
            want_client_info=want_client_info,
            flow=flow,
        )
    now, settings = state.now(), state.settings
    at_lifetime = settings["access_token_lifetime"]
    # A user of another tenant signing in through common/organizations gets tokens from that tenant.
    tenant_id = user.home_tenant(state.config.tenant_id)
    scp = " ".join((*resources, "profile", "openid", "email"))
    access_token = tokens.sign_graph_token(
        state.keys,
        tokens.access_token_claims(
            now=now,
            lifetime=at_lifetime,
            sts_issuer=current_urls().issuer_for(tenant_id, "1.0"),
            client_id=client_id,
            tenant_id=tenant_id,
            user=user,
            scp=scp,
        )
        | session_claims(sid),
        {"x5t": state.keys.x5t},
    )
    body: dict[str, object] = {
        "token_type": "Bearer",
        "scope": scopes.response_scope(resources, uri_form),
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
            client_id=client_id,
            tenant_id=tenant_id,
            user=user,
            nonce=nonce,
            sid=sid,
            requested=requested_scopes,
            auth_time=auth_time,
        )
        if id_token is not None:
            body["id_token"] = id_token
    if want_client_info:
        body["client_info"] = tokens.client_info(user.oid, tenant_id)
    return json_response(body, 200, TOKEN_HEADERS)


def _b2c_token_success(
    *,
    client_id: str,
    user: DemoUser,
    sid: str,
    resources: tuple[str, ...],
    requested_scopes: Sequence[str],
    nonce: str | None,
    want_client_info: bool,
    flow: b2c.UserFlow,
) -> Response:
    """B2C's token response: its ID token (tfp), an access token for the demo API's scopes (resources), a refresh
    token for offline_access, B2C's client_info."""
    state = current_state()
    now, settings = state.now(), state.settings
    resources = b2c.api_scopes(resources, state.config.tenant_domain, now)
    lowered = {s.lower() for s in requested_scopes}
    refresh_token = None
    if "offline_access" in lowered:
        refresh_token = state.grants.add_refresh_token(
            RefreshGrant(
                user_oid=user.oid,
                client_id=client_id,
                scopes=resources,
                sid=sid,
                expires_at=now + settings["refresh_token_lifetime"],
                policy=flow.name,
            )
        )
    lifetime = int(settings["id_token_lifetime"])
    id_token = None
    if "openid" in lowered:
        claims = b2c.id_token_claims(
            now=now,
            lifetime=lifetime,
            issuer=current_urls().b2c_issuer(state.config.tenant_id),
            client_id=client_id,
            user=user,
            nonce=nonce,
            flow=flow,
        )
        id_token = state.keys.sign(claims)
    at_lifetime, access_token = int(settings["access_token_lifetime"]), None
    if resources:
        claims = b2c.access_token_claims(
            now=now,
            lifetime=at_lifetime,
            issuer=current_urls().b2c_issuer(state.config.tenant_id),
            client_id=client_id,
            user=user,
            nonce=nonce,
            flow=flow,
            scopes=resources,
        )
        access_token = state.keys.sign(claims)
    granted = [*resources, *(s for s in ("offline_access", "openid") if s in lowered)]
    body = b2c.token_body(
        id_token=id_token,
        refresh_token=refresh_token,
        access_token=access_token,
        scopes=granted,
        lifetime=lifetime,
        access_token_lifetime=at_lifetime,
        now=now,
    )
    if want_client_info:
        body["client_info"] = b2c.b2c_client_info(user.oid, flow, state.config.tenant_id)
    return json_response(body, 200, TOKEN_HEADERS)


def _check_issued_here(code: AuthCode) -> None:
    """A code is redeemed at the authority it was issued at: the same tenant (its GUID and domain are one, as
    are consumers and the MSA GUID) and, for B2C, a user-flow path (AADSTS700005 otherwise)."""
    here: TenantPath = g.tenant_path
    issued = check_tenant(code.tenant)
    if not here.same_tenant(issued) or (code.policy is None) != (g.get("user_flow") is None):
        raise _invalid_grant(700005, OTHER_TENANT)


def _consent_required(client_id: str, missing: Sequence[str]) -> EntraError:
    return _invalid_grant(
        65001,
        f"The user or administrator has not consented to use the application with ID '{client_id}'. Send an "
        f"interactive authorization request for this user and resource (missing: {' '.join(missing)}).",
        suberror="consent_required",
    )


def _granted(
    requested: Sequence[str], client_id: str, user_oid: str, otherwise: tuple[str, ...]
) -> tuple[tuple[str, ...], bool]:
    """(Graph permissions the token carries, whether the request used full URIs): those requested, each of them
    consented (else AADSTS65001, suberror consent_required); every consented one for .default; `otherwise` when
    only OpenID scopes are asked for (msal's silent refresh). Never more than is consented."""
    state = current_state()
    wanted = scopes.parse(requested)
    user = state.find_user(user_oid)
    if user is None:
        raise _invalid_grant(50034, "The user account does not exist in the directory.")
    granted = state.consents.granted(user.home_tenant(state.config.tenant_id), user.oid, client_id)
    if wanted.default:
        return scopes.resource_permissions(granted), wanted.uri_form
    missing = [p for p in wanted.permissions if p not in granted]
    if missing:
        raise _consent_required(client_id, missing)
    return wanted.permissions or tuple(p for p in otherwise if p in granted), wanted.uri_form


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
    _check_issued_here(code)
    check_code(code)
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
    if g.get("user_flow") is not None:
        resources, uri_form = tokens.resource_scopes(requested) or tokens.resource_scopes(code.scopes), False
    else:
        resources, uri_form = _granted(
            requested, client.client_id, code.user_oid, scopes.parse(code.scopes).permissions
        )
    return _token_success(
        client_id=client.client_id,
        user_oid=code.user_oid,
        sid=code.sid,
        resources=resources,
        requested_scopes=requested,
        nonce=code.nonce,
        want_client_info=form.get("client_info") == "1",
        uri_form=uri_form,
        auth_time=code.auth_time,
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
    check_refresh(value, grant)
    requested = tokens.split_scopes(form.get("scope"))
    # A refresh token is good for every permission consented for the resource; with OpenID scopes alone (msal's
    # silent refresh) Entra grants what the refresh token was issued for.
    uri_form = False
    if grant.policy is not None:
        resources = tokens.resource_scopes(requested) or grant.scopes
        missing = [s for s in resources if s not in grant.scopes]
        if missing:
            raise _consent_required(client.client_id, missing)
    else:
        resources, uri_form = _granted(requested, client.client_id, grant.user_oid, grant.scopes)
    return _token_success(
        client_id=client.client_id,
        user_oid=grant.user_oid,
        sid=grant.sid,
        resources=resources,
        requested_scopes=requested or ["openid", "profile"],
        nonce=None,
        want_client_info=form.get("client_info") == "1",
        uri_form=uri_form,
    )


GRANTS: dict[str, Callable[[Form, Client], Response]] = {
    "authorization_code": _redeem_code,
    "refresh_token": _redeem_refresh_token,
    "client_credentials": redeem_client_credentials,
}


@bp.post("/<tenant>/oauth2/v2.0/token", endpoint="token")
@bp.post("/<tenant>/<b2c_policy:policy>/oauth2/v2.0/token", endpoint="token")
def token(tenant: str, policy: str | None = None) -> Response:
    """The token endpoint: authorization_code (with PKCE) and refresh_token grants."""
    g.tenant_path = check_tenant(tenant)
    if policy is not None:
        g.user_flow = b2c.user_flow(policy)
        if g.tenant_path.kind != "tenant" or g.user_flow is None:
            raise EntraError("invalid_request", 90002, f"The policy '{policy}' does not exist in tenant '{tenant}'.")
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
