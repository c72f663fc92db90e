"""What sends a signed-in user back to the authority, how often, and the pages for what another sign-in cannot fix.

- A claims challenge (Graph's 401 insufficient_claims, CAE) or Conditional Access at refresh (interaction_required,
  invalid_grant with suberror basic_action, AADSTS50076/50079, often with claims): sign in again asking for those
  claims, silently first (https://learn.microsoft.com/entra/identity-platform/claims-challenge).
- A permission sign-in did not ask for (incremental consent): sign in again asking for it. Declined (access_denied,
  AADSTS65004, error_subcode=cancel) or needing an administrator (consent_required, AADSTS65001, 90094, 90095, or a
  permission only an admin may consent to): a page that says so and how to get it.
- Blocked by Conditional Access (AADSTS53003): a page, never retried.
- At most MAX_ROUNDS trips to the authority for one page within ROUND_WINDOW, then a page instead of a loop
  (a tenant that requires admin consent answers the same way every time: Microsoft.Identity.Web #853).
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit

from flask import Flask, current_app, render_template

from . import aadsts
from .errors import SignInFailure
from .session_store import StoreUnavailable
from .www_authenticate import MAX_CLAIMS_CHARS, UnusableClaims

MAX_ROUNDS = 2
ROUND_WINDOW = 300  # seconds
ROUNDS_KEY = "webapp.rounds"  # in the session, and in a pending sign-in's flow (the new session inherits it)
PURPOSE_KEY = "webapp.purpose"  # in a pending sign-in's flow: the permissions asked for, and what for
BLOCKED_CODE = "53003"
ADMIN_CONSENT_CODES = ("65001", "90094", "90095")
# Graph's delegated permissions marked "Admin consent required" (https://learn.microsoft.com/graph/permissions-
# reference): Entra shows "Need admin approval" for them, and the user's way back is the same access_denied as a
# decline, so the app tells the two apart by what it asked for.
ADMIN_ONLY_PERMISSIONS = frozenset(
    p.lower()
    for p in (
        "User.Read.All",
        "User.ReadWrite.All",
        "Directory.Read.All",
        "Directory.ReadWrite.All",
        "Group.Read.All",
        "Group.ReadWrite.All",
        "GroupMember.Read.All",
        "AuditLog.Read.All",
        "Application.Read.All",
        "Sites.Read.All",
    )
)


class ClaimsChallenge(Exception):
    """A resource refused the access token until it carries these claims (the decoded JSON of the challenge)."""

    def __init__(self, claims: str, request_id: str | None = None):
        super().__init__("insufficient_claims")
        self.claims = claims
        self.request_id = request_id


@dataclass(eq=False)
class BlockedByPolicy(SignInFailure):
    """AADSTS53003: a Conditional Access policy blocks this user or this sign-in; no retry helps."""

    @property
    def explanation(self) -> aadsts.Explanation | None:
        return aadsts.explain(BLOCKED_CODE)  # whichever code Entra named first


@dataclass(eq=False)
class ConsentNotGranted(SignInFailure):
    """The permissions a page needs were declined, or need an administrator's consent."""

    permissions: tuple[str, ...] = ()
    purpose: str = ""
    retry_path: str = "/"
    admin_required: bool = False


@dataclass(eq=False)
class TooManySignIns(Exception):
    """The authority kept asking for another sign-in for the same page: stop, and say what is needed."""

    path: str
    reason: str
    permissions: tuple[str, ...] = field(default=())


def usable_claims(text: Any) -> str | None:
    """A claims request from the authority's answer (JSON text), checked; None if there is none."""
    if text is None or text == "":
        return None
    if not isinstance(text, str) or len(text) > MAX_CLAIMS_CHARS:
        raise UnusableClaims("the claims request is too large, or not text")
    try:
        claims = json.loads(text)
    except (ValueError, RecursionError):
        raise UnusableClaims("the claims request is not JSON") from None
    if not isinstance(claims, dict):
        raise UnusableClaims("the claims request is not a JSON object")
    return text


def codes_of(result: Mapping[str, Any]) -> set[str]:
    """The AADSTS codes of an error: the token endpoint's error_codes, or those in the description."""
    return set(aadsts.codes_of(result))


def next_round(session: MutableMapping[str, Any], path: str, reason: str, permissions: tuple[str, ...] = ()) -> dict:
    """Count another trip to the authority for path (kept in session; also put it in the new sign-in's flow),
    or raise TooManySignIns."""
    now = int(time.time())
    last = session.get(ROUNDS_KEY)
    count, since = 1, now
    recent = isinstance(last, dict) and isinstance(last.get("since"), int) and now - last["since"] < ROUND_WINDOW
    if recent and isinstance(last, dict) and last.get("path") == path and isinstance(last.get("count"), int):
        count, since = last["count"] + 1, last["since"]
    if count > MAX_ROUNDS:
        raise TooManySignIns(path, reason, permissions)
    record = {"path": path, "count": count, "since": since}
    session[ROUNDS_KEY] = record
    return record


def page_answered(session: MutableMapping[str, Any], path: str) -> None:
    """The page got what it needed: its trips to the authority no longer count."""
    last = session.get(ROUNDS_KEY)
    if isinstance(last, dict) and last.get("path") == path:
        session.pop(ROUNDS_KEY, None)


def purpose(permissions: list[str], why: str) -> dict[str, Any]:
    """What a pending sign-in for more permissions remembers, to explain a refusal."""
    return {"permissions": list(permissions), "why": why}


def refusal(args: Mapping[str, Any], flow: Mapping[str, Any], next_path: str) -> SignInFailure | None:
    """The page for an error on the authority's redirect that another sign-in would not fix, or None."""
    if (policy := blocked(args)) is not None:
        return policy
    codes = codes_of(args)
    asked = flow.get(PURPOSE_KEY)
    if not isinstance(asked, dict):
        return None
    permissions = tuple(str(p) for p in asked.get("permissions") or ())
    error = args.get("error")
    admin = error == "consent_required" or bool(codes & set(ADMIN_CONSENT_CODES))
    if not admin and error != "access_denied":
        return None
    return ConsentNotGranted(
        **_fields(SignInFailure.from_result(403, dict(args))),
        permissions=permissions,
        purpose=str(asked.get("why") or ""),
        retry_path=next_path,
        admin_required=admin or any(p.lower() in ADMIN_ONLY_PERMISSIONS for p in permissions),
    )


def blocked(result: Mapping[str, Any]) -> BlockedByPolicy | None:
    """The page for AADSTS53003 in an authority's answer, or None."""
    if BLOCKED_CODE not in codes_of(result):
        return None
    return BlockedByPolicy(**_fields(SignInFailure.from_result(403, dict(result))))


def _fields(failure: SignInFailure) -> dict[str, Any]:
    return {f.name: getattr(failure, f.name) for f in dataclasses.fields(SignInFailure)}


def admin_consent_url(authority: str, tenant: str | None, client_id: str) -> str:
    """Entra's admin consent endpoint for this app in the user's tenant (or the configured one)."""
    parts = urlsplit(authority)
    configured = parts.path.strip("/").split("/")[0]
    chosen = tenant or configured or "organizations"
    return f"{parts.scheme}://{parts.netloc}/{chosen}/adminconsent?{urlencode({'client_id': client_id})}"


def register_pages(app: Flask) -> None:
    """The pages for these failures (registered after errors.register_error_pages: Flask picks the most
    specific class)."""

    @app.errorhandler(BlockedByPolicy)
    def blocked_page(failure: BlockedByPolicy) -> Any:
        current_app.logger.warning("blocked by Conditional Access: %s", failure.log_fields())
        return render_template("errors/blocked.html", failure=failure), 403

    @app.errorhandler(ConsentNotGranted)
    def consent_not_granted(failure: ConsentNotGranted) -> Any:
        current_app.logger.info("permissions not granted: %s", failure.log_fields())
        return render_template("errors/consent.html", failure=failure, **_admin_consent()), 403

    @app.errorhandler(TooManySignIns)
    def too_many(error: TooManySignIns) -> Any:
        current_app.logger.warning("sign-in loop stopped for %s (%s)", error.path, error.reason)
        return render_template("errors/sign_in_loop.html", error=error, **_admin_consent()), 403


def _admin_consent() -> dict[str, Any]:
    """The admin consent URL for the signed-in user's tenant (Entra only), for the pages above."""
    from .extension import extension  # the extension imports this module

    entra = extension()
    if entra.authority.kind != "entra":
        return {"admin_consent_url": None}
    try:  # an error page must render: the tenant is only a convenience in the URL
        user = entra.user() or {}
    except (SignInFailure, StoreUnavailable):
        user = {}
    tid = user.get("tid") if isinstance(user.get("tid"), str) else None
    return {"admin_consent_url": admin_consent_url(entra.settings.authority, tid, entra.settings.client_id)}
