"""The authorize endpoint: request validation, the account picker (and its Cancel), prompt=none, codes."""

from __future__ import annotations

from flask import Blueprint, g, make_response, redirect, render_template, request
from werkzeug.wrappers import Response as BaseResponse

from . import tokens
from .errors import EntraError, with_query
from .models import AuthCode, PendingAuthorization
from .runtime import check_tenant, current_state, is_multi_tenant
from .uris import redirect_uri_registered
from .users import DemoUser

bp = Blueprint("authorize", __name__)

SSO_COOKIE = "MOCK_ESTSAUTH"
PROMPTS = frozenset({"login", "none", "consent", "select_account", "create"})
PENDING_LIFETIME = 900  # seconds a picker page (ctx) stays usable
CANCEL = ("access_denied", 65004, "User declined to consent to access the app.")


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
        check_tenant(tenant)
    except EntraError:
        raise _page_error(90002, f"Tenant '{tenant}' not found.") from None
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


def _issue_code_redirect(pending: PendingAuthorization, user_oid: str) -> BaseResponse:
    """Sign the account into the mock's browser session for this app, and send the app a code."""
    state = current_state()
    cookie, account = state.sessions.sign_in(request.cookies.get(SSO_COOKIE), user_oid, pending.client_id)
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
        )
    )
    params = {
        "code": code,
        "client_info": tokens.client_info(user_oid, state.config.tenant_id) if pending.client_info else None,
        "state": pending.state,
        "session_state": account.sid,
    }
    response = redirect(with_query(pending.redirect_uri, params), 302)
    response.set_cookie(SSO_COOKIE, cookie, httponly=True, samesite="Lax", path="/")
    return response


def _validated_request(tenant: str) -> tuple[PendingAuthorization, str | None]:
    """The rest of the request's checks, each an error redirect to the app; returns (request, prompt)."""
    args = request.args
    redirect_uri, state_param = redirect_target()

    def invalid(code: int, text: str, error: str = "invalid_request") -> EntraError:
        return EntraError(error, code, text, redirect=(redirect_uri, state_param))

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
    scopes = tokens.split_scopes(args.get("scope"))
    if "openid" not in scopes:
        raise invalid(900144, "The request body must contain the following parameter: 'scope' including 'openid'.")
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
        scopes=tuple(scopes),
        state=state_param,
        nonce=args.get("nonce"),
        code_challenge=challenge,
        client_info=args.get("client_info") == "1",
        login_hint=args.get("login_hint"),
        tenant=tenant,
        expires_at=current_state().now() + PENDING_LIFETIME,
    )
    return pending, prompt


def _silent_account(pending: PendingAuthorization) -> DemoUser:
    """prompt=none: the browser session's account (the hinted one when several are signed in)."""
    state = current_state()
    accounts = state.sessions.accounts(request.cookies.get(SSO_COOKIE))
    found = [state.find_user(a.user_oid) for a in accounts]
    users = [u for u in found if u is not None]
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
    return users[0]


@bp.get("/<tenant>/oauth2/v2.0/authorize", endpoint="authorize")
def authorize(tenant: str) -> BaseResponse:
    """Validate an authorization request and show the account picker (or answer prompt=none)."""
    pending, prompt = _validated_request(tenant)
    if prompt == "none":
        return _issue_code_redirect(pending, _silent_account(pending).oid)
    state = current_state()
    ctx = state.grants.add_pending(pending)
    users = _users_for(tenant)
    hinted = None
    if pending.login_hint:
        hinted = next((u for u in users if u.upn.lower() == pending.login_hint.lower()), None)
        if hinted is not None:
            users = [hinted] + [u for u in users if u is not hinted]
    html = render_template(
        "picker.html", users=users, hinted=hinted, ctx=ctx, client_id=pending.client_id, action=request.path
    )
    return make_response(html, 200)


def _users_for(tenant: str) -> list[DemoUser]:
    """Who may sign in at this authority: everyone at common/organizations, else the tenant's own users."""
    state = current_state()
    if is_multi_tenant(tenant):
        return list(state.users)
    home = state.config.tenant_id.lower()
    return [user for user in state.users if user.home_tenant(home).lower() == home]


@bp.post("/<tenant>/oauth2/v2.0/authorize", endpoint="authorize_pick")
@bp.post("/<tenant>/oauth2/v2.0/authorize/pick", endpoint="authorize_pick")
def authorize_pick(tenant: str) -> BaseResponse:
    """The picker's form post: issue a code for the chosen account, or redirect a cancel."""
    state = current_state()
    pending = state.grants.take_pending(request.form.get("ctx", ""))
    if pending is None:
        raise _page_error(
            90014,
            "The sign-in request expired or is unknown (missing or invalid 'ctx'). "
            "Go back to the application and sign in again.",
        )
    g.client_id = pending.client_id
    if request.form.get("cancel"):
        raise EntraError(*CANCEL, redirect=(pending.redirect_uri, pending.state), subcode="cancel")
    user = state.find_user(request.form.get("account", ""))
    if user is None or user not in _users_for(tenant):
        raise _page_error(50034, "The user account does not exist in the directory.")
    return _issue_code_redirect(pending, user.oid)
