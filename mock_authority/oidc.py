"""Identity-platform endpoints: discovery (v1/v2), JWKS, authorize with account picker, token, logout."""

from __future__ import annotations

import hashlib
import hmac
import time
import urllib.parse

from flask import Blueprint, g, make_response, redirect, render_template, request

from . import tokens
from .errors import entra_error_fields, json_response
from .runtime import current_state, current_urls
from .state import AuthCode, PendingAuthorization, RefreshGrant

bp = Blueprint("oidc", __name__)

SSO_COOKIE = "MOCK_ESTSAUTH"
MULTI_TENANT = ("common", "organizations")
PROMPTS = frozenset({"login", "none", "consent", "select_account", "create"})
TENANT_TEMPLATE = "{tenantid}"
TOKEN_HEADERS = {"Cache-Control": "no-store, no-cache", "Pragma": "no-cache"}
DISCOVERY_HEADERS = {"Cache-Control": "max-age=86400, private"}


# -- helpers -----------------------------------------------------------------


def _tenant_known(tenant: str) -> bool:
    return tenant.lower() in (current_state().config.tenant_id.lower(), *MULTI_TENANT)


def _error_json(status: int, error: str, code: int, text: str, headers: dict | None = None, **extra):
    body = entra_error_fields(current_state().now(), error, code, text, current_urls().front_url)
    body.update(extra)
    return json_response(body, status, {**TOKEN_HEADERS, **(headers or {})})


def _unknown_tenant_json(tenant: str):
    return _error_json(
        400,
        "invalid_tenant",
        90002,
        f"Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID "
        "and are signing into the correct cloud.",
    )


def _error_page(code: int, text: str, status: int = 400):
    """Entra's own error page: shown in the browser, no redirect to the app."""
    fields = entra_error_fields(current_state().now(), "", code, text, current_urls().front_url)
    html = render_template(
        "error.html",
        code=code,
        text=text,
        trace_id=fields["trace_id"],
        correlation_id=fields["correlation_id"],
        timestamp=fields["timestamp"],
    )
    return make_response(html, status)


def _simple_fault(endpoint: str):
    """Apply a queued status/slow fault for discovery, jwks or logout; None means answer normally."""
    fault = current_state().take_fault(endpoint)
    if fault is None:
        return None
    if fault.kind == "slow":
        time.sleep(fault.params["delay"])
        return None
    status = fault.params["status"]
    error = "temporarily_unavailable" if status == 503 else "server_error" if status >= 500 else "invalid_request"
    code = 90033 if status >= 500 else 90100
    headers = {}
    if "retry_after" in fault.params or status in (429, 503):
        headers["Retry-After"] = str(int(fault.params.get("retry_after", 5)))
    return _error_json(status, error, code, f"Injected {endpoint} fault (HTTP {status}).", headers)


def _with_query(uri: str, params: dict) -> str:
    """Append parameters to a redirect URI that may already carry a query."""
    query = urllib.parse.urlencode({k: v for k, v in params.items() if v is not None})
    return f"{uri}{'&' if '?' in uri else '?'}{query}"


def _normalize(uri: str) -> urllib.parse.SplitResult:
    parts = urllib.parse.urlsplit(uri)
    return parts._replace(path=parts.path or "/")  # Entra appends "/" to a URI without a path


def _is_http_localhost(parts: urllib.parse.SplitResult) -> bool:
    return parts.scheme == "http" and parts.hostname in ("localhost", "127.0.0.1")


def _host_without_port(parts: urllib.parse.SplitResult) -> str:
    return parts.netloc.rsplit(":", 1)[0] if parts.port else parts.netloc


def redirect_uri_registered(uri: str, registered) -> bool:
    """Exact, case-sensitive match; the port is ignored for http://localhost (reference section 3)."""
    if not uri or len(uri) > 256:
        return False
    try:
        wanted = _normalize(uri)
        wanted.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        return False
    if wanted.fragment:
        return False
    for candidate in registered:
        have = _normalize(candidate)
        if _is_http_localhost(wanted) and _is_http_localhost(have):
            if (_host_without_port(wanted), wanted.path, wanted.query) == (
                _host_without_port(have),
                have.path,
                have.query,
            ):
                return True
        elif wanted.geturl() == have.geturl():
            return True
    return False


def _origin(parts: urllib.parse.SplitResult) -> tuple:
    return parts.scheme, (parts.hostname or "").lower(), parts.port


def origin_registered(uri: str, registered) -> bool:
    """True when the URI's origin is the origin of a registered redirect URI (localhost port ignored)."""
    try:
        wanted = urllib.parse.urlsplit(uri)
        _origin(wanted)
    except ValueError:
        return False
    if wanted.scheme not in ("http", "https") or not wanted.hostname:
        return False
    for candidate in registered:
        have = urllib.parse.urlsplit(candidate)
        if _is_http_localhost(wanted) and _is_http_localhost(have):
            if wanted.hostname == have.hostname:
                return True
        elif _origin(wanted) == _origin(have):
            return True
    return False


def _pkce_s256(verifier: str) -> str:
    return tokens.b64url(hashlib.sha256(verifier.encode("ascii", "replace")).digest())


# -- discovery and keys --------------------------------------------------------


def _discovery_v2(tenant: str) -> dict:
    urls = current_urls()
    state = current_state()
    multi = tenant.lower() in MULTI_TENANT
    tid = TENANT_TEMPLATE if multi else state.config.tenant_id
    back, front = f"{urls.base_url}/{tenant}", f"{urls.front_url}/{tenant}"
    return {
        "token_endpoint": f"{back}/oauth2/v2.0/token",
        "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
        "jwks_uri": f"{back}/discovery/v2.0/keys",
        # The mock implements only the query response mode and the code flow.
        "response_modes_supported": ["query"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "response_types_supported": ["code"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "issuer": f"{urls.base_url}/{tid}/v2.0",
        "request_uri_parameter_supported": False,
        "userinfo_endpoint": f"{urls.base_url}/oidc/userinfo",
        "authorization_endpoint": f"{front}/oauth2/v2.0/authorize",
        "http_logout_supported": True,
        "frontchannel_logout_supported": True,
        "end_session_endpoint": f"{front}/oauth2/v2.0/logout",
        "claims_supported": [
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
        ],
        "kerberos_endpoint": f"{back}/kerberos",
        "tenant_region_scope": None if multi else "WW",
        "cloud_instance_name": "microsoftonline.com",
        "cloud_graph_host_name": "graph.windows.net",
        "msgraph_host": urllib.parse.urlsplit(urls.base_url).netloc,
        "rbac_url": "https://pas.windows.net",
    }


def _discovery_v1(tenant: str) -> dict:
    urls = current_urls()
    multi = tenant.lower() in MULTI_TENANT
    tid = TENANT_TEMPLATE if multi else current_state().config.tenant_id
    back, front = f"{urls.base_url}/{tenant}", f"{urls.front_url}/{tenant}"
    return {
        "token_endpoint": f"{back}/oauth2/token",
        "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
        "jwks_uri": f"{back}/discovery/keys",
        "response_modes_supported": ["query"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "response_types_supported": ["code"],
        "scopes_supported": ["openid"],
        "issuer": f"{urls.base_url}/{tid}/",
        "microsoft_multi_refresh_token": True,
        "authorization_endpoint": f"{front}/oauth2/authorize",
        "http_logout_supported": True,
        "frontchannel_logout_supported": True,
        "end_session_endpoint": f"{front}/oauth2/logout",
        "check_session_iframe": f"{front}/oauth2/checksession",
        "userinfo_endpoint": f"{back}/openid/userinfo",
        "tenant_region_scope": None if multi else "WW",
        "cloud_instance_name": "microsoftonline.com",
        "cloud_graph_host_name": "graph.windows.net",
        "msgraph_host": urllib.parse.urlsplit(urls.base_url).netloc,
        "rbac_url": "https://pas.windows.net",
    }


@bp.get("/<tenant>/v2.0/.well-known/openid-configuration", endpoint="discovery_v2")
@bp.get("/<tenant>/.well-known/openid-configuration", endpoint="discovery_v1")
def discovery(tenant: str):
    """OpenID Provider metadata, v2.0 or v1.0 depending on the path."""
    fault = _simple_fault("discovery")
    if fault is not None:
        return fault
    if not _tenant_known(tenant):
        return _unknown_tenant_json(tenant)
    doc = _discovery_v2(tenant) if request.endpoint.endswith("discovery_v2") else _discovery_v1(tenant)
    return json_response(doc, 200, DISCOVERY_HEADERS)


@bp.get("/<tenant>/discovery/v2.0/keys", endpoint="jwks")
@bp.get("/<tenant>/discovery/keys", endpoint="jwks_v1")
def jwks(tenant: str):
    """The signing keys; keys served at common/organizations carry the issuer template."""
    fault = _simple_fault("jwks")
    if fault is not None:
        return fault
    if not _tenant_known(tenant):
        return _unknown_tenant_json(tenant)
    state, urls = current_state(), current_urls()
    tid = TENANT_TEMPLATE if tenant.lower() in MULTI_TENANT else state.config.tenant_id
    issuer = f"{urls.base_url}/{tid}/v2.0"
    return json_response({"keys": [key.jwk(issuer) for key in state.published_keys()]}, 200, DISCOVERY_HEADERS)


# -- authorize -----------------------------------------------------------------


def _redirect_error(redirect_uri: str, state_param, error: str, code: int, text: str, subcode=None):
    fields = entra_error_fields(current_state().now(), error, code, text, current_urls().front_url)
    return redirect(
        _with_query(
            redirect_uri,
            {
                "error": error,
                "error_description": fields["error_description"],
                "error_subcode": subcode,
                "state": state_param,
            },
        ),
        302,
    )


def _cancel_redirect(redirect_uri: str, state_param):
    return _redirect_error(
        redirect_uri,
        state_param,
        "access_denied",
        65004,
        "User declined to consent to access the app.",
        subcode="cancel",
    )


AUTHORIZE_FAULTS = {
    "access_denied": None,  # handled as a user cancel
    "server_error": (50000, "There was an error issuing a token or an issue with our sign-in service."),
    "interaction_required": (
        50076,
        "Due to a configuration change made by your administrator, or because "
        "you moved to a new location, you must use multi-factor authentication "
        "to access '00000003-0000-0000-c000-000000000000'.",
    ),
}


def _issue_code_redirect(pending: PendingAuthorization, user_oid: str, sid: str):
    state = current_state()
    code = state.add_code(
        AuthCode(
            client_id=pending.client_id,
            redirect_uri=pending.redirect_uri,
            scopes=pending.scopes,
            nonce=pending.nonce,
            code_challenge=pending.code_challenge,
            user_oid=user_oid,
            sid=sid,
            expires_at=state.now() + state.setting("code_lifetime"),
        )
    )
    return redirect(
        _with_query(
            pending.redirect_uri,
            {
                "code": code,
                "client_info": tokens.client_info(user_oid, state.config.tenant_id) if pending.client_info else None,
                "state": pending.state,
                "session_state": sid,
            },
        ),
        302,
    )


@bp.get("/<tenant>/oauth2/v2.0/authorize", endpoint="authorize")
def authorize(tenant: str):
    """Validate an authorization request and show the account picker (or answer prompt=none)."""
    state = current_state()
    args = request.args
    g.client_id = client_id = args.get("client_id")
    if not _tenant_known(tenant):
        return _error_page(90002, f"Tenant '{tenant}' not found.")
    if not client_id:
        return _error_page(900144, "The request body must contain the following parameter: 'client_id'.")
    client = state.clients.get(client_id)
    if client is None:
        return _error_page(
            700016,
            f"Application with identifier '{client_id}' was not found in the directory "
            f"'{state.config.tenant_id}'. This can happen if the application has not "
            "been installed by the administrator of the tenant or consented to by any "
            "user in the tenant.",
        )
    redirect_uri = args.get("redirect_uri", "")
    if not redirect_uri_registered(redirect_uri, client.redirect_uris):
        return _error_page(
            50011,
            f"The redirect URI '{redirect_uri}' specified in the request does not match "
            f"the redirect URIs configured for the application '{client_id}'. Make sure "
            "the redirect URI sent in the request matches one added to your application "
            "in the Azure portal.",
        )
    state_param = args.get("state")

    fault = state.take_fault("authorize")
    if fault is not None:
        if fault.kind == "access_denied":
            return _cancel_redirect(redirect_uri, state_param)
        code, text = AUTHORIZE_FAULTS[fault.kind]
        return _redirect_error(redirect_uri, state_param, fault.kind, code, text)

    def invalid(code: int, text: str, error: str = "invalid_request"):
        return _redirect_error(redirect_uri, state_param, error, code, text)

    response_type = args.get("response_type")
    if not response_type:
        return invalid(900144, "The request body must contain the following parameter: 'response_type'.")
    if response_type != "code":
        return invalid(
            70005,
            f"The provided value for the input parameter 'response_type' is not allowed "
            f"for this request. Expected value: 'code'. Received: '{response_type}'.",
            "unsupported_response_type",
        )
    if args.get("response_mode", "query") != "query":
        return invalid(900144, f"The mock supports only response_mode=query, not '{args.get('response_mode')}'.")
    scopes = tokens.split_scopes(args.get("scope"))
    if "openid" not in scopes:
        return invalid(900144, "The request body must contain the following parameter: 'scope' including 'openid'.")
    challenge, method = args.get("code_challenge"), args.get("code_challenge_method")
    if not challenge or method != "S256":
        return invalid(
            50148, "Proof Key for Code Exchange is required: send code_challenge with code_challenge_method=S256."
        )
    prompt = args.get("prompt")
    if prompt is not None and prompt not in PROMPTS:
        return invalid(90023, f"Invalid prompt value '{prompt}'.")
    if args.get("max_age") is not None and not args["max_age"].isdigit():
        return invalid(90023, "The max_age parameter must be a non-negative integer.")

    login_hint = args.get("login_hint")
    pending = PendingAuthorization(
        client_id=client_id,
        redirect_uri=redirect_uri,
        scopes=tuple(scopes),
        state=state_param,
        nonce=args.get("nonce"),
        code_challenge=challenge,
        client_info=args.get("client_info") == "1",
        login_hint=login_hint,
        tenant=tenant,
        expires_at=state.now() + 900,
    )

    if prompt == "none":
        session = state.get_sso(request.cookies.get(SSO_COOKIE))
        user = state.find_user(session.user_oid) if session else None
        if user is None or (login_hint and login_hint.lower() != user.upn.lower()):
            return invalid(50058, "A silent sign-in request was sent but no user is signed in.", "login_required")
        return _issue_code_redirect(pending, user.oid, session.sid)

    ctx = state.add_pending(pending)
    users = _users_for(tenant)
    hinted = None
    if login_hint:
        hinted = next((u for u in users if u.upn.lower() == login_hint.lower()), None)
        if hinted is not None:
            users = [hinted] + [u for u in users if u is not hinted]
    html = render_template("picker.html", users=users, hinted=hinted, ctx=ctx, client_id=client_id, action=request.path)
    return make_response(html, 200)


def _users_for(tenant: str) -> list:
    """Who may sign in at this authority: everyone at common/organizations, else the tenant's own users."""
    state = current_state()
    if tenant.lower() in MULTI_TENANT:
        return list(state.users)
    home = state.config.tenant_id.lower()
    return [user for user in state.users if user.home_tenant(home).lower() == home]


@bp.post("/<tenant>/oauth2/v2.0/authorize", endpoint="authorize_pick")
@bp.post("/<tenant>/oauth2/v2.0/authorize/pick", endpoint="authorize_pick")
def authorize_pick(tenant: str):
    """The picker's form post: issue a code for the chosen account, or redirect a cancel."""
    state = current_state()
    pending = state.take_pending(request.form.get("ctx", ""))
    if pending is None:
        return _error_page(
            90014,
            "The sign-in request expired or is unknown (missing or invalid 'ctx'). "
            "Go back to the application and sign in again.",
        )
    g.client_id = pending.client_id
    if request.form.get("cancel"):
        return _cancel_redirect(pending.redirect_uri, pending.state)
    user = state.find_user(request.form.get("account", ""))
    if user is None or user not in _users_for(tenant):
        return _error_page(50034, "The user account does not exist in the directory.")
    cookie, session = state.start_sso(user.oid)
    response = _issue_code_redirect(pending, user.oid, session.sid)
    state.end_sso(request.cookies.get(SSO_COOKIE))
    response.set_cookie(SSO_COOKIE, cookie, httponly=True, samesite="Lax", path="/")
    return response


# -- token ---------------------------------------------------------------------

TOKEN_FAULTS = {
    "invalid_grant": (
        400,
        50173,
        "The provided grant has expired due to it being revoked, a fresh auth "
        "token is needed. The user might have changed or reset their password.",
    ),
    "interaction_required": (
        400,
        50076,
        "Due to a configuration change made by your administrator, or because "
        "you moved to a new location, you must use multi-factor "
        "authentication to access '00000003-0000-0000-c000-000000000000'.",
    ),
    "invalid_client": (401, 7000222, "The provided client secret keys for app '{client_id}' are expired."),
    "server_error": (500, 50000, "There was an error issuing a token or an issue with our sign-in service."),
    "temporarily_unavailable": (503, 90033, "A transient error has occurred. Please try again."),
}


def _token_fault(kind: str, params: dict, client_id: str | None):
    status, code, text = TOKEN_FAULTS[kind]
    headers, extra = {}, {}
    if kind == "temporarily_unavailable":
        headers["Retry-After"] = str(int(params.get("retry_after", 5)))
    elif "retry_after" in params:
        headers["Retry-After"] = str(int(params["retry_after"]))
    if kind == "interaction_required":
        extra["suberror"] = "basic_action"
    return _error_json(status, kind, code, text.format(client_id=client_id or ""), headers, **extra)


def _authenticate_client(form):
    """Resolve the client from client_secret_post or client_secret_basic; returns (client, error response)."""
    state = current_state()
    client_id, secret = form.get("client_id"), form.get("client_secret")
    auth = request.authorization
    if auth is not None and auth.type == "basic":
        # RFC 6749 2.3.1: Basic credentials are form-urlencoded before base64.
        basic_id = urllib.parse.unquote_plus(auth.username or "")
        if client_id and client_id != basic_id:
            return None, _error_json(
                400, "invalid_request", 900144, "client_id in the body does not match the Authorization header."
            )
        client_id, secret = basic_id, urllib.parse.unquote_plus(auth.password or "")
    g.client_id = client_id
    if not client_id:
        return None, _error_json(
            400, "invalid_request", 900144, "The request body must contain the following parameter: 'client_id'."
        )
    client = state.clients.get(client_id)
    if client is None:
        return None, _error_json(
            400,
            "unauthorized_client",
            700016,
            f"Application with identifier '{client_id}' was not found in the directory '{state.config.tenant_id}'.",
        )
    if form.get("client_assertion"):
        return None, _error_json(
            401,
            "invalid_client",
            700027,
            "Client assertion failed signature validation: the mock accepts only client secrets.",
        )
    if not secret:
        # Observed as 401 invalid_client (the reference table lists invalid_request).
        return None, _error_json(
            401,
            "invalid_client",
            7000218,
            "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
        )
    if not client.secret_matches(secret):
        return None, _error_json(
            401,
            "invalid_client",
            7000215,
            "Invalid client secret provided. Ensure the secret being sent in the request "
            "is the client secret value, not the client secret ID, for a secret added to "
            f"app '{client_id}'.",
        )
    return client, None


def _invalid_grant(code: int, text: str, **extra):
    return _error_json(400, "invalid_grant", code, text, **extra)


def _token_success(
    *,
    client_id: str,
    user_oid: str,
    sid: str,
    resources: tuple[str, ...],
    requested_scopes,
    nonce: str | None,
    want_client_info: bool,
    id_token_fault: str | None,
):
    """Build the token response: AT (v1 shape), optional RT, ID token (possibly defective), client_info."""
    state, urls = current_state(), current_urls()
    user = state.find_user(user_oid)
    if user is None:
        return _invalid_grant(50034, "The user account does not exist in the directory.")
    now = state.now()
    settings = state.settings
    at_lifetime = settings["access_token_lifetime"]
    # A user of another tenant signing in through common/organizations gets tokens from that tenant.
    tenant_id = user.home_tenant(state.config.tenant_id)
    scp = " ".join((*(tokens.short_scope(s) for s in resources), "profile", "openid", "email"))
    access_token = state.keys.sign(
        tokens.access_token_claims(
            now=now,
            lifetime=at_lifetime,
            sts_issuer=f"{urls.base_url}/{tenant_id}/",
            client_id=client_id,
            tenant_id=tenant_id,
            user=user,
            scp=scp,
        ),
        {"x5t": state.keys.x5t},
    )
    body = {
        "token_type": "Bearer",
        "scope": tokens.granted_scope_string(resources),
        "expires_in": int(at_lifetime),
        "ext_expires_in": int(at_lifetime),
        "access_token": access_token,
    }
    lowered = {s.lower() for s in requested_scopes}
    if "offline_access" in lowered:
        body["refresh_token"] = state.add_refresh_token(
            RefreshGrant(
                user_oid=user.oid,
                client_id=client_id,
                scopes=resources,
                sid=sid,
                expires_at=now + settings["refresh_token_lifetime"],
            )
        )
    if "openid" in lowered and id_token_fault != "id_token_missing":
        claims = tokens.id_token_claims(
            now=now,
            lifetime=settings["id_token_lifetime"],
            issuer=f"{urls.base_url}/{tenant_id}/v2.0",
            client_id=client_id,
            tenant_id=tenant_id,
            user=user,
            nonce=nonce,
            sid=sid,
            scopes=requested_scopes,
        )
        if id_token_fault:
            claims = tokens.apply_id_token_fault(id_token_fault, claims, settings["id_token_lifetime"])
        signer = state.rogue_key if id_token_fault == "id_token_unknown_kid" else state.keys
        id_token = signer.sign(claims)
        if id_token_fault == "id_token_bad_signature":
            id_token = tokens.break_signature(id_token)
        body["id_token"] = id_token
    if want_client_info:
        body["client_info"] = tokens.client_info(user.oid, tenant_id)
    return json_response(body, 200, TOKEN_HEADERS)


def _redeem_code(form, client, id_token_fault):
    state = current_state()
    value = form.get("code")
    if not value:
        return _error_json(
            400, "invalid_request", 900144, "The request body must contain the following parameter: 'code'."
        )
    code, already = state.claim_code(value)
    if code is None or code.client_id != client.client_id:
        return _invalid_grant(9002313, "Invalid request. Request is malformed or invalid.")
    if already:
        return _invalid_grant(
            54005,
            "OAuth2 Authorization code was already redeemed, please retry with a new "
            "valid code or use an existing refresh token.",
        )
    if code.expires_at < state.now():
        return _invalid_grant(
            70008,
            "The provided authorization code or refresh token has expired due to "
            "inactivity. Send a new interactive authorization request for this user "
            "and resource.",
        )
    if form.get("redirect_uri") != code.redirect_uri:
        return _invalid_grant(
            500112,
            f"The reply address '{form.get('redirect_uri')}' does not match the reply "
            f"address '{code.redirect_uri}' provided when requesting Authorization "
            "code.",
        )
    verifier = form.get("code_verifier")
    if not verifier or not hmac.compare_digest(_pkce_s256(verifier), code.code_challenge):
        return _invalid_grant(
            501481, "The Code_Verifier does not match the code_challenge supplied in the authorization request."
        )
    requested = tokens.split_scopes(form.get("scope")) or list(code.scopes)
    resources = tokens.resource_scopes(requested) or tokens.resource_scopes(code.scopes)
    return _token_success(
        client_id=client.client_id,
        user_oid=code.user_oid,
        sid=code.sid,
        resources=resources,
        requested_scopes=requested,
        nonce=code.nonce,
        want_client_info=form.get("client_info") == "1",
        id_token_fault=id_token_fault,
    )


def _redeem_refresh_token(form, client, id_token_fault):
    state = current_state()
    value = form.get("refresh_token")
    if not value:
        return _error_json(
            400, "invalid_request", 900144, "The request body must contain the following parameter: 'refresh_token'."
        )
    grant = state.get_refresh_grant(value)
    if grant is None or grant.client_id != client.client_id:
        return _invalid_grant(9002313, "Invalid request. Request is malformed or invalid.")
    if grant.expires_at < state.now():
        return _invalid_grant(
            70008,
            "The provided authorization code or refresh token has expired due to "
            "inactivity. Send a new interactive authorization request for this user "
            "and resource.",
        )
    requested = tokens.split_scopes(form.get("scope"))
    # msal's silent refresh sends only OIDC scopes; Entra then grants what was consented before.
    resources = tokens.resource_scopes(requested) or grant.scopes
    missing = [s for s in resources if s not in grant.scopes]
    if missing:
        return _invalid_grant(
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
        id_token_fault=id_token_fault,
    )


@bp.post("/<tenant>/oauth2/v2.0/token", endpoint="token")
def token(tenant: str):
    """The token endpoint: authorization_code (with PKCE) and refresh_token grants."""
    state = current_state()
    form = request.form
    g.grant_type = form.get("grant_type")
    g.client_id = form.get("client_id")
    id_token_fault = None
    fault = state.take_fault("token")
    if fault is not None:
        if fault.kind == "slow":
            time.sleep(fault.params["delay"])
        elif fault.kind.startswith("id_token_"):
            id_token_fault = fault.kind
        else:
            return _token_fault(fault.kind, fault.params, g.client_id)
    if not _tenant_known(tenant):
        return _unknown_tenant_json(tenant)
    client, error = _authenticate_client(form)
    if error is not None:
        return error
    grant_type = form.get("grant_type")
    if grant_type == "authorization_code":
        return _redeem_code(form, client, id_token_fault)
    if grant_type == "refresh_token":
        return _redeem_refresh_token(form, client, id_token_fault)
    if not grant_type:
        return _error_json(
            400, "invalid_request", 900144, "The request body must contain the following parameter: 'grant_type'."
        )
    return _error_json(
        400, "unsupported_grant_type", 70003, f"The app requested an unsupported grant type '{grant_type}'."
    )


# -- logout --------------------------------------------------------------------


@bp.route("/<tenant>/oauth2/v2.0/logout", methods=["GET", "POST"], endpoint="logout")
@bp.route("/<tenant>/oauth2/logout", methods=["GET", "POST"], endpoint="logout")
def logout(tenant: str):
    """End the mock SSO session; redirect only to an origin of a registered redirect URI."""
    fault = _simple_fault("logout")
    if fault is not None:
        return fault
    state = current_state()
    state.end_sso(request.cookies.get(SSO_COOKIE))
    target = request.values.get("post_logout_redirect_uri")
    registered = [uri for client in state.clients.values() for uri in client.redirect_uris]
    if target and origin_registered(target, registered):
        response = redirect(target, 302)
    else:
        response = make_response(render_template("signed_out.html", refused=target), 200)
    response.delete_cookie(SSO_COOKIE, path="/")
    return response


@bp.get("/error", endpoint="error_info")
def error_info():
    """Where error_uri points: a short page naming the AADSTS code."""
    code = request.args.get("code", "")
    code = int(code) if code.isdigit() else 0
    return _error_page(code, "See the error_description returned with this code.", status=200)
