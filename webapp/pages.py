"""The app's own pages, written against the extension's public API only: the index and the Graph call."""

import json

from flask import Blueprint, current_app, redirect, render_template, url_for
from flask.typing import ResponseReturnValue

from .claims import claims_table
from .errors import GraphFailure, NeedsSignIn
from .extension import EntraSignIn, login_required

USER_COLUMNS = (
    ("displayName", "Display name"),
    ("mail", "Mail"),
    ("userPrincipalName", "User principal name"),
    ("id", "Id"),
)


def blueprint(entra: EntraSignIn, endpoint: str) -> Blueprint:
    bp = Blueprint("main", __name__)

    @bp.get("/")
    def index() -> ResponseReturnValue:
        user = entra.user()  # the claims themselves: each use of the current_user proxy is a lookup
        if not user:
            return redirect(url_for("entra.login"))
        return render_template("index.html", user=user, claims_table=claims_table(user))

    @bp.get("/call_api")
    @login_required
    def call_api() -> ResponseReturnValue:
        try:
            data = entra.graph_get(endpoint)
        except NeedsSignIn:
            # Straight to the authority; the user comes back here once signed in again.
            return entra.redirect_to_sign_in("/call_api")
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


def _graph_failure_page(failure: GraphFailure) -> ResponseReturnValue:
    status = failure.status if failure.status in (400, 403, 404, 429) else (504 if failure.status == 504 else 502)
    response = current_app.make_response((render_template("errors/graph.html", failure=failure), status))
    if failure.retry_after and status == 429:
        response.headers["Retry-After"] = str(failure.retry_after)
    return response
