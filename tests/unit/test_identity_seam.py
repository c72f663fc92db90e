"""Contract tests for what webapp/identity_seam.py relies on in identity and msal: an upgrade that changes any of
it fails here, loudly, instead of in a user's sign-in."""

import inspect
import json
from importlib.metadata import version

import identity.web
import msal

from webapp.identity_seam import IDENTITY_VERSION, Auth


def test_identity_is_the_version_the_seam_was_written_for():
    assert version("identity") == IDENTITY_VERSION, "re-read identity/web.py, then update webapp/identity_seam.py"


def test_the_overridden_private_methods_keep_their_signatures():
    assert list(inspect.signature(identity.web.Auth._load_cache).parameters) == ["self"]
    assert list(inspect.signature(identity.web.Auth._build_msal_app).parameters) == [
        "self",
        "client_credential",
        "cache",
    ]
    assert list(inspect.signature(Auth._build_msal_app).parameters) == ["self", "client_credential", "cache"]


def test_the_public_methods_take_what_signin_passes():
    log_in = inspect.signature(identity.web.Auth.log_in).parameters
    assert {"scopes", "redirect_uri", "state", "prompt", "next_link"} <= set(log_in)
    assert list(inspect.signature(identity.web.Auth.complete_log_in).parameters) == ["self", "auth_response"]
    assert list(inspect.signature(identity.web.Auth.get_token_for_user).parameters) == ["self", "scopes"]


def test_identity_keeps_the_user_and_the_cache_in_the_mapping_it_is_given():
    # tests/support/people.py reads the user's claims under this key; _load_cache reads the cache under the other.
    assert identity.web.Auth._USER == "_logged_in_user"
    assert identity.web.Auth._TOKEN_CACHE == "_token_cache"
    assert identity.web.Auth._AUTH_FLOW == "_auth_flow"  # the sign-in trace copies the flow kept there
    session = {}
    auth = identity.web.Auth(session=session, client_id="client", authority="https://login.example.test/tenant")
    auth._save_user_into_session({"oid": "x"})
    assert session == {"_logged_in_user": {"oid": "x"}}, "identity writes into the mapping passed as session"


def test_msal_takes_our_http_client_and_cache():
    parameters = inspect.signature(msal.ConfidentialClientApplication.__init__).parameters
    assert {"http_client", "token_cache", "http_cache", "instance_discovery", "oidc_authority"} <= set(parameters)


def test_identity_calls_the_two_msal_methods_the_seam_gives_a_claims_challenge_and_passes_none_itself():
    # identity_seam._ClaimsChallenged adds claims_challenge= to these calls with setdefault: identity passing its
    # own (even None) would silently drop ours.
    assert "initiate_auth_code_flow(" in inspect.getsource(identity.web.Auth.log_in)
    assert "acquire_token_silent_with_error(" in inspect.getsource(identity.web.Auth._get_token_for_user)
    assert "claims_challenge" not in inspect.getsource(identity.web.Auth)
    for method in (
        msal.ClientApplication.initiate_auth_code_flow,
        msal.ClientApplication.acquire_token_silent_with_error,
    ):
        assert "claims_challenge" in inspect.signature(method).parameters
    assert "client_capabilities" in inspect.signature(msal.ClientApplication.__init__).parameters


def test_msal_merges_cp1_into_the_claims_challenge_json():
    # msal json.loads the challenge when capabilities are set: it must be the decoded JSON, never base64.
    merged = msal.application._merge_claims_challenge_and_capabilities(
        ["cp1"], '{"access_token":{"nbf":{"value":"1"}}}'
    )
    assert json.loads(merged) == {"access_token": {"nbf": {"value": "1"}, "xms_cc": {"values": ["cp1"]}}}
