"""Conditional Access and Continuous Access Evaluation, as the authorize, token and Graph endpoints apply them:
a blocked user (AADSTS53003), MFA required of a user (AADSTS50076/50079 at refresh, an approval step at
sign-in), sessions revoked (refresh tokens refused with AADSTS50173; Graph challenges CAE tokens issued
before). State lives in policies.py; each endpoint calls one function here.

Sources: https://learn.microsoft.com/entra/identity-platform/claims-challenge (challenge header, xms_cc),
https://learn.microsoft.com/entra/identity/conditional-access/concept-continuous-access-evaluation (CAE only for
capable clients), https://learn.microsoft.com/entra/identity-platform/reference-error-codes (53003, 50076, 50079,
50173). Response shapes that the docs leave out (suberror, the claims member) follow answers observed from Entra."""

from __future__ import annotations

import base64
import datetime
import json

from flask import render_template, request
from werkzeug.wrappers import Response as BaseResponse

from . import claims_request
from .errors import EntraError, GraphError
from .models import AuthCode, PendingAuthorization, RefreshGrant
from .policies import MfaPolicy
from .runtime import current_state, current_urls
from .tokens import GRAPH_APP_ID

BLOCKED = "Access has been blocked by Conditional Access policies. The access policy does not allow token issuance."
MFA_TEXT = {
    50076: "Due to a configuration change made by your administrator, or because you moved to a new location, you "
    f"must use multi-factor authentication to access '{GRAPH_APP_ID}'.",
    50079: "Due to a configuration change made by your administrator, or because you moved to a new location, you "
    f"must enroll in multi-factor authentication to access '{GRAPH_APP_ID}'.",
}
# What Graph says when CAE finds a token issued before the user's sessions were revoked.
CAE_MESSAGE = (
    "Continuous access evaluation resulted in challenge with result: InteractionRequired and code: "
    "TokenIssuedBeforeRevocationTimestamp"
)
MFA_APPROVED = "approve"  # the MFA page's form value


def _policy_claims(policy_id: str) -> str:
    """The claims request Entra returns with a Conditional Access failure: satisfy this policy."""
    return json.dumps({"access_token": {"capolids": {"essential": True, "values": [policy_id]}}}, separators=(",", ":"))


def _stamp(ts: float) -> str:
    return datetime.datetime.fromtimestamp(ts, datetime.UTC).strftime("%m/%d/%Y %H:%M:%S")


def _parsed(raw: str | None, target: tuple[str, str | None] | None = None) -> claims_request.ClaimsRequest:
    try:
        return claims_request.parse(raw)
    except claims_request.MalformedClaims as exc:
        # Entra's code for a malformed claims parameter is not documented: 90014-style invalid_request.
        raise EntraError("invalid_request", 90014, str(exc), redirect=target) from None


# -- authorize ---------------------------------------------------------------------------------------------


def check_authorize_claims(target: tuple[str, str | None]) -> None:
    """Refuse an authorize request whose claims parameter is not a claims request (an error redirect)."""
    _parsed(request.args.get("claims"), target)


def _session_sid(user_oid: str, cookie: str | None) -> str | None:
    accounts = current_state().sessions.accounts(cookie)
    return next((a.sid for a in accounts if a.user_oid == user_oid), None)


def _mfa_done(sid: str | None) -> bool:
    """The session's sign-in used MFA, and its sessions were not revoked since."""
    policies = current_state().policies
    facts = policies.sign_in_of(sid) if sid else None
    if facts is None or not facts.mfa:
        return False
    revoked = policies.revoked_at(facts.user_oid)
    return revoked is None or facts.authenticated_at >= revoked


def check_silent(user_oid: str, cookie: str | None, target: tuple[str, str | None]) -> None:
    """prompt=none: what Conditional Access and revocation refuse without interaction (error redirects)."""
    state = current_state()
    policies = state.policies
    if policies.blocking_policy(user_oid):
        raise EntraError("access_denied", 53003, BLOCKED, redirect=target)
    sid = _session_sid(user_oid, cookie)
    facts = policies.sign_in_of(sid) if sid else None
    revoked = policies.revoked_at(user_oid)
    wanted = _parsed(request.args.get("claims"), target).not_before
    if facts is not None and (
        (revoked is not None and facts.authenticated_at < revoked)
        or (wanted is not None and facts.authenticated_at < wanted)
    ):
        raise EntraError("interaction_required", 50173, _revoked_text(facts.authenticated_at, revoked), redirect=target)
    mfa = policies.mfa_policy(user_oid)
    if mfa is not None and not _mfa_done(sid):
        raise EntraError("interaction_required", mfa.code, MFA_TEXT[mfa.code], redirect=target)


def interactive_step(pending: PendingAuthorization, user_oid: str, cookie: str | None) -> BaseResponse | None:
    """After the account is picked: Entra's block page, or the MFA approval page (None: go on and issue a code)."""
    state = current_state()
    if state.policies.blocking_policy(user_oid):
        raise EntraError("", 53003, BLOCKED, page=True)
    mfa = state.policies.mfa_policy(user_oid)
    if mfa is None or _mfa_done(_session_sid(user_oid, cookie)):
        return None
    if request.form.get("mfa") == MFA_APPROVED:
        state.policies.approve_mfa(user_oid)
        return None
    return _mfa_page(pending, user_oid, mfa)


def _mfa_page(pending: PendingAuthorization, user_oid: str, mfa: MfaPolicy) -> BaseResponse:
    state = current_state()
    user = state.find_user(user_oid)
    html = render_template(
        "mfa.html",
        ctx=state.grants.add_pending(pending),  # the picked request continues on the approval page
        action=request.path,
        user=user,
        enroll=mfa.code == 50079,
    )
    return BaseResponse(html, 200, content_type="text/html; charset=utf-8")


def note_sign_in(sid: str, user_oid: str) -> None:
    """An account was picked on the page (a POST: a fresh authentication); a silent sign-in proves nothing new."""
    if request.method == "POST":
        state = current_state()
        state.policies.signed_in(sid, user_oid, state.now())


# -- token -------------------------------------------------------------------------------------------------


def _revoked_text(issued: float, revoked: float | None) -> str:
    valid_from = _stamp(revoked) if revoked is not None else _stamp(issued)
    return (
        "The provided grant has expired due to it being revoked, a fresh auth token is needed. The user might have "
        f"changed or reset their password. The grant was issued on '{_stamp(issued)}' and the TokensValidFrom date "
        f"(before which tokens are not valid) for this user is '{valid_from}'."
    )


def _check_grant(user_oid: str, sid: str, issued_at: float) -> None:
    """Conditional Access at the token endpoint, for a code or refresh token issued at `issued_at`."""
    policies = current_state().policies
    blocking = policies.blocking_policy(user_oid)
    if blocking is not None:
        raise EntraError(
            "invalid_grant", 53003, BLOCKED, extra={"suberror": "message_only", "claims": _policy_claims(blocking)}
        )
    revoked = policies.revoked_at(user_oid)
    if revoked is not None and issued_at < revoked:
        raise EntraError("invalid_grant", 50173, _revoked_text(issued_at, revoked))
    mfa = policies.mfa_policy(user_oid)
    if mfa is not None and not _mfa_done(sid):
        raise EntraError(
            "invalid_grant",
            mfa.code,
            MFA_TEXT[mfa.code],
            extra={"suberror": "basic_action", "claims": _policy_claims(mfa.policy_id)},
        )


def check_code(code: AuthCode) -> None:
    """Conditional Access when a code is redeemed (the claims parameter is checked too)."""
    _parsed(request.form.get("claims"))
    facts = current_state().policies.sign_in_of(code.sid)
    _check_grant(code.user_oid, code.sid, facts.authenticated_at if facts else current_state().now())


def check_refresh(refresh_token: str, grant: RefreshGrant) -> None:
    """Conditional Access and revocation when a refresh token is redeemed."""
    _parsed(request.form.get("claims"))
    issued_at = current_state().grants.refresh_issued_at(refresh_token)
    _check_grant(grant.user_oid, grant.sid, issued_at)


def session_claims(sid: str) -> dict[str, object]:
    """What the sign-in and this token request add to a Graph access token: amr with mfa, xms_cc for cp1."""
    extra: dict[str, object] = {}
    if _mfa_done(sid):
        extra["amr"] = ["pwd", "mfa"]
    wanted = _parsed(request.form.get("claims"))
    if wanted.capabilities:
        extra["xms_cc"] = list(wanted.capabilities)
    return extra


# -- Graph -------------------------------------------------------------------------------------------------


def claims_challenge(not_before: int) -> str:
    """The WWW-Authenticate value of a CAE claims challenge (realm empty: the common endpoint's authorize URI)."""
    claims = json.dumps({"access_token": {"nbf": {"essential": True, "value": str(not_before)}}}, separators=(",", ":"))
    encoded = base64.b64encode(claims.encode()).decode()
    return (
        f'Bearer realm="", authorization_uri="{current_urls().front_url}/common/oauth2/authorize", '
        f'client_id="{GRAPH_APP_ID}", error="insufficient_claims", claims="{encoded}"'
    )


def check_graph_token(claims: dict[str, object]) -> None:
    """CAE at Graph: a cp1 client's token issued before the user's sessions were revoked gets a claims challenge.
    Tokens of clients that did not declare cp1 are not CAE tokens: they stay valid until they expire."""
    xms_cc = claims.get("xms_cc")
    if not isinstance(xms_cc, list) or "cp1" not in [str(c).lower() for c in xms_cc]:
        return
    revoked = current_state().policies.revoked_at(str(claims.get("oid", "")))
    issued = claims.get("iat")
    if revoked is not None and isinstance(issued, int) and issued < int(revoked):
        raise GraphError(
            401, "InvalidAuthenticationToken", CAE_MESSAGE, www_authenticate=claims_challenge(int(revoked))
        )
