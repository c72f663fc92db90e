"""Token endpoint: code redemption, PKCE, client auth, refresh, error shape, faults, ID-token defects."""

from __future__ import annotations

import base64
import json
import re
import uuid

import jwt
import pytest

ERROR_FIELDS = {"error", "error_description", "error_codes", "timestamp", "trace_id", "correlation_id", "error_uri"}


def jwks_key(mock, oauth):
    keys = oauth.session.get(f"{mock.authority}/discovery/v2.0/keys").json()["keys"]
    return {k["kid"]: jwt.PyJWK(k).key for k in keys}


def assert_entra_error(response, status: int, error: str, code: int):
    assert response.status_code == status, response.text
    body = response.json()
    assert body.keys() >= ERROR_FIELDS
    assert body["error"] == error
    assert body["error_codes"] == [code]
    assert re.fullmatch(
        rf"AADSTS{code}: .+\r\nTrace ID: {body['trace_id']}\r\nCorrelation ID: {body['correlation_id']}"
        rf"\r\nTimestamp: \d{{4}}-\d\d-\d\d \d\d:\d\d:\d\dZ",
        body["error_description"],
        re.S,
    )
    assert body["error_uri"].endswith(f"/error?code={code}")
    return body


def test_code_redemption_success_shape(mock, oauth):
    flow = oauth.get_code()
    response = oauth.redeem(flow)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store, no-cache"
    assert response.headers["Pragma"] == "no-cache"
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["scope"] == f"{oauth.app_scope} profile openid email", "explicit app scopes must be echoed verbatim"
    assert isinstance(body["expires_in"], int) and isinstance(body["ext_expires_in"], int)
    assert body["refresh_token"] and body["client_info"]
    user = mock.state.users[0]
    assert json.loads(base64.urlsafe_b64decode(body["client_info"] + "==")) == {
        "uid": user.oid,
        "utid": mock.config.tenant_id,
    }
    header = jwt.get_unverified_header(body["id_token"])
    assert header["alg"] == "RS256" and header["typ"] == "JWT" and "kid" in header
    claims = jwt.decode(
        body["id_token"],
        jwks_key(mock, oauth)[header["kid"]],
        algorithms=["RS256"],
        audience=mock.config.client_id,
        issuer=mock.issuer,
    )
    assert claims["nonce"] == flow["nonce"], "nonce must be echoed verbatim"
    assert claims["oid"] == user.oid and claims["preferred_username"] == user.upn
    assert claims["ver"] == "2.0" and claims["tid"] == mock.config.tenant_id
    assert {"iat", "nbf", "exp", "aio", "name", "sub", "sid", "uti", "rh", "login_hint"} <= claims.keys()
    at = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert at["aud"] == "00000003-0000-0000-c000-000000000000" and at["ver"] == "1.0"
    assert at["scp"] == f"{oauth.app_scope} profile openid email" and at["idtyp"] == "user"
    assert at["appid"] == mock.config.client_id and at["upn"] == user.upn


def test_no_refresh_token_without_offline_access(mock, oauth):
    body = oauth.sign_in(scope=f"{oauth.app_scope} openid profile")
    assert "refresh_token" not in body


def test_full_uri_scope_form(mock, oauth):
    body = oauth.sign_in(scope="https://graph.microsoft.com/User.Read offline_access openid profile")
    assert body["scope"] == "openid profile email https://graph.microsoft.com/User.Read"


def test_client_secret_basic_accepted(mock, oauth):
    flow = oauth.get_code()
    basic = base64.b64encode(f"{mock.config.client_id}:{mock.config.client_secret}".encode()).decode()
    response = oauth.redeem(flow, headers={"Authorization": f"Basic {basic}"}, client_id=None, client_secret=None)
    assert response.status_code == 200, response.text


def test_pkce_mismatch_refused(mock, oauth):
    flow = oauth.get_code()
    assert_entra_error(oauth.redeem(flow, code_verifier="x" * 43), 400, "invalid_grant", 501481)


def test_code_reuse_refused(mock, oauth):
    flow = oauth.get_code()
    assert oauth.redeem(flow).status_code == 200
    assert_entra_error(oauth.redeem(flow), 400, "invalid_grant", 54005)


def test_expired_code_refused(mock, oauth):
    flow = oauth.get_code()
    mock.state.advance_clock(mock.config.code_lifetime + 1)
    assert_entra_error(oauth.redeem(flow), 400, "invalid_grant", 70008)


def test_redirect_uri_mismatch_refused(mock, oauth):
    flow = oauth.get_code()
    assert_entra_error(
        oauth.redeem(flow, redirect_uri="https://app.example/auth/callback"), 400, "invalid_grant", 500112
    )


@pytest.mark.parametrize(
    "overrides,status,error,code",
    [
        ({"client_secret": "wrong-secret"}, 401, "invalid_client", 7000215),
        ({"client_secret": None}, 401, "invalid_client", 7000218),
        ({"client_id": "00001111-aaaa-2222-bbbb-3333cccc4444"}, 400, "unauthorized_client", 700016),
        ({"grant_type": "password"}, 400, "unsupported_grant_type", 70003),
        ({"code": "not-a-code"}, 400, "invalid_grant", 9002313),
    ],
)
def test_client_and_grant_errors(mock, oauth, overrides, status, error, code):
    flow = oauth.get_code()
    assert_entra_error(oauth.redeem(flow, **overrides), status, error, code)


def test_correlation_id_echoes_client_request_id(mock, oauth):
    flow = oauth.get_code()
    request_id = str(uuid.uuid4())
    body = assert_entra_error(
        oauth.redeem(flow, client_secret="wrong", headers={"client-request-id": request_id}),
        401,
        "invalid_client",
        7000215,
    )
    assert body["correlation_id"] == request_id
    assert f"Correlation ID: {request_id}" in body["error_description"]
    assert mock.state.requests_to("token")[-1].client_request_id == request_id


def test_refresh_grant_returns_new_refresh_token_and_id_token(mock, oauth):
    first = oauth.sign_in()
    response = oauth.refresh(first["refresh_token"])
    assert response.status_code == 200, response.text
    second = response.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert second["scope"] == f"{oauth.app_scope} profile openid email", "OIDC-only refresh grants consented scopes"
    claims = jwt.decode(second["id_token"], options={"verify_signature": False})
    assert "nonce" not in claims
    assert oauth.refresh(first["refresh_token"]).status_code == 200, "Entra does not revoke the old RT"
    assert mock.state.token_redemptions() == {"authorization_code": 1, "refresh_token": 2}


def test_refresh_for_unconsented_scope_needs_consent(mock, oauth):
    tokens = oauth.sign_in()
    body = assert_entra_error(
        oauth.refresh(tokens["refresh_token"], scope="Mail.Read offline_access openid"), 400, "invalid_grant", 65001
    )
    assert body["suberror"] == "consent_required"


@pytest.mark.parametrize("refresh_token,code,advance", [("bogus", 9002313, 0), (None, 70008, 10**6)])
def test_invalid_or_expired_refresh_token(mock, oauth, refresh_token, code, advance):
    real = oauth.sign_in()["refresh_token"]
    mock.state.advance_clock(advance)
    assert_entra_error(oauth.refresh(refresh_token or real), 400, "invalid_grant", code)


@pytest.mark.parametrize(
    "kind,status,params,retry_after",
    [
        ("invalid_grant", 400, {}, None),
        ("interaction_required", 400, {}, None),
        ("invalid_client", 401, {}, None),
        ("server_error", 500, {}, None),
        ("server_error", 500, {"retry_after": 0}, "0"),
        ("temporarily_unavailable", 503, {}, "5"),
        ("temporarily_unavailable", 503, {"retry_after": 7}, "7"),
    ],
)
def test_token_error_faults(mock, oauth, kind, status, params, retry_after):
    flow = oauth.get_code()
    mock.state.enqueue_fault("token", kind, **params)
    response = oauth.redeem(flow)
    assert response.status_code == status
    assert response.json()["error"] == kind
    assert response.headers.get("Retry-After") == retry_after
    assert oauth.redeem(flow).status_code == 200, "fault consumed; the code is still usable"


def test_slow_token_fault(mock, oauth):
    flow = oauth.get_code()
    mock.state.enqueue_fault("token", "slow", delay=0.3)
    response = oauth.redeem(flow)
    assert response.status_code == 200
    assert response.elapsed.total_seconds() >= 0.3


def _decode_strict(mock, oauth, token, nonce):
    header = jwt.get_unverified_header(token)
    keys = jwks_key(mock, oauth)
    if header["kid"] not in keys:
        raise LookupError("unknown kid")
    claims = jwt.decode(
        token, keys[header["kid"]], algorithms=["RS256"], audience=mock.config.client_id, issuer=mock.issuer, leeway=0
    )
    if claims.get("nonce") != nonce:
        raise ValueError("nonce mismatch")
    return claims


@pytest.mark.parametrize(
    "kind,expected",
    [
        ("id_token_wrong_aud", jwt.InvalidAudienceError),
        ("id_token_wrong_iss", jwt.InvalidIssuerError),
        ("id_token_expired", jwt.ExpiredSignatureError),
        ("id_token_not_yet_valid", jwt.ImmatureSignatureError),
        ("id_token_bad_signature", jwt.InvalidSignatureError),
        ("id_token_unknown_kid", LookupError),
        ("id_token_wrong_nonce", ValueError),
    ],
)
def test_id_token_faults_produce_advertised_defect(mock, oauth, kind, expected):
    flow = oauth.get_code()
    mock.state.enqueue_fault("token", kind)
    body = oauth.redeem(flow).json()
    with pytest.raises(expected):
        _decode_strict(mock, oauth, body["id_token"], flow["nonce"])
    assert body["access_token"], "only the ID token is defective"
    healthy = oauth.sign_in(nonce="n-0")
    assert _decode_strict(mock, oauth, healthy["id_token"], "n-0"), "fault is one-shot"


def test_id_token_missing_fault(mock, oauth):
    flow = oauth.get_code()
    mock.state.enqueue_fault("token", "id_token_missing")
    body = oauth.redeem(flow).json()
    assert "id_token" not in body and body["access_token"]


def test_request_log_holds_no_secrets(mock, oauth):
    flow = oauth.get_code()
    tokens = oauth.redeem(flow).json()
    refreshed = oauth.refresh(tokens["refresh_token"]).json()
    log = repr(mock.state.requests) + repr(oauth.session.get(f"{mock.front_url}/_mock/requests").json())
    for secret in (
        flow["code"],
        flow["verifier"],
        mock.config.client_secret,
        tokens["access_token"],
        tokens["refresh_token"],
        tokens["id_token"],
        refreshed["refresh_token"],
        flow["nonce"],
        flow["sent_state"],
    ):
        assert secret not in log
    assert [r.endpoint for r in mock.state.requests][:4] == ["authorize", "authorize_pick", "token", "token"]
    assert oauth.redirect_uri not in log
