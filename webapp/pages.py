"""The app's own pages, written against the extension's public API only: the index, the Graph call, and two
pages that need a permission sign-in did not ask for (incremental consent): the user's groups and manager."""

import json
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for
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
# Least-privileged delegated permissions (https://learn.microsoft.com/graph/api/user-list-transitivememberof,
# .../user-list-manager). User.Read is user-consentable; User.Read.All needs an administrator's consent.
GROUPS_SCOPES = ["User.Read"]
GROUPS_PURPOSE = "list the groups you are a member of, directly or through other groups"
MANAGER_SCOPES = ["User.Read.All"]
MANAGER_PURPOSE = "show who your manager is (reading another user's profile)"
GROUP_COLUMNS = (("displayName", "Name"), ("description", "Description"), ("id", "Object id"))


def blueprint(entra: EntraSignIn, endpoint: str) -> Blueprint:
    bp = Blueprint("main", __name__)

    @bp.get("/")
    def index() -> ResponseReturnValue:
        user = entra.user()  # the claims themselves: each use of the current_user proxy is a lookup
        if not user:
            return redirect(url_for("entra.login"))
        return render_template("index.html", user=user, claims_table=claims_table(user))

    graph = _graph_v1(endpoint)

    @bp.app_context_processor
    def navigation() -> dict[str, Any]:
        return {"graph_pages": graph is not None}

    @bp.get("/call_api")
    @login_required
    def call_api() -> ResponseReturnValue:
        try:
            data = entra.graph_get(endpoint)
        except NeedsSignIn as needed:
            # Straight to the authority (with the claims it asked for); the user comes back here once signed in.
            return entra.redirect_to_sign_in("/call_api", claims=needed.claims)
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

    @bp.get("/groups")
    @login_required(scopes=GROUPS_SCOPES, purpose=GROUPS_PURPOSE)
    def groups() -> ResponseReturnValue:
        if graph is None:
            abort(404)
        url = f"{graph}/me/transitiveMemberOf?$select=id,displayName,description"
        outcome = _graph_call(entra, url, GROUPS_SCOPES, GROUPS_PURPOSE)
        if not isinstance(outcome, dict):
            return outcome
        items = outcome.get("value")
        listed = [item for item in items if isinstance(item, dict)] if isinstance(items, list) else []
        return render_template("groups.html", groups=listed, columns=GROUP_COLUMNS, more="@odata.nextLink" in outcome)

    @bp.get("/manager")
    @login_required(scopes=MANAGER_SCOPES, purpose=MANAGER_PURPOSE)
    def manager() -> ResponseReturnValue:
        if graph is None:
            abort(404)
        outcome = _graph_call(entra, f"{graph}/me/manager", MANAGER_SCOPES, MANAGER_PURPOSE, missing_is_none=True)
        if not isinstance(outcome, dict | None):
            return outcome
        return render_template("manager.html", manager=outcome)

    return bp


def _graph_v1(endpoint: str) -> str | None:
    """Graph's v1.0 root when ENDPOINT is a Graph URL (the app's pages for the user's groups and manager)."""
    parts = urlsplit(endpoint)
    if not parts.path.startswith("/v1.0/"):
        return None
    return f"{parts.scheme}://{parts.netloc}/v1.0"


def _graph_call(entra: EntraSignIn, url: str, scopes: list[str], purpose: str, missing_is_none: bool = False) -> Any:
    """Graph's JSON object, or the response to give instead (sign-in again with the claims asked for, or an
    error page); a 404 is None when missing_is_none."""
    try:
        data = entra.graph_get(url, scopes)
    except NeedsSignIn as needed:
        return entra.redirect_to_sign_in(request.full_path.rstrip("?"), scopes, needed.claims, purpose)
    except GraphFailure as failure:
        if failure.status == 404 and missing_is_none:
            return None
        return _graph_failure_page(failure)
    return (
        data
        if isinstance(data, dict)
        else _graph_failure_page(
            GraphFailure(502, "InvalidResponse", "Microsoft Graph's answer was not a JSON object.")
        )
    )


def _graph_failure_page(failure: GraphFailure) -> ResponseReturnValue:
    status = failure.status if failure.status in (400, 403, 404, 429) else (504 if failure.status == 504 else 502)
    response = current_app.make_response((render_template("errors/graph.html", failure=failure), status))
    if failure.retry_after and status == 429:
        response.headers["Retry-After"] = str(failure.retry_after)
    return response
