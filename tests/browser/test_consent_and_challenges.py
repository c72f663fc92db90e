"""In a real Chromium: incremental consent (a person opens My groups and accepts, or declines, User.Read on the
consent page; My manager needs User.Read.All, which only an admin may grant), a CAE claims challenge (the user's
sessions are revoked; the next Graph call sends the person through sign-in and back to the page they asked for),
MFA demanded at refresh, and a user blocked by Conditional Access. Every page is checked by Person.

Entra's behaviour: consent-types-developer and permissions-consent-overview ("Need admin approval"),
claims-challenge, reference-error-codes (50076, 53003); the scripted equivalents are in tests/e2e."""

import re

import pytest

from tests.browser.conftest import Site
from tests.support.apps import app_settings, register_app
from tests.support.person import Person, expect, url_is
from tests.support.served import serve_app_at

from .test_sign_in_flow import sign_in

pytestmark = pytest.mark.browser


@pytest.fixture
def own_site(site, tmp_path):
    """The app as a registration of its own at the site's mock: an admin consented only to its default SCOPE."""

    def settings(url):
        client = register_app(site.mock, url)
        return app_settings(site.mock, tmp_path, CLIENT_ID=client.client_id, CLIENT_SECRET=client.client_secret) | {
            "REDIRECT_URI": f"{url}/getAToken"
        }

    with serve_app_at(settings) as (_, url):
        yield Site(url, site.mock)


@pytest.fixture
def own_person(chromium, own_site, request, tmp_path):
    context = chromium.new_context(viewport={"width": 1100, "height": 800}, locale="en-US", color_scheme="light")
    context.set_default_timeout(10_000)
    shots = tmp_path / "shots"
    shots.mkdir()
    person = Person(context, own_site, shots)
    try:
        yield person
        person.assert_clean()
    finally:
        context.close()


def _pick(person, site, user):
    page = person.page
    page.wait_for_url(site.mock.front_url + "/**")
    person.step("account-picker")
    page.get_by_role("button", name=re.compile(re.escape(user.name))).click()


def test_a_person_consents_to_the_permission_a_page_needs_and_lands_on_it(own_person, own_site):
    person, site = own_person, own_site
    user = site.users[0]
    page = sign_in(person, site, user)
    person.step("signed-in")
    page.get_by_role("navigation").get_by_role("link", name="My groups").click()
    _pick(person, site, user)
    page.wait_for_url(site.mock.front_url + "/**")
    person.step("consent")
    assert person.h1() == "Permissions requested"
    assert page.locator("code.permission").all_inner_texts() == ["User.Read"]
    page.get_by_role("button", name="Accept").click()
    page.wait_for_url(url_is(site, "/groups"))
    person.step("groups")
    assert person.h1() == "My groups"


def test_a_person_whose_sessions_were_revoked_signs_in_again_and_lands_on_the_page(person, site):
    user = site.users[0]
    page = sign_in(person, site, user)
    person.step("signed-in")
    page.get_by_role("navigation").get_by_role("link", name="Call Microsoft Graph").click()
    page.wait_for_url(url_is(site, "/call_api"))
    person.step("graph")
    site.mock.state.advance_clock(10)  # the revocation comes after the token was issued
    site.mock.state.revoke_user_sessions(user.oid)
    page.get_by_role("navigation").get_by_role("link", name="Call Microsoft Graph").click()
    _pick(person, site, user)
    page.wait_for_url(url_is(site, "/call_api"))
    person.step("graph-after-challenge")
    assert person.h1() == "Microsoft Graph"
    assert page.get_by_role("table").is_visible()


def _open_and_pick(person, site, user, link):
    page = person.page
    page.get_by_role("navigation").get_by_role("link", name=link).click()
    _pick(person, site, user)
    page.wait_for_url(site.mock.front_url + "/**")
    return page


def _still_signed_in(person, site, user):
    page = person.page
    page.get_by_role("navigation").get_by_role("link", name="Home").click()
    page.wait_for_url(url_is(site, "/"))
    person.step("still-signed-in")
    assert person.h1() == f"Welcome, {user.name}"


def test_a_person_who_declines_sees_what_the_permission_is_for_and_stays_signed_in(own_person, own_site):
    person, site = own_person, own_site
    user = site.users[0]
    sign_in(person, site, user)
    person.step("signed-in")
    page = _open_and_pick(person, site, user, "My groups")
    person.step("consent")
    page.get_by_role("button", name="Cancel").click()
    page.wait_for_url(url_is(site, "/getAToken"))
    person.step("declined", status=403)
    assert person.h1() == "Permission declined"
    main = page.get_by_role("main")
    expect(main.locator("#declined code")).to_have_text("User.Read")
    expect(main).to_contain_text("list the groups you are a member of")
    try_again = main.get_by_role("link", name="Try again")
    expect(try_again).to_have_attribute("href", "/groups")
    _still_signed_in(person, site, user)


def test_a_permission_only_an_admin_may_grant_ends_on_the_admin_consent_page(own_person, own_site):
    person, site = own_person, own_site
    user = site.users[0]
    sign_in(person, site, user)
    person.step("signed-in")
    page = _open_and_pick(person, site, user, "My manager")
    person.step("need-admin-approval")
    assert person.h1() == "Need admin approval"
    page.get_by_role("button", name="Return to the application without granting consent").click()
    page.wait_for_url(url_is(site, "/getAToken"))
    person.step("admin-required", status=403)
    assert person.h1() == "An administrator must grant this permission"
    main = page.get_by_role("main")
    expect(main.locator("#admin-required code")).to_have_text("User.Read.All")
    expect(main).to_contain_text("Grant admin consent")
    expect(main.get_by_role("link", name="the admin consent page")).to_have_attribute(
        "href", re.compile(r"/adminconsent\?client_id=")
    )
    _still_signed_in(person, site, user)


def test_mfa_demanded_at_refresh_is_approved_at_the_authority_and_lands_on_the_page(person, site):
    site.mock.state.configure(access_token_lifetime=200)  # msal refreshes a token with under 300 s left
    user = site.users[0]
    page = sign_in(person, site, user)
    person.step("signed-in")
    site.mock.state.require_mfa(user.oid)
    _open_and_pick(person, site, user, "Call Microsoft Graph")
    person.step("approve-sign-in")
    assert person.h1() == "Approve sign-in request"
    page.get_by_role("button", name="Approve").click()
    page.wait_for_url(url_is(site, "/call_api"))
    person.step("graph-after-mfa")
    assert person.h1() == "Microsoft Graph"
    assert page.get_by_role("table").is_visible()


def test_a_user_blocked_by_conditional_access_sees_why_and_is_not_sent_to_sign_in(person, site):
    site.mock.state.configure(access_token_lifetime=200)  # the block is met at the next refresh
    user = site.users[0]
    page = sign_in(person, site, user)
    person.step("signed-in")
    site.mock.state.block_user(user.oid)
    page.get_by_role("navigation").get_by_role("link", name="Call Microsoft Graph").click()
    page.wait_for_url(url_is(site, "/call_api"))
    person.step("blocked", status=403)
    assert person.h1() == "Access blocked by your organization"
    main = page.get_by_role("main")
    expect(main.locator("#blocked")).to_contain_text("Conditional Access policy")
    expect(main).to_contain_text("AADSTS53003")
    expect(main).to_contain_text("Correlation ID")
