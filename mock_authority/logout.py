"""The end-session endpoint: sign out at the mock, load each app's front-channel logout URL, go back."""

from __future__ import annotations

import urllib.parse
from collections.abc import Iterable

from flask import Blueprint, make_response, redirect, render_template, request
from werkzeug.wrappers import Response as BaseResponse

from . import tokens
from .authorize import SSO_COOKIE
from .errors import with_query
from .pages import csp_with_frames
from .runtime import current_state
from .sso import EndSession, FrontChannelCall, SignedInAccount
from .uris import post_logout_uri_accepted

bp = Blueprint("logout", __name__)

REFRESH_SECONDS = 1  # the sign-out page moves on after its iframes loaded (a meta refresh waits for them)


def _origin(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _hinted_account(accounts: Iterable[SignedInAccount], hint: str | None) -> SignedInAccount | None:
    """The account a logout_hint (an ID token's login_hint) names, if it is signed in at this session."""
    if not hint:
        return None
    state = current_state()
    for account in accounts:
        user = state.find_user(account.user_oid)
        if user is not None and tokens.login_hint(user.oid, user.home_tenant(state.config.tenant_id)) == hint:
            return account
    return None


def _frontchannel_calls(ended: Iterable[SignedInAccount]) -> tuple[FrontChannelCall, ...]:
    """One call per app each ended account signed into that has a front-channel logout URL: ?sid= only."""
    state = current_state()
    calls: list[FrontChannelCall] = []
    for account in ended:
        for client_id in account.client_ids:
            client = state.clients.get(client_id)
            if client is not None and client.frontchannel_logout_uri:
                url = with_query(client.frontchannel_logout_uri, {"sid": account.sid})
                calls.append(FrontChannelCall(client_id, url, account.sid, account.user_oid, state.now()))
    return tuple(calls)


@bp.route("/<tenant>/oauth2/v2.0/logout", methods=["GET", "POST"], endpoint="logout")
@bp.route("/<tenant>/oauth2/logout", methods=["GET", "POST"], endpoint="logout")
@bp.route("/<tenant>/<b2c_policy:policy>/oauth2/v2.0/logout", methods=["GET", "POST"], endpoint="logout")
def logout(tenant: str, policy: str | None = None) -> BaseResponse:
    """Sign out of the mock's browser session (only the hinted account when logout_hint names one signed in
    there, else every account), then front-channel logout pages, then post_logout_redirect_uri if registered."""
    state = current_state()
    cookie = request.cookies.get(SSO_COOKIE)
    hint = request.values.get("logout_hint")
    target = request.values.get("post_logout_redirect_uri")
    hinted = _hinted_account(state.sessions.accounts(cookie), hint)
    ended = state.sessions.sign_out(cookie, hinted.user_oid if hinted else None)
    calls = _frontchannel_calls(ended)
    registered = [uri for client in state.clients.values() for uri in client.redirect_uris]
    continue_to = target if target and post_logout_uri_accepted(target, registered) else None
    accepted = continue_to is not None
    state.sessions.record(EndSession(state.now(), hint, target, accepted, tuple(a.sid for a in ended), calls))
    response: BaseResponse
    if continue_to is not None and not calls:
        response = redirect(continue_to, 302)
    else:
        html = render_template(
            "signed_out.html",
            refused=None if accepted else target,
            frontchannel=calls,
            continue_to=continue_to,
            refresh_seconds=REFRESH_SECONDS,
        )
        response = make_response(html, 200)
        response.headers["Content-Security-Policy"] = csp_with_frames({_origin(c.url) for c in calls})
        response.headers["Cache-Control"] = "no-store"
    if not state.sessions.accounts(cookie):
        response.delete_cookie(SSO_COOKIE, path="/")
    return response
