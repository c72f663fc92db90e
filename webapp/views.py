"""The app's pages: index, sign-in, the redirect URI, sign-out and the Graph call."""

import json
import logging
from urllib.parse import urlencode, urlsplit

from flask import Blueprint, abort, current_app, redirect, render_template, request, session, url_for

from .claims import claims_table
from .csrf import csrf_ok, csrf_token
from .graph import GraphFailure
from .redirects import safe_next
from .signin import USER_KEY, NeedsSignIn

log = logging.getLogger(__name__)

SIGNED_OUT_COOKIE = "signed_out"  # a one-minute flag so the sign-in page can confirm the sign-out
USER_COLUMNS = (
    ("displayName", "Display name"),
    ("mail", "Mail"),
    ("userPrincipalName", "User principal name"),
    ("id", "Id"),
)


def make_views(signin, graph, metadata, endpoint: str) -> Blueprint:
    """Build the blueprint around the app's sign-in, Graph client and authority metadata."""
    bp = Blueprint("main", __name__)
    redirect_path = urlsplit(signin.redirect_uri).path

    @bp.app_context_processor
    def navigation():
        return {"signed_in": bool(session.get(USER_KEY))}  # the session is loaded anyway; no authority call

    bp.before_app_request(signin.end_if_too_old)

    @bp.get("/")
    def index():
        user = signin.user()
        if not user:
            return redirect(url_for("main.login"))
        return render_template("index.html", user=user, claims_table=claims_table(user))

    @bp.get("/login")
    def login():
        next_path = safe_next(request.args.get("next"))
        auth_uri = signin.start(next_path)
        just_signed_out = request.cookies.get(SIGNED_OUT_COOKIE) == "1"
        response = current_app.make_response(
            render_template("login.html", auth_uri=auth_uri, just_signed_out=just_signed_out)
        )
        if just_signed_out:
            response.delete_cookie(SIGNED_OUT_COOKIE)
        return response

    @bp.get(redirect_path, endpoint="auth_response")
    def auth_response():
        return redirect(safe_next(signin.finish(request.args)))

    @bp.get("/logout")
    def logout_confirm():
        return render_template("logout.html", csrf_token=csrf_token())

    @bp.post("/logout")
    def logout():
        if not csrf_ok(request.form.get("csrf_token")):
            abort(400, "This sign-out form has expired or came from another site. Open the sign-out page again.")
        signin.sign_out()
        back = url_for("main.index", _external=True)
        end_session = metadata.end_session_endpoint()
        if end_session:
            separator = "&" if "?" in end_session else "?"
            response = redirect(f"{end_session}{separator}{urlencode({'post_logout_redirect_uri': back})}")
        else:
            response = redirect(back)
        response.set_cookie(
            SIGNED_OUT_COOKIE,
            "1",
            max_age=60,
            httponly=True,
            samesite="Lax",
            secure=current_app.config["SESSION_COOKIE_SECURE"],
        )
        return response

    @bp.get("/call_api")
    def call_api():
        if not signin.user():
            return redirect(url_for("main.login", next=url_for("main.call_api")))
        try:
            token = signin.access_token()
        except NeedsSignIn:
            # Straight to the authority; the user comes back here once signed in again.
            return redirect(signin.start(url_for("main.call_api")))
        try:
            data = graph.get(endpoint, token)
        except GraphFailure as failure:
            return _graph_failure_page(failure)
        users = data.get("value") if isinstance(data, dict) else None
        table = isinstance(users, list) and all(isinstance(item, dict) for item in users)
        return render_template(
            "call_api.html",
            endpoint=endpoint,
            users=users if table else None,
            columns=USER_COLUMNS,
            fields=data if isinstance(data, dict) and not table else None,
            raw=json.dumps(data, indent=2, ensure_ascii=False),
        )

    return bp


def _graph_failure_page(failure: GraphFailure):
    status = failure.status if failure.status in (400, 403, 404, 429) else (504 if failure.status == 504 else 502)
    response = current_app.make_response((render_template("errors/graph.html", failure=failure), status))
    if failure.retry_after and status == 429:
        response.headers["Retry-After"] = str(failure.retry_after)
    return response
