"""Claims challenges and Conditional Access, end to end against the mock: the app declares cp1, answers Graph's
insufficient_claims challenge (CAE) silently when it can and through sign-in when it must, retries the call once
and lands on the page asked for; MFA demanded at refresh goes through sign-in; a user blocked by Conditional
Access gets a page, never a retry; and a page that keeps asking for sign-in stops asking.

Entra's behaviour: https://learn.microsoft.com/entra/identity-platform/claims-challenge (the challenge, xms_cc,
retry once), .../app-resilience-continuous-access-evaluation (CAE for cp1 clients), .../reference-error-codes
(50076, 53003), entra-advanced.md §4 (basic_action at refresh)."""

import base64
import json
import uuid
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.support.browser import is_signed_in
from tests.support.html import Page
from webapp.www_authenticate import MAX_CLAIMS_CHARS

CLAIMS = {"access_token": {"nbf": {"essential": True, "value": "1604106651"}}}


def _challenge_header(claims=CLAIMS, encoded=None):
    encoded = encoded or base64.b64encode(json.dumps(claims, separators=(",", ":")).encode()).decode()
    return (
        'Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", '
        f'error="insufficient_claims", claims="{encoded}"'
    )


def _enqueue_graph_challenge(mock, header=None, times=1):
    body = {"error": {"code": "InvalidAuthenticationToken", "message": "Continuous access evaluation challenge."}}
    for _ in range(times):
        mock.state.enqueue_fault(
            "graph", "body", status=401, body=body, headers={"WWW-Authenticate": header or _challenge_header()}
        )


def _authorize_claims(location):
    query = parse_qs(urlsplit(location).query)
    assert "claims" in query, f"the authorize request asks for no claims: {location}"
    return json.loads(query["claims"][0])


def _first_user(mock):
    return mock.state.users[0]


def test_the_app_declares_cp1_at_sign_in(browser, mock_authority):
    login = browser.get("/login")
    claims = _authorize_claims(login.link(id="sign-in"))
    assert claims == {"access_token": {"xms_cc": {"values": ["cp1"]}}}, claims


def test_a_claims_challenge_answered_silently_retries_the_call_once(signed_in, mock_authority):
    _enqueue_graph_challenge(mock_authority)
    mock_authority.state.clear_requests()
    response = signed_in.visit("/call_api")
    assert response.status_code == 200, response.text[:500]
    assert "User principal name" in response.text
    assert len(mock_authority.state.requests_to("graph_users")) == 2, "the call is retried exactly once"
    grants = [r.grant_type for r in mock_authority.state.requests_to("token")]
    assert grants == ["refresh_token"], "the challenge is answered by one refresh, the cached token dropped"


def test_cae_revocation_sends_the_user_through_sign_in_with_the_claims_and_back_to_the_page(signed_in, mock_authority):
    # Warm the cache: the app holds a CAE (cp1) token, then the user's sessions are revoked.
    assert signed_in.visit("/call_api").status_code == 200
    mock_authority.state.advance_clock(10)  # the revocation comes after the token was issued
    mock_authority.state.revoke_user_sessions(_first_user(mock_authority).oid)
    response = signed_in.visit("/call_api")
    assert response.status_code == 302, response.text[:500]
    claims = _authorize_claims(response.headers["Location"])
    assert claims["access_token"]["xms_cc"] == {"values": ["cp1"]}
    assert "nbf" in claims["access_token"], "the challenge's claims go to authorize, merged with cp1"
    assert is_signed_in(signed_in, "/"), "the user's session is kept until a new sign-in replaces it"
    page = signed_in.choose(signed_in.get(response.headers["Location"]))
    assert urlsplit(page.url).path == "/call_api" and page.response.status_code == 200, page.text[:500]
    assert "User principal name" in page.text


def test_mfa_demanded_at_refresh_goes_through_sign_in_with_the_policys_claims(browser, mock_authority):
    mock_authority.state.configure(access_token_lifetime=200)  # msal refreshes a token with under 300 s left
    user = _first_user(mock_authority)
    browser.sign_in()
    policy = mock_authority.state.require_mfa(user.oid)
    response = browser.visit("/call_api")
    assert response.status_code == 302, response.text[:500]
    claims = _authorize_claims(response.headers["Location"])
    assert policy in json.dumps(claims), "the claims of the basic_action answer are asked for at authorize"
    mfa = browser.choose(browser.get(response.headers["Location"]), upn=user.upn)
    form = mfa.form(id="mfa")
    page = Page(browser.http.post(mfa.action_url(form), data={**form.fields, "mfa": "approve"}))
    assert urlsplit(page.url).path == "/call_api" and page.response.status_code == 200, page.text[:500]


def test_a_user_blocked_by_conditional_access_gets_a_page_and_no_retry(browser, mock_authority):
    mock_authority.state.configure(access_token_lifetime=200)
    browser.sign_in()
    mock_authority.state.block_user(_first_user(mock_authority).oid)
    mock_authority.state.clear_requests()
    for _ in range(2):
        response = browser.visit("/call_api")
        assert response.status_code == 403, response.text[:500]
        assert "Access blocked by your organization" in response.text and "AADSTS53003" in response.text
        assert "Correlation ID" in response.text
    assert mock_authority.state.requests_to("authorize") == [], "blocking is never answered with another sign-in"


def test_a_page_that_keeps_challenging_stops_after_two_sign_ins(signed_in, mock_authority):
    # Each visit: the call, a silent answer, the one retry; both challenged. Three visits' worth.
    _enqueue_graph_challenge(mock_authority, times=6)
    response = signed_in.visit("/call_api")
    for _ in range(2):
        assert response.status_code == 302 and "/authorize?" in response.headers["Location"], response.text[:300]
        picker = signed_in.get(response.headers["Location"])
        response = signed_in.http.post(
            picker.action_url(picker.form(id="account-picker")),
            data={**picker.form(id="account-picker").fields, "account": _first_user(mock_authority).oid},
            allow_redirects=False,
        )
        response = signed_in.http.get(response.headers["Location"], allow_redirects=False)  # the redirect URI
        assert urlsplit(response.headers["Location"]).path == "/call_api"
        response = signed_in.visit("/call_api")
    assert response.status_code == 403, "a third trip to the authority for the same page is a page, not a loop"
    assert "keeps asking for another sign-in" in response.text
    assert is_signed_in(signed_in, "/")


@pytest.mark.parametrize(
    "header",
    [
        _challenge_header(encoded="%%%not base64%%%"),
        _challenge_header(encoded=base64.b64encode(b"not json").decode()),
        'Bearer error="insufficient_claims", claims="unclosed',
        "Bearer " + ", ".join(f'p{i}="v"' for i in range(3000)),
    ],
    ids=["bad-base64", "not-json", "unclosed-quote", "huge"],
)
def test_an_unusable_claims_challenge_is_a_502_page_not_a_loop(signed_in, mock_authority, header):
    _enqueue_graph_challenge(mock_authority, header=header)
    response = signed_in.visit("/call_api")
    assert response.status_code == 502, response.text[:500]
    assert "InvalidChallenge" in response.text and "You are still signed in" in response.text


def _padded_to(size, claims):
    text = json.dumps(claims, separators=(",", ":"))
    claims["access_token"]["pad"] = "p" * (size - len(text) - len(',"pad":""'))
    assert len(json.dumps(claims, separators=(",", ":"))) == size
    return claims


def _interactive_challenge(mock, claims):
    mock.state.advance_clock(10)
    mock.state.revoke_user_sessions(_first_user(mock).oid)  # no silent answer: the claims go to authorize
    _enqueue_graph_challenge(mock, header=_challenge_header(claims=claims))


def test_the_largest_claims_challenge_accepted_fits_the_pending_sign_in(signed_in, mock_authority):
    # The claims ride in the sealed pending sign-in cookie (twice: msal's flow and the authorize URL). Policy ids
    # as Entra sends them (GUIDs), at the size limit.
    policies = [str(uuid.uuid4()) for _ in range(12)]
    big = _padded_to(MAX_CLAIMS_CHARS, {"access_token": {"capolids": {"essential": True, "values": policies}}})
    _interactive_challenge(mock_authority, big)
    response = signed_in.visit("/call_api")
    assert response.status_code == 302, response.text[:500]
    assert _authorize_claims(response.headers["Location"])["access_token"]["capolids"]["values"] == policies


def test_claims_too_large_for_the_pending_sign_in_are_a_502_page(signed_in, mock_authority):
    # Within the size limit, but punctuation that the authorize URL escapes three times over.
    nested = _padded_to(MAX_CLAIMS_CHARS, {"access_token": {"n": [[[]]] * 50}})
    nested["access_token"]["pad"] = "%" * len(nested["access_token"]["pad"])
    _interactive_challenge(mock_authority, nested)
    response = signed_in.visit("/call_api")
    assert response.status_code == 502 and "too large for this site to request" in response.text, response.text[:500]


def test_unusable_claims_from_the_token_endpoint_are_a_502_page(browser, mock_authority):
    mock_authority.state.configure(access_token_lifetime=200)
    browser.sign_in()
    body = {"error": "invalid_grant", "suberror": "basic_action", "error_codes": [50076], "claims": "{not json"}
    mock_authority.state.enqueue_fault("token", "body", status=400, body=body)
    response = browser.visit("/call_api")
    assert response.status_code == 502 and "malformed_response" in response.text, response.text[:500]
