"""What sends a user back to the authority, how often, and which refusals are pages (webapp/challenges.py)."""

import pytest

from webapp import authorities, challenges
from webapp.challenges import (
    MAX_ROUNDS,
    PURPOSE_KEY,
    ROUND_WINDOW,
    ROUNDS_KEY,
    BlockedByPolicy,
    ConsentNotGranted,
    TooManySignIns,
)
from webapp.www_authenticate import UnusableClaims


@pytest.mark.parametrize(
    "authority, capabilities",
    [
        (authorities.entra("https://login.microsoftonline.com/contoso.example"), ("cp1",)),
        (authorities.entra("https://contoso.ciamlogin.com/"), ("cp1",)),
        (authorities.b2c("contoso", "", {"signin": "B2C_1_signin"}), ()),
        (authorities.oidc("https://id.example.test/realm"), ()),
    ],
)
def test_only_entra_and_external_id_are_told_the_app_handles_claims_challenges(authority, capabilities):
    assert authority.client_capabilities == capabilities


def test_two_trips_for_a_page_within_the_window_then_a_page(monkeypatch):
    session: dict = {}
    clock = [1_000_000]
    monkeypatch.setattr(challenges.time, "time", lambda: clock[0])
    for count in range(1, MAX_ROUNDS + 1):
        assert challenges.next_round(session, "/groups", "consent")["count"] == count
    with pytest.raises(TooManySignIns):
        challenges.next_round(session, "/groups", "consent")
    assert challenges.next_round(session, "/manager", "consent")["count"] == 1, "another page counts afresh"
    challenges.next_round(session, "/manager", "consent")
    clock[0] += ROUND_WINDOW
    assert challenges.next_round(session, "/manager", "consent")["count"] == 1, "old trips stop counting"
    challenges.page_answered(session, "/manager")
    assert ROUNDS_KEY not in session


def test_a_block_by_conditional_access_is_a_page_wherever_it_comes_from():
    redirect = {"error": "access_denied", "error_description": "AADSTS53003: Access has been blocked."}
    assert isinstance(challenges.refusal(redirect, {}, "/"), BlockedByPolicy)
    token = {"error": "invalid_grant", "error_codes": [53003], "suberror": "message_only"}
    assert isinstance(challenges.blocked(token), BlockedByPolicy)
    assert challenges.blocked({"error": "invalid_grant", "error_codes": [50076]}) is None


@pytest.mark.parametrize(
    "args, permissions, admin",
    [
        (
            {"error": "access_denied", "error_subcode": "cancel", "error_description": "AADSTS65004: declined"},
            ["User.Read"],
            False,
        ),
        ({"error": "access_denied", "error_description": "AADSTS65004: declined"}, ["user.read.all"], True),
        ({"error": "consent_required", "error_description": "AADSTS65001: not consented"}, ["User.Read"], True),
        ({"error": "access_denied", "error_description": "AADSTS90094: admin permission"}, ["Mail.Read"], True),
    ],
)
def test_consent_refusals_say_whether_an_administrator_is_needed(args, permissions, admin):
    flow = {PURPOSE_KEY: challenges.purpose(permissions, "list your groups")}
    refused = challenges.refusal(args, flow, "/groups")
    assert isinstance(refused, ConsentNotGranted)
    assert refused.admin_required is admin and refused.permissions == tuple(permissions)
    assert refused.purpose == "list your groups" and refused.retry_path == "/groups"


def test_other_errors_of_an_ordinary_sign_in_are_left_to_the_sign_in_error_page():
    assert challenges.refusal({"error": "access_denied"}, {}, "/") is None
    flow = {PURPOSE_KEY: challenges.purpose(["User.Read"], "")}
    assert challenges.refusal({"error": "server_error"}, flow, "/") is None


@pytest.mark.parametrize("text", ["not json", "[1]", '"x"', "{" * 2000, 5])
def test_claims_from_the_authority_must_be_a_json_object(text):
    with pytest.raises(UnusableClaims):
        challenges.usable_claims(text)


def test_claims_from_the_authority_are_kept_as_text():
    assert challenges.usable_claims('{"access_token":{}}') == '{"access_token":{}}'
    assert challenges.usable_claims(None) is None and challenges.usable_claims("") is None


def test_the_admin_consent_url_names_the_users_tenant_and_the_app():
    url = challenges.admin_consent_url("https://login.microsoftonline.com/organizations", "tid-1", "client-1")
    assert url == "https://login.microsoftonline.com/tid-1/adminconsent?client_id=client-1"
    url = challenges.admin_consent_url("https://login.microsoftonline.us/contoso.example", None, "c")
    assert url == "https://login.microsoftonline.us/contoso.example/adminconsent?client_id=c"
