"""In a real Chromium: incremental consent (a person opens My groups, consents to User.Read on the consent page
and lands on their groups) and a CAE claims challenge (the user's sessions are revoked; the next Graph call sends
the person through sign-in and back to the page they asked for). Every page is checked by Person."""

import re

import pytest

from tests.browser.conftest import Site
from tests.support.apps import app_settings, register_app
from tests.support.person import Person, url_is
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
