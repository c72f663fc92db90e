"""What a person does in a browser: sign in on the account picker, see their claims, call Graph, sign out.

Every page visited is checked (console errors, CSP violations, title, one h1, named controls) by the
`person` fixture, and a screenshot of each step lands in test-artifacts/screenshots/<test>/.
Run with UPDATE_DOCS_SCREENSHOTS=1 to refresh the README's screenshots in docs/screenshots/.
"""

import re
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.support.person import expect, url_is

pytestmark = pytest.mark.browser


def open_picker(person, site, doc=None):
    """Open / as a person would, get sent to sign in, click "Sign in with Microsoft"."""
    page = person.goto("/")
    page.wait_for_url(url_is(site, "/login"))
    person.step("sign-in")
    assert person.h1() == "Sign in"
    page.get_by_role("link", name="Sign in with Microsoft").click()
    page.wait_for_url(site.mock.front_url + "/**")
    person.step("account-picker", doc=doc)
    assert person.h1() == "Pick an account"
    return page


def sign_in(person, site, user, doc=None):
    page = open_picker(person, site, doc)
    page.get_by_role("button", name=re.compile(re.escape(user.name))).click()
    page.wait_for_url(url_is(site, "/"))
    return page


def test_sign_in_see_claims_call_graph_and_sign_out(person, site):
    adele = site.users[0]
    page = sign_in(person, site, adele, doc="account-picker")
    person.step("signed-in", doc="index")
    assert person.h1() == f"Welcome, {adele.name}"
    claims = page.get_by_role("table", name=re.compile("Claims"))
    expect(claims.get_by_role("row", name=re.compile(r"^oid\b"))).to_contain_text(adele.oid)
    expect(claims.get_by_role("row", name=re.compile(r"^preferred_username\b"))).to_contain_text(adele.upn)
    assert any(cookie["name"] == "session" and cookie["httpOnly"] for cookie in person.context.cookies()), (
        "the browser kept no HttpOnly session cookie"
    )

    page.get_by_role("main").get_by_role("link", name="Call Microsoft Graph").click()
    page.wait_for_url(url_is(site, "/call_api"))
    person.step("graph-users", doc="call-api")
    assert person.h1() == "Microsoft Graph"
    users = page.get_by_role("table")
    expect(users.locator("caption")).to_have_text(f"{len(site.users)} users")
    for user in site.users:
        expect(users.get_by_role("row", name=re.compile(re.escape(user.name)))).to_contain_text(user.upn)

    page.get_by_role("navigation").get_by_role("link", name="Sign out").click()
    page.wait_for_url(url_is(site, "/logout"))
    person.step("sign-out-confirm")
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(url_is(site, "/login"))
    person.step("signed-out")
    assert person.h1() == "Sign in"
    assert site.mock.state.requests_to("logout"), "sign-out never reached the authority's end-session endpoint"

    person.goto("/")  # signed out for real: home sends the person to sign in again
    page.wait_for_url(url_is(site, "/login"))
    person.step("home-after-sign-out")
    # A person never left plain-http localhost pages, so no certificate warning could have appeared.
    assert all(url.startswith("http://localhost:") for url in person.visited), person.visited


def test_cancel_on_account_picker_shows_access_denied_and_try_again(person, site):
    page = open_picker(person, site)
    page.get_by_role("button", name="Cancel").click()
    page.wait_for_url(url_is(site, "/getAToken"))
    person.step("cancelled", doc="error", status=403)
    assert person.h1() == "Sign-in failed"
    expect(page.get_by_role("main")).to_contain_text("access_denied")
    expect(page.get_by_role("main")).to_contain_text("cancelled")

    page.get_by_role("link", name="Try signing in again").click()
    page.wait_for_url(url_is(site, "/login"))
    person.step("try-again")
    expect(page.get_by_role("link", name="Sign in with Microsoft")).to_be_visible()


def test_a_second_browser_stays_signed_out(new_person, site):
    first, second = new_person("first"), new_person("second")
    adele = site.users[0]
    sign_in(first, site, adele)
    first.step("first-signed-in")

    second.goto("/")
    second.page.wait_for_url(url_is(site, "/login"))
    second.step("second-home")
    assert second.h1() == "Sign in"
    second.goto("/call_api")
    second.page.wait_for_url(url_is(site, "/login"))
    second.step("second-call-api")
    assert parse_qs(urlsplit(second.page.url).query)["next"] == ["/call_api"]
    assert adele.name not in second.page.content()

    first.page.reload()
    first.step("first-still-signed-in")
    assert first.h1() == f"Welcome, {adele.name}"
