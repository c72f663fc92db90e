"""Helpers for the mock's client-credential tests: a token request with a client assertion, real msal apps,
and the shape of an Entra refusal."""

from __future__ import annotations

import time
import uuid

import jwt
import msal
import requests

from mock_authority.client_auth import ASSERTION_TYPE

GRAPH_DEFAULT = "https://graph.microsoft.com/.default"


def confidential_app(
    mock, client_credential, client_id: str | None = None, **options
) -> msal.ConfidentialClientApplication:
    """A real msal app at the mock's tenant authority (the caller trusts the mock's CA)."""
    return msal.ConfidentialClientApplication(
        client_id or mock.config.client_id,
        client_credential=client_credential,
        authority=mock.authority,
        instance_discovery=False,
        **options,
    )


def app_only_token(app: msal.ConfidentialClientApplication) -> dict:
    """msal's acquire_token_for_client for Graph; a refusal comes back as msal's error dict."""
    return app.acquire_token_for_client([GRAPH_DEFAULT])


def client_credentials_request(oauth, assertion: str, client_id: str | None = None, **form) -> requests.Response:
    """POST grant_type=client_credentials with client_assertion, as msal sends it."""
    data = {
        "client_id": client_id or oauth.mock.config.client_id,
        "grant_type": "client_credentials",
        "scope": GRAPH_DEFAULT,
        "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": assertion,
        **form,
    }
    return oauth.session.post(oauth.token_url(), data={k: v for k, v in data.items() if v is not None})


def own_assertion(key, headers: dict, *, client_id: str, audience: str, algorithm: str = "PS256", **claims) -> str:
    """A client assertion like msal's (iss = sub = client id, 10 minutes, random jti); claims override."""
    now = time.time()
    payload = {
        "aud": audience,
        "iss": client_id,
        "sub": client_id,
        "iat": int(now),
        "exp": int(now) + 600,
        "jti": str(uuid.uuid4()),
        **claims,
    }
    return jwt.encode({k: v for k, v in payload.items() if v is not None}, key, algorithm=algorithm, headers=headers)


def assert_refused(response: requests.Response, code: int, status: int = 401, error: str = "invalid_client") -> dict:
    """Entra's refusal: status, OAuth error, AADSTS code in error_codes and leading the description."""
    body = response.json()
    assert (response.status_code, body.get("error"), body.get("error_codes")) == (status, error, [code]), body
    assert body["error_description"].startswith(f"AADSTS{code}: "), body["error_description"]
    return body


def assert_msal_refused(result: dict, code: int, error: str = "invalid_client") -> None:
    """The same refusal as msal hands it to the app."""
    assert result.get("error") == error and code in result.get("error_codes", []), result
