"""The sign-in pages: /login, the redirect URI, sign-out, and the front-channel logout URL."""

import logging
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from flask import Blueprint, abort, after_this_request, current_app, redirect, render_template, request
from flask.typing import ResponseReturnValue

from . import signin_trace
from .authorities import FlowName
from .csrf import csrf_ok, csrf_token
from .redirects import safe_next
from .sessions import current_session
from .signin import StartFlow

if TYPE_CHECKING:
    from .extension import EntraSignIn

log = logging.getLogger(__name__)

SIGNED_OUT_COOKIE = "signed_out"  # a one-minute flag so the sign-in page can confirm the sign-out
FRONTCHANNEL_PATH = "/logout/frontchannel"
# B2C's other user flows, each a sign-in at its own authority that replaces the session's user.
EDIT_PROFILE_PATH = "/profile/edit"
RESET_PASSWORD_PATH = "/password/reset"


def blueprint(entra: "EntraSignIn") -> Blueprint:
    bp = Blueprint("entra", __name__, template_folder="../templates")
    signin = entra.sign_in
    settings = entra.settings

    @bp.get("/login")
    def login() -> ResponseReturnValue:
        next_path = safe_next(request.args.get("next"))
        just_signed_out = request.cookies.get(SIGNED_OUT_COOKIE) == "1"
        response = current_app.make_response("")
        auth_uri = signin.start(request, response, next_path)
        response.set_data(
            render_template(
                "login.html",
                auth_uri=auth_uri,
                just_signed_out=just_signed_out,
                authority_kind=signin.authority.kind,
            )
        )
        if just_signed_out:
            response.delete_cookie(SIGNED_OUT_COOKIE, secure=settings.cookie_secure, httponly=True, samesite="Lax")
        return response

    @bp.get(settings.redirect_path, endpoint="auth_response")
    def auth_response() -> ResponseReturnValue:
        def forget(state: str) -> None:
            @after_this_request
            def delete_pending(response: Any) -> Any:
                signin.pending.forget(response, state)
                return response

        outcome = signin.finish(request, forget)
        if isinstance(outcome, StartFlow):  # B2C's "Forgot your password?": straight on to the reset flow
            return to_authority(outcome.flow, outcome.next_path)
        return redirect(safe_next(outcome))

    def to_authority(flow: FlowName, next_path: str) -> ResponseReturnValue:
        response = redirect("/", 302)
        response.location = signin.start(request, response, safe_next(next_path), flow_name=flow)
        return response

    @bp.get(EDIT_PROFILE_PATH)
    def edit_profile() -> ResponseReturnValue:
        if not signin.offers("editprofile"):
            abort(404)
        if not current_session().signed_in:
            return redirect(f"{request.script_root}/login?{urlencode({'next': EDIT_PROFILE_PATH})}")
        return to_authority("editprofile", "/")

    @bp.get(RESET_PASSWORD_PATH)
    def reset_password() -> ResponseReturnValue:
        if not signin.offers("resetpassword"):
            abort(404)
        return to_authority("resetpassword", "/")

    @bp.get("/logout")
    def logout_confirm() -> ResponseReturnValue:
        return render_template("logout.html", csrf_token=csrf_token() or "")

    @bp.post("/logout")
    def logout() -> ResponseReturnValue:
        # Read first, whoever posts: a body over MAX_CONTENT_LENGTH is a 413 page, never read past the limit.
        submitted = request.form.get("csrf_token")
        signed_in = current_session().signed_in
        # Nobody signed in: nothing here to protect, and the authority's end-session page is a plain GET anyway.
        if signed_in and not csrf_ok(submitted):
            abort(400, "This sign-out form came from another site or another session. Open the sign-out page again.")
        login_hint = signin.sign_out()  # StoreUnavailable: a 503 page that says you are not signed out yet
        # Back to the site's own origin from REDIRECT_URI: never from the request's Host or X-Forwarded-Host.
        back = f"{settings.site_origin}{request.script_root}/"
        end_session = entra.metadata.end_session_endpoint()  # from the discovery document, for every authority
        if end_session:
            query = {"post_logout_redirect_uri": back}
            if login_hint and signin.authority.sends_logout_hint:
                query["logout_hint"] = login_hint
            if signin.authority.sends_client_id_at_logout:
                query["client_id"] = settings.client_id
            separator = "&" if "?" in end_session else "?"
            response = redirect(f"{end_session}{separator}{urlencode(query)}")
        else:
            response = redirect(back)
        response.set_cookie(
            SIGNED_OUT_COOKIE, "1", max_age=60, httponly=True, samesite="Lax", secure=settings.cookie_secure
        )
        return response

    @bp.get(FRONTCHANNEL_PATH)
    def frontchannel_logout() -> ResponseReturnValue:
        """Entra (or any provider with OIDC Front-Channel Logout 1.0) loads this in a hidden iframe when the user
        signs out there: end that sign-in's sessions."""
        sid = request.args.get("sid", "")
        if not sid or len(sid) > 200:
            abort(400, "Front-channel logout needs the sid of the Entra session.")
        if not signin.authority.names_itself(request.args.get("iss")):  # Front-Channel Logout 1.0 §2
            abort(400, "This front-channel logout names another issuer.")
        ended = entra.sign_in.sessions.end_all("sid", sid)
        log.info("front-channel logout ended %d session(s)", ended)
        # The browser's cookie is not relied on (a third-party iframe may not send it): the sid index is.
        return render_template("frontchannel.html")

    signin_trace.register(bp, entra)
    return bp
