"""Garbage from the authority or Graph gives the exceptions the app maps to a 502 page, never a 500; and ID tokens
with several audiences need azp (OIDC Core 3.1.3.7). Real local servers, real classes."""

from __future__ import annotations

import json
import time
import uuid

import jwt
import pytest
import requests

from tests.support.local_upstream import deeply_nested, rsa_jwk, upstream
from webapp.authorities import entra
from webapp.discovery import AuthorityMetadata
from webapp.errors import GraphFailure, IdTokenRejected
from webapp.graph import GraphClient
from webapp.id_token import IdTokenValidator
from webapp.outbound import TimeoutSession

DISCOVERY = "/tenant/v2.0/.well-known/openid-configuration"
CLIENT_ID = str(uuid.uuid4())
TENANT = str(uuid.uuid4())


@pytest.fixture
def server():
    with upstream() as server:
        yield server


def http() -> TimeoutSession:
    return TimeoutSession(2.0, 5.0, total_timeout=5.0)


def metadata_with_jwks(server, body: bytes) -> AuthorityMetadata:
    server.json_route(DISCOVERY, {"issuer": "https://issuer/{tenantid}/v2.0", "jwks_uri": f"{server.url}/keys"})
    server.raw_route("/keys", body)
    return AuthorityMetadata(f"{server.url}/tenant/v2.0/.well-known/openid-configuration", http())


@pytest.mark.parametrize(
    "body",
    [b"[]", b'{"keys": null}', b'{"keys": "abc"}', b'{"keys": ["abc", 1]}', b'{"keys": [[]]}', deeply_nested()],
    ids=["array", "keys-null", "keys-string", "entries-not-objects", "entry-array", "nested-100000"],
)
def test_malformed_jwks_is_a_value_error(server, body):
    meta = metadata_with_jwks(server, body)
    with pytest.raises(ValueError):
        meta.signing_key("k1")


def test_unusable_keys_are_skipped_and_good_ones_kept(server):
    jwk, _ = rsa_jwk("good")
    body = json.dumps({"keys": [{"kid": ["list"], "kty": "RSA"}, {"kid": "bad", "kty": "RSA", "n": 5}, jwk]})
    meta = metadata_with_jwks(server, body.encode())
    assert meta.signing_key("good") is not None
    assert meta.signing_key("bad") is None


@pytest.mark.parametrize(
    "body", [b"[1, 2]", b'"text"', deeply_nested(), b"\xff\xfe{"], ids=["array", "string", "nested", "binary"]
)
def test_malformed_discovery_is_a_value_error(server, body):
    server.raw_route(DISCOVERY, body)
    meta = AuthorityMetadata(f"{server.url}/tenant/v2.0/.well-known/openid-configuration", http())
    with pytest.raises(ValueError):
        meta.document()
    assert meta.end_session_endpoint() is None


def test_a_jwks_uri_that_is_not_a_string_is_a_value_error(server):
    server.json_route(DISCOVERY, {"jwks_uri": ["http://x"]})
    with pytest.raises(ValueError):
        AuthorityMetadata(f"{server.url}/tenant/v2.0/.well-known/openid-configuration", http()).signing_key("k1")


def graph(server, status: int, body: bytes) -> GraphFailure:
    server.raw_route("/v1.0/users", body, status=status)
    with pytest.raises(GraphFailure) as raised:
        GraphClient(http()).get(f"{server.url}/v1.0/users", "token")
    return raised.value


def test_graph_success_nested_100000_deep_is_invalid_response(server):
    failure = graph(server, 200, deeply_nested())
    assert (failure.status, failure.code) == (502, "InvalidResponse")


def test_graph_error_body_that_is_an_array_keeps_the_status(server):
    failure = graph(server, 403, b'[{"error": 1}]')
    assert failure.status == 403 and failure.code == "Forbidden"


def test_graph_error_body_nested_deep_keeps_the_status(server):
    failure = graph(server, 500, deeply_nested())
    assert failure.status == 500 and failure.plain_words == "Microsoft Graph had a problem answering."


def test_graph_error_fields_of_the_wrong_type_are_ignored(server):
    body = json.dumps({"error": {"code": [[1]], "message": {"a": 1}, "innerError": {"request-id": [1]}}})
    failure = graph(server, 404, body.encode())
    assert (failure.code, failure.message, failure.request_id) == ("Not Found", "", None)


def test_graph_body_over_the_cap_is_invalid_response(server):
    server.raw_route("/v1.0/users", b'{"value": "' + b"x" * 3 * 1024 * 1024 + b'"}')
    with pytest.raises(GraphFailure) as raised:
        GraphClient(http()).get(f"{server.url}/v1.0/users", "token")
    assert (raised.value.status, raised.value.code) == (502, "InvalidResponse")


# ID tokens with several audiences (OIDC Core 3.1.3.7, steps 3-5)


def entra_validator(server) -> IdTokenValidator:
    authority = entra(f"{server.url}/tenant")
    return IdTokenValidator(AuthorityMetadata(authority.signin.discovery_url, http()), CLIENT_ID, authority=authority)


@pytest.fixture
def signer(server):
    jwk, private = rsa_jwk("k1")
    server.json_route(DISCOVERY, {"issuer": "https://issuer/{tenantid}/v2.0", "jwks_uri": f"{server.url}/keys"})
    server.json_route("/keys", {"keys": [jwk]})
    validator = entra_validator(server)

    def validate(**claims):
        now = int(time.time())
        payload = {
            "iss": f"https://issuer/{TENANT}/v2.0",
            "tid": TENANT,
            "sub": "someone",
            "iat": now,
            "exp": now + 600,
            **claims,
        }
        return validator.validate(jwt.encode(payload, private, algorithm="RS256", headers={"kid": "k1"}))

    return validate


@pytest.mark.parametrize(
    "claims",
    [
        {"aud": [CLIENT_ID, "other-app"]},
        {"aud": [CLIENT_ID, "other-app"], "azp": "other-app"},
        {"aud": CLIENT_ID, "azp": "other-app"},
        {"aud": [CLIENT_ID], "azp": "other-app"},
    ],
    ids=["several-aud-no-azp", "several-aud-foreign-azp", "one-aud-foreign-azp", "list-aud-foreign-azp"],
)
def test_id_tokens_for_other_parties_are_rejected(signer, claims):
    with pytest.raises(IdTokenRejected, match="azp"):
        signer(**claims)


@pytest.mark.parametrize(
    "claims",
    [{"aud": CLIENT_ID}, {"aud": [CLIENT_ID]}, {"aud": [CLIENT_ID, "other-app"], "azp": CLIENT_ID}],
    ids=["one-aud", "list-of-one", "several-aud-our-azp"],
)
def test_id_tokens_for_this_app_are_accepted(signer, claims):
    assert signer(**claims)["tid"] == TENANT


def test_an_id_token_nested_deep_is_rejected_not_a_crash(signer, server):
    segment = jwt.utils.base64url_encode(deeply_nested()).decode()
    header = jwt.utils.base64url_encode(b'{"alg":"RS256","kid":"k1"}').decode()
    validator = entra_validator(server)
    with pytest.raises(IdTokenRejected):
        validator.validate(f"{header}.{segment}.c2ln")


def test_requests_exceptions_stay_the_contract():
    """The exception types callers map: too large and malformed are 502s, the deadline a 504."""
    from webapp.outbound import DeadlineExceeded, ResponseTooLarge

    assert issubclass(DeadlineExceeded, requests.Timeout)
    assert issubclass(ResponseTooLarge, requests.RequestException)
