"""Graph access tokens cannot be verified by apps: Entra puts a nonce in their JWT header and signs over its
SHA-256, so the published keys do not verify them; only Graph does. ID tokens verify as usual.

Facts: learn.microsoft.com/entra/identity-platform/access-tokens ("Access tokens for Microsoft Graph ... you
can't validate them"; treat access tokens as opaque); AzureAD/azure-activedirectory-identitymodel-extensions-
for-dotnet issue #609 (the header nonce)."""

from __future__ import annotations

import base64
import json

import jwt
import pytest


def published_key(mock, oauth, token: str):
    keys = oauth.session.get(f"{mock.authority}/discovery/v2.0/keys").json()["keys"]
    kid = jwt.get_unverified_header(token)["kid"]
    return jwt.PyJWK(next(k for k in keys if k["kid"] == kid)).key


def with_header(token: str, **changes: str) -> str:
    head, payload, signature = token.split(".")
    header = json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))
    raw = json.dumps({**header, **changes}, separators=(",", ":")).encode()
    return f"{base64.urlsafe_b64encode(raw).rstrip(b'=').decode()}.{payload}.{signature}"


def test_a_graph_token_carries_a_header_nonce_and_fails_verification_with_the_published_keys(mock, oauth):
    body = oauth.sign_in()
    header = jwt.get_unverified_header(body["access_token"])
    assert header["nonce"] and header["alg"] == "RS256" and header["x5t"] == header["kid"]
    key = published_key(mock, oauth, body["access_token"])
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(body["access_token"], key, algorithms=["RS256"], options={"verify_aud": False})
    # The same key verifies the ID token: apps validate ID tokens, never Graph's access tokens.
    claims = jwt.decode(body["id_token"], key, algorithms=["RS256"], audience=mock.config.client_id)
    assert claims["oid"] == mock.state.users[0].oid


def test_graph_accepts_its_token_and_refuses_one_whose_nonce_was_changed(mock, oauth):
    token = oauth.sign_in()["access_token"]
    me = mock.graph_endpoint.removesuffix("/users") + "/me"
    assert oauth.session.get(me, headers={"Authorization": f"Bearer {token}"}).status_code == 200
    forged = with_header(token, nonce="another-nonce")
    refused = oauth.session.get(me, headers={"Authorization": f"Bearer {forged}"})
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "InvalidAuthenticationToken"
