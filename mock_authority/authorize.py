"""The authorize endpoint: request validation (scopes.py), who may sign in where (tenants.py), the account picker
(and its Cancel), the consent page or "Need admin approval" (consent.py), prompt=none, codes; and B2C's user-flow
pages (forgot password, profile editing, password reset)."""

from __future__ import annotations

import dataclasses

from flask import Blueprint, g, make_response, redirect, render_template, request
from werkzeug.wrappers import Response as BaseResponse

from . import b2c, scopes, tokens
from .conditional_access import check_authorize_claims, check_silent, interactive_step, note_sign_in
from .errors import EntraError, with_query
from .models import AuthCode, Client, PendingAuthorization
from .runtime import check_tenant, current_state
from .tenants import TenantPath, audience_admits, audience_error
from .uris import redirect_uri_registered
from .users import DemoUser

bp = Blueprint("authorize", __name__)

SSO_COOKIE = "MOCK_ESTSAUTH"
PROMPTS = frozenset({"login", "none", "consent", "select_account", "create"})
PENDING_LIFETIME = 900  # seconds a picker page (ctx) stays usable
CANCEL = ("access_denied", 65004, "User declined to consent to access the app.")
CONSENT_REQUIRED = (
    "consent_required",
    65001,
    "The user or administrator has not consented to use the application. Send an interactive authorization "
    "request for this user and resource.",
)
DEFAULT_HEADING = "Pick an account"
HEADINGS = {"profileediting": "Edit your profile", "passwordreset": "Reset your password"}


def _page_error(code: int, text: str) -> EntraError:
    return EntraError("", code, text, page=True)


def redirect_target() -> tuple[str, str | None]:
    """The validated (redirect_uri, state) of this authorize request, where its errors may be sent.

    An unknown tenant, client or redirect URI is Entra's own error page instead: never a redirect."""
    if "authorize_target" in g:
        return g.authorize_target
    state, args = current_state(), request.args
    tenant = (request.view_args or {}).get("tenant", "")
    g.client_id = client_id = args.get("client_id")
    try:
        path = check_tenant(tenant)
    except EntraError:
        raise _page_error(90002, f"Tenant '{tenant}' not found.") from None
    policy = (request.view_args or {}).get("policy")
    if policy is not None and (path.kind != "tenant" or b2c.user_flow(policy) is None):
        raise _page_error(90002, f"The policy '{policy}' does not exist in tenant '{tenant}'.")
    if not client_id:
        raise _page_error(900144, "The request body must contain the following parameter: 'client_id'.")
    client = state.clients.get(client_id)
    if client is None:
        raise _page_error(
            700016,
            f"Application with identifier '{client_id}' was not found in the directory "
            f"'{state.config.tenant_id}'. This can happen if the application has not "
            "been installed by the administrator of the tenant or consented to by any "
            "user in the tenant.",
        )
    redirect_uri = args.get("redirect_uri", "")
    if not redirect_uri_registered(redirect_uri, client.redirect_uris):
        raise _page_error(
            50011,
            f"The redirect URI '{redirect_uri}' specified in the request does not match "
            f"the redirect URIs configured for the application '{client_id}'. Make sure "
            "the redirect URI sent in the request matches one added to your application "
            "in the Azure portal.",
        )
    g.authorize_target = (redirect_uri, args.get("state"))
    return g.authorize_target


def _issue_code_redirect(pending: PendingAuthorization, user_oid: str, interactive: bool = True) -> BaseResponse:
    """Sign the account into the mock's browser session for this app (an interactive sign-in renews its
    authentication time), and send the app a code."""
    state = current_state()
    cookie, account = state.sessions.sign_in(
        request.cookies.get(SSO_COOKIE), user_oid, pending.client_id, state.now() if interactive else None
    )
    note_sign_in(account.sid, user_oid)
    code = state.grants.add_code(
        AuthCode(
            client_id=pending.client_id,
            redirect_uri=pending.redirect_uri,
            scopes=pending.scopes,
            nonce=pending.nonce,
            code_challenge=pending.code_challenge,
            user_oid=user_oid,
            sid=account.sid,
            expires_at=state.now() + state.setting("code_lifetime"),
            tenant=pending.tenant,
            policy=pending.policy,
            auth_time=int(account.authenticated_at) if pending.max_age is not None else None,
        )
    )
    params = {
        "code": code,
        "client_info": _client_info(pending, user_oid) if pending.client_info else None,
        "state": pending.state,
        "session_state": account.sid,
    }
    response = redirect(with_query(pending.redirect_uri, params), 302)
    response.set_cookie(SSO_COOKIE, cookie, httponly=True, samesite="Lax", path="/")
    return response


def _client_info(pending: PendingAuthorization, user_oid: str) -> str:
    """uid/utid of the account: utid is the user's home tenant (a guest's or personal account's own, not the
    tenant signed in to); B2C's uid names the user flow too."""
    state = current_state()
    user = state.find_user(user_oid)
    home = user.home_tenant(state.config.tenant_id) if user is not None else state.config.tenant_id
    flow = b2c.user_flow(pending.policy) if pending.policy else None
    return b2c.b2c_client_info(user_oid, flow, home) if flow else tokens.client_info(user_oid, home)


def _check_audience(client: Client, path: TenantPath, target: tuple[str, str | None]) -> None:
    """Refuse a sign-in the app's signInAudience does not allow at this authority path (tenants.audience_error)."""
    refused = audience_error(client.sign_in_audience, path)
    if refused is None:
        return
    error, code, text, page = refused
    text = text.replace("Application ", f"Application '{client.client_id}' ", 1)
    if page:
        raise EntraError(error, code, text, page=True)
    raise EntraError(error, code, text, redirect=target)


def _validated_request(tenant: str, policy: str | None) -> tuple[PendingAuthorization, str | None]:
    """The rest of the request's checks, each an error redirect to the app; returns (request, prompt)."""
    args = request.args
    redirect_uri, state_param = redirect_target()

    def invalid(code: int, text: str, error: str = "invalid_request") -> EntraError:
        return EntraError(error, code, text, redirect=(redirect_uri, state_param))

    if policy is None:
        _check_audience(current_state().clients[args["client_id"]], check_tenant(tenant), (redirect_uri, state_param))
    response_type = args.get("response_type")
    if not response_type:
        raise invalid(900144, "The request body must contain the following parameter: 'response_type'.")
    if response_type != "code":
        raise invalid(
            70005,
            f"The provided value for the input parameter 'response_type' is not allowed "
            f"for this request. Expected value: 'code'. Received: '{response_type}'.",
            "unsupported_response_type",
        )
    if args.get("response_mode", "query") != "query":
        raise invalid(900144, f"The mock supports only response_mode=query, not '{args.get('response_mode')}'.")
    requested = tokens.split_scopes(args.get("scope"))
    if "openid" not in requested:
        raise invalid(900144, "The request body must contain the following parameter: 'scope' including 'openid'.")
    if policy is None:
        try:
            scopes.parse(requested)
        except EntraError as refused:
            raise invalid(refused.code, refused.text, refused.error) from None
    check_authorize_claims((redirect_uri, state_param))
    challenge, method = args.get("code_challenge"), args.get("code_challenge_method")
    if not challenge or method != "S256":
        raise invalid(
            50148, "Proof Key for Code Exchange is required: send code_challenge with code_challenge_method=S256."
        )
    prompt = args.get("prompt")
    if prompt is not None and prompt not in PROMPTS:
        raise invalid(90023, f"Invalid prompt value '{prompt}'.")
    if args.get("max_age") is not None and not args["max_age"].isdigit():
        raise invalid(90023, "The max_age parameter must be a non-negative integer.")
    pending = PendingAuthorization(
        client_id=args["client_id"],
        redirect_uri=redirect_uri,
        scopes=tuple(requested),
        state=state_param,
        nonce=args.get("nonce"),
        code_challenge=challenge,
        client_info=args.get("client_info") == "1",
        login_hint=args.get("login_hint"),
        tenant=tenant,
        expires_at=current_state().now() + PENDING_LIFETIME,
        policy=policy,
        prompt=prompt,
        max_age=int(args["max_age"]) if args.get("max_age") is not None else None,
    )
    return pending, prompt


def _silent_account(pending: PendingAuthorization) -> DemoUser:
    """prompt=none: the browser session's account (the hinted one when several are signed in)."""
    state = current_state()
    accounts = state.sessions.accounts(request.cookies.get(SSO_COOKIE))
    found = [state.find_user(a.user_oid) for a in accounts]
    allowed = _users_for(pending)
    users = [u for u in found if u is not None and u in allowed]
    hint = (pending.login_hint or "").lower()
    if hint:
        users = [u for u in users if u.upn.lower() == hint]
    target = (pending.redirect_uri, pending.state)
    if not users:
        raise EntraError(
            "login_required", 50058, "A silent sign-in request was sent but no user is signed in.", redirect=target
        )
    if len(users) > 1:
        raise EntraError(
            "interaction_required",
            16000,
            "Multiple user identities are available for the current request: send a login_hint.",
            redirect=target,
        )
    check_silent(users[0].oid, request.cookies.get(SSO_COOKIE), target)
    return users[0]


@bp.get("/<tenant>/oauth2/v2.0/authorize", endpoint="authorize")
@bp.get("/<tenant>/<b2c_policy:policy>/oauth2/v2.0/authorize", endpoint="authorize")
def authorize(tenant: str, policy: str | None = None) -> BaseResponse:
    """Validate an authorization request and show the account picker (or answer prompt=none)."""
    pending, prompt = _validated_request(tenant, policy)
    if prompt == "none":
        user = _silent_account(pending)
        if _missing_consent(pending, user):
            raise EntraError(*CONSENT_REQUIRED, redirect=(pending.redirect_uri, pending.state))
        return _issue_code_redirect(pending, user.oid, interactive=False)
    state = current_state()
    ctx = state.grants.add_pending(pending)
    users = _users_for(pending)
    hinted = None
    if pending.login_hint:
        hinted = next((u for u in users if u.upn.lower() == pending.login_hint.lower()), None)
        if hinted is not None:
            users = [hinted] + [u for u in users if u is not hinted]
    flow = b2c.user_flow(policy) if policy else None
    html = render_template(
        "picker.html",
        users=users,
        hinted=hinted,
        ctx=ctx,
        client_id=pending.client_id,
        action=request.path,
        b2c_flow=flow.kind if flow else None,
        heading=HEADINGS.get(flow.kind, DEFAULT_HEADING) if flow else DEFAULT_HEADING,
    )
    return make_response(html, 200)


def _missing_consent(pending: PendingAuthorization, user: DemoUser) -> tuple[str, ...]:
    """The requested permissions this user's app holds no grant for (all of them with prompt=consent, except
    those an admin granted); B2C's user flows have no consent here."""
    if pending.policy is not None:
        return ()
    state = current_state()
    wanted = scopes.parse(pending.scopes)
    tenant = user.home_tenant(state.config.tenant_id)
    if pending.prompt == "consent":
        granted = state.consents.granted_by_admin(tenant, pending.client_id)
    else:
        granted = state.consents.granted(tenant, user.oid, pending.client_id)
    return tuple(p for p in (*wanted.oidc, *wanted.permissions) if p not in granted)


def _consent_page(pending: PendingAuthorization, user: DemoUser, missing: tuple[str, ...]) -> BaseResponse:
    """Ask the user to consent (Accept/Cancel); or, when an admin must grant some of it, "Need admin approval",
    whose only way on is back to the app without consent."""
    state = current_state()
    ctx = state.grants.add_pending(dataclasses.replace(pending, consent_for=user.oid))
    html = render_template(
        "consent.html",
        ctx=ctx,
        client_id=pending.client_id,
        user=user,
        permissions=missing,
        admin_only=scopes.admin_only(missing),
        action=request.path,
    )
    return make_response(html, 200)


def _consent_decision(pending: PendingAuthorization) -> BaseResponse:
    """The consent page's post: Accept records the user's grant and signs in; Cancel, or leaving the admin
    approval page, goes back to the app with access_denied (AADSTS65004, error_subcode=cancel)."""
    state = current_state()
    user = state.find_user(pending.consent_for or "")
    if user is None:
        raise _page_error(50034, "The user account does not exist in the directory.")
    missing = _missing_consent(pending, user)
    if request.form.get("accept") and not scopes.admin_only(missing):
        state.consents.grant_user(user.home_tenant(state.config.tenant_id), user.oid, pending.client_id, missing)
        return _issue_code_redirect(pending, user.oid)
    raise EntraError(*CANCEL, redirect=(pending.redirect_uri, pending.state), subcode="cancel")


def _users_for(pending: PendingAuthorization) -> list[DemoUser]:
    """Who may sign in: a tenant's own users at its path (GUID or domain, B2C's too), work accounts of any tenant
    at common/organizations, personal accounts at consumers and common; each only if the app's audience admits
    that kind of account."""
    state = current_state()
    path = check_tenant(pending.tenant)
    client = state.clients.get(pending.client_id)
    audience = client.sign_in_audience if client is not None and pending.policy is None else None
    home = state.config.tenant_id.lower()
    allowed: list[DemoUser] = []
    for user in state.users:
        if user.personal:
            if not path.admits_personal_accounts():
                continue
        elif not path.admits_work_accounts() or (path.kind == "tenant" and user.home_tenant(home).lower() != home):
            continue
        if audience is None or audience_admits(audience, user.personal):
            allowed.append(user)
    return allowed


@bp.post("/<tenant>/oauth2/v2.0/authorize", endpoint="authorize_pick")
@bp.post("/<tenant>/oauth2/v2.0/authorize/pick", endpoint="authorize_pick")
@bp.post("/<tenant>/<b2c_policy:policy>/oauth2/v2.0/authorize", endpoint="authorize_pick")
def authorize_pick(tenant: str, policy: str | None = None) -> BaseResponse:
    """The picker's form post: issue a code for the chosen account, or redirect a cancel (B2C: or a forgotten
    password, or the profile-editing flow's new display name)."""
    state = current_state()
    pending = state.grants.take_pending(request.form.get("ctx", ""))
    if pending is None:
        raise _page_error(
            90014,
            "The sign-in request expired or is unknown (missing or invalid 'ctx'). "
            "Go back to the application and sign in again.",
        )
    g.client_id = pending.client_id
    if pending.consent_for is not None:
        return _consent_decision(pending)
    flow = b2c.user_flow(pending.policy) if pending.policy else None
    if request.form.get("cancel"):
        if flow is not None:
            return b2c.error_redirect(pending.redirect_uri, pending.state, b2c.CANCELLED, state.now())
        raise EntraError(*CANCEL, redirect=(pending.redirect_uri, pending.state), subcode="cancel")
    if flow is not None and flow.kind == "signupsignin" and request.form.get("forgot_password"):
        return b2c.error_redirect(pending.redirect_uri, pending.state, b2c.FORGOT_PASSWORD, state.now())
    user = state.find_user(request.form.get("account", ""))
    if user is None or user not in _users_for(pending):
        raise _page_error(50034, "The user account does not exist in the directory.")
    step = interactive_step(pending, user.oid, request.cookies.get(SSO_COOKIE))  # Conditional Access
    if step is not None:
        return step
    new_name = (request.form.get("display_name") or "").strip()
    if flow is not None and flow.kind == "profileediting" and new_name:
        user = state.update_user(user.oid, name=new_name)
    missing = _missing_consent(pending, user)
    if missing:
        return _consent_page(pending, user, missing)
    return _issue_code_redirect(pending, user.oid)
