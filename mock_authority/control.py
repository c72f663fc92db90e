"""The /_mock/* control API: the same operations as MockState, over JSON for demo and browser use."""

from __future__ import annotations

import dataclasses
from typing import Any

from flask import Blueprint, Response, jsonify, request

from . import managed_identity
from .faults import describe
from .runtime import current_state, current_urls

bp = Blueprint("control", __name__, url_prefix="/_mock")


def _body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    return body if isinstance(body, dict) else {}


def _bad_request(message: str) -> tuple[Response, int]:
    return jsonify({"error": "bad_request", "message": message}), 400


@bp.post("/reset")
def reset():
    """Forget codes, tokens, faults, log, clock offset and SSO sessions; re-seed users."""
    current_state().reset()
    return jsonify({"status": "reset"})


@bp.post("/faults")
def add_fault():
    """Queue a one-shot fault: {"endpoint", "kind", ...params}."""
    body = _body()
    endpoint, kind = body.pop("endpoint", None), body.pop("kind", None)
    try:
        fault = current_state().enqueue_fault(str(endpoint), str(kind), **body)
    except (TypeError, ValueError) as exc:
        return _bad_request(str(exc))
    return jsonify(describe(fault)), 201


@bp.get("/faults")
def list_faults():
    """Faults still queued."""
    return jsonify([describe(f) for f in current_state().faults])


@bp.get("/requests")
def list_requests():
    """The request log (no secrets, codes or tokens are ever recorded); ?endpoint= filters it."""
    state = current_state()
    endpoint = request.args.get("endpoint")
    records = state.requests_to(endpoint) if endpoint else state.requests
    return jsonify([dataclasses.asdict(r) for r in records])


@bp.delete("/requests")
def clear_requests():
    """Empty the request log."""
    current_state().clear_requests()
    return jsonify({"status": "cleared"})


@bp.get("/connections")
def connections():
    """New connections each listener accepted since the last reset: {"back": n, "front": n}."""
    state = current_state()
    return jsonify({listener: state.connections_opened(listener) for listener in ("back", "front")})


@bp.post("/clock")
def clock():
    """Advance the injected clock: {"advance": seconds}."""
    try:
        offset = current_state().advance_clock(float(_body().get("advance", 0)))
    except (TypeError, ValueError) as exc:
        return _bad_request(str(exc))
    return jsonify({"offset": offset})


@bp.get("/users")
def list_users():
    """The directory, with DemoUser field names."""
    return jsonify([u._asdict() for u in current_state().users])


@bp.post("/users")
def add_user():
    """Add a user: {"name", "upn", ...optional DemoUser fields}."""
    try:
        user = current_state().add_user(**_body())
    except (TypeError, ValueError) as exc:
        return _bad_request(str(exc))
    return jsonify(user._asdict()), 201


@bp.post("/settings")
def settings():
    """Change access_token_lifetime, id_token_lifetime, refresh_token_lifetime, code_lifetime, graph_latency."""
    try:
        in_force = current_state().configure(**_body())
    except (TypeError, ValueError) as exc:
        return _bad_request(str(exc))
    return jsonify(in_force)


@bp.get("/clients")
def list_clients():
    """The registered apps (without their secrets)."""
    return jsonify([client.public() for client in current_state().clients.values()])


@bp.post("/clients")
def register_client():
    """Register another app until the next reset: {"client_id"?, "client_secret"?, "redirect_uris": [...],
    "frontchannel_logout_uri"?}; answers with the registration, secret included."""
    try:
        client = current_state().register_client(**_body())
    except (TypeError, ValueError) as exc:
        return _bad_request(str(exc))
    return jsonify({**client.public(), "client_secret": client.client_secret}), 201


@bp.get("/logouts")
def list_logouts():
    """Each end-session request: logout_hint, post_logout_redirect_uri, whether it was accepted, the sids
    ended and the front-channel logout URLs the sign-out page loaded."""
    return jsonify([dataclasses.asdict(e) for e in current_state().logouts])


@bp.get("/frontchannel")
def list_frontchannel_calls():
    """Every front-channel logout URL the sign-out page asked the browser to load."""
    return jsonify([dataclasses.asdict(c) for c in current_state().frontchannel_calls])


@bp.get("/drips")
def list_drips():
    """Drip faults since the last reset: endpoint, total and sent bytes, whether each ended."""
    return jsonify([dataclasses.asdict(d) for d in current_state().drips])


# -- credentials other than a secret (credentials.py) ------------------------------------------------------


@bp.post("/clients/<client_id>/certificates")
def add_certificate(client_id: str) -> tuple[Response, int]:
    """Upload a certificate to an app: {"certificate_pem", "subject_name_issuer"?}; answers with its thumbprints."""
    body = _body()
    try:
        registered = current_state().add_certificate(
            client_id, str(body["certificate_pem"]).encode(), bool(body.get("subject_name_issuer", False))
        )
    except (KeyError, TypeError, ValueError) as exc:
        return _bad_request(str(exc))
    return jsonify(
        {
            "client_id": client_id,
            "sha1": registered.sha1.hex().upper(),
            "sha256": registered.sha256.hex().upper(),
            "not_after": registered.not_after.isoformat(),
            "subject_name_issuer": registered.subject_name_issuer,
        }
    ), 201


@bp.post("/clients/<client_id>/federated-credentials")
def add_federated_credential(client_id: str) -> tuple[Response, int]:
    """Add a federated identity credential: {"issuer", "subject", "audience"?}."""
    try:
        credential = current_state().add_federated_credential(client_id, **_body())
    except (TypeError, ValueError) as exc:
        return _bad_request(str(exc))
    return jsonify(dataclasses.asdict(credential)), 201


@bp.post("/clients/<client_id>/secret")
def allow_client_secret(client_id: str) -> tuple[Response, int]:
    """{"allowed": false}: the app has no secret (any client_secret then fails as a wrong one)."""
    allowed = _body().get("allowed")
    if not isinstance(allowed, bool):
        return _bad_request('"allowed" must be true or false')
    try:
        current_state().allow_client_secret(client_id, allowed)
    except ValueError as exc:
        return _bad_request(str(exc))
    return jsonify({"client_id": client_id, "secret_allowed": allowed}), 200


@bp.post("/managed-identities")
def add_managed_identity():
    """Create a user-assigned managed identity: {"client_id"?}; answers with what an app sets in its environment."""
    try:
        identity = current_state().add_managed_identity(_body().get("client_id"))
    except (TypeError, ValueError) as exc:
        return _bad_request(str(exc))
    return jsonify(
        {
            "client_id": identity.client_id,
            "principal_id": identity.principal_id,
            "identity_endpoint": current_urls().front_url + managed_identity.PATH,
            "identity_header": identity.identity_header,
        }
    ), 201


@bp.post("/workload-tokens")
def mint_workload_token():
    """A token from the mock's workload-identity issuer: {"subject", "audience"?, "lifetime"?}."""
    try:
        token = current_state().mint_workload_token(**_body())
    except (TypeError, ValueError) as exc:
        return _bad_request(str(exc))
    return jsonify({"token": token, "issuer": current_state().workload_issuer()}), 201


# -- Conditional Access and CAE (conditional_access.py) ------------------------------------------------------


@bp.post("/users/<oid>/revoke-sessions")
def revoke_user_sessions(oid: str) -> tuple[Response, int]:
    """Revoke the user's sessions and refresh tokens (as revokeSignInSessions); answers with the revocation time."""
    try:
        revoked_at = current_state().revoke_user_sessions(oid)
    except ValueError as exc:
        return _bad_request(str(exc))
    return jsonify({"oid": oid, "revoked_at": revoked_at}), 200


@bp.post("/users/<oid>/require-mfa")
def require_mfa(oid: str) -> tuple[Response, int]:
    """{"code"?: 50076 | 50079, "required"?: true}: a policy requires MFA of the user (false: lifts it)."""
    body = _body()
    try:
        if body.get("required", True) is False:
            current_state().lift_mfa(oid)
            return jsonify({"oid": oid, "required": False}), 200
        policy_id = current_state().require_mfa(oid, int(body.get("code", 50076)))
    except (TypeError, ValueError) as exc:
        return _bad_request(str(exc))
    return jsonify({"oid": oid, "required": True, "policy_id": policy_id}), 200


@bp.post("/users/<oid>/block")
def block_user(oid: str) -> tuple[Response, int]:
    """{"blocked": true | false}: a Conditional Access policy blocks the user (AADSTS53003), or stops doing so."""
    blocked = _body().get("blocked", True)
    if not isinstance(blocked, bool):
        return _bad_request('"blocked" must be true or false')
    try:
        current_state().block_user(oid, blocked)
    except ValueError as exc:
        return _bad_request(str(exc))
    return jsonify({"oid": oid, "blocked": blocked}), 200


# -- groups, app roles, managers (memberships.py) ------------------------------------------------------------


@bp.get("/groups")
def list_groups():
    """Every group: id, display_name, security_enabled, description."""
    return jsonify([dataclasses.asdict(g) for g in current_state().memberships.groups])


@bp.post("/groups")
def add_group() -> tuple[Response, int]:
    """Create a group: {"name", "security_enabled"?, "description"?}."""
    try:
        group = current_state().add_group(**_body())
    except (TypeError, ValueError) as exc:
        return _bad_request(str(exc))
    return jsonify(dataclasses.asdict(group)), 201


@bp.post("/groups/<group_id>/members")
def add_member(group_id: str) -> tuple[Response, int]:
    """Add a user (oid or UPN) or a group (id) to a group: {"member_id"}."""
    try:
        current_state().add_member(group_id, str(_body()["member_id"]))
    except (KeyError, ValueError) as exc:
        return _bad_request(str(exc))
    return jsonify({"group_id": group_id, "member_id": _body()["member_id"]}), 201


@bp.post("/clients/<client_id>/roles")
def assign_role(client_id: str) -> tuple[Response, int]:
    """Assign an app role to a user (oid or UPN) or a group (id): {"principal_id", "value"}."""
    body = _body()
    try:
        current_state().assign_role(client_id, str(body["principal_id"]), str(body["value"]))
    except (KeyError, ValueError) as exc:
        return _bad_request(str(exc))
    return jsonify({"client_id": client_id, "principal_id": body["principal_id"], "value": body["value"]}), 201


@bp.post("/clients/<client_id>/group-claims")
def set_group_membership_claims(client_id: str) -> tuple[Response, int]:
    """{"value": null | "SecurityGroup" | "All"}: the app's groupMembershipClaims until the next reset."""
    try:
        client = current_state().set_group_membership_claims(client_id, _body().get("value"))
    except ValueError as exc:
        return _bad_request(str(exc))
    return jsonify(client.public()), 200


@bp.post("/users/<oid>/manager")
def set_manager(oid: str) -> tuple[Response, int]:
    """{"manager": oid or UPN, or null to remove it}."""
    try:
        current_state().set_manager(oid, _body().get("manager"))
    except ValueError as exc:
        return _bad_request(str(exc))
    return jsonify({"oid": oid, "manager": _body().get("manager")}), 200


@bp.get("/users/<oid>/memberships")
def user_memberships(oid: str) -> tuple[Response, int]:
    """A user's direct and transitive group ids and, for ?client_id= (default: the configured app), app roles."""
    state = current_state()
    user = state.find_user(oid)
    if user is None:
        return _bad_request(f"no user with oid or UPN {oid}")
    client_id = request.args.get("client_id", state.config.client_id)
    return jsonify(
        {
            "oid": user.oid,
            "member_of": [g.id for g in state.memberships.member_of(user.oid)],
            "transitive_member_of": [g.id for g in state.memberships.transitive_member_of(user.oid)],
            "roles": state.memberships.roles(client_id, user.oid),
            "manager": state.memberships.manager_of(user.oid),
        }
    ), 200


# -- consent (consent.py) ----------------------------------------------------------------------------------


@bp.post("/clients/<client_id>/admin-consent")
def grant_admin_consent(client_id: str) -> tuple[Response, int]:
    """An admin consents for a tenant's users: {"scopes": "User.Read.All ...", "tenant_id"?} (no tenant: every
    tenant); answers with the permissions granted, canonical."""
    body = _body()
    try:
        granted = current_state().grant_admin_consent(client_id, body["scopes"], body.get("tenant_id"))
    except (KeyError, TypeError, ValueError) as exc:
        return _bad_request(str(exc))
    return jsonify({"client_id": client_id, "tenant_id": body.get("tenant_id"), "granted": sorted(granted)}), 201


@bp.post("/clients/<client_id>/user-consent")
def grant_user_consent(client_id: str) -> tuple[Response, int]:
    """A user consents for themself: {"user": oid or UPN, "scopes": "..."}; answers with the permissions granted."""
    body = _body()
    try:
        granted = current_state().grant_user_consent(str(body["user"]), client_id, body["scopes"])
    except (KeyError, TypeError, ValueError) as exc:
        return _bad_request(str(exc))
    return jsonify({"client_id": client_id, "user": body["user"], "granted": sorted(granted)}), 201


@bp.get("/clients/<client_id>/consent")
def list_consent(client_id: str) -> Response | tuple[Response, int]:
    """?user=oid or UPN: the Graph permissions the app holds for that user (theirs and their tenant admin's)."""
    try:
        granted = current_state().granted_permissions(request.args.get("user", ""), client_id)
    except ValueError as exc:
        return _bad_request(str(exc))
    return jsonify({"client_id": client_id, "user": request.args.get("user"), "granted": sorted(granted)})
