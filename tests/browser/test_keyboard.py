"""The whole flow with the keyboard alone: Tab to a control, Enter to use it; no mouse clicks."""

import re

import pytest

from tests.support.person import url_is

pytestmark = pytest.mark.browser


def test_sign_in_call_graph_and_sign_out_with_the_keyboard_alone(person, site):
    megan = site.users[-1]
    page = person.goto("/")
    page.wait_for_url(url_is(site, "/login"))
    person.step("sign-in")

    person.activate("Sign in with Microsoft", then=site.mock.front_url + "/**")
    person.step("account-picker")
    person.activate(re.compile(re.escape(megan.name)), role="button", then=url_is(site, "/"))
    person.step("signed-in")
    assert person.h1() == f"Welcome, {megan.name}"

    person.activate("Call Microsoft Graph", then=url_is(site, "/call_api"))
    person.step("graph-users")
    assert page.get_by_role("table").get_by_role("row").count() == len(site.users) + 1

    person.activate("Sign out", then=url_is(site, "/logout"))
    person.step("sign-out-confirm")
    person.activate("Sign out", role="button", then=url_is(site, "/login"))
    person.step("signed-out")
    assert person.h1() == "Sign in"


def test_cancel_with_the_keyboard_alone(person, site):
    person.goto("/login")
    person.step("sign-in")
    person.activate("Sign in with Microsoft", then=site.mock.front_url + "/**")
    person.step("account-picker")
    person.activate("Cancel", role="button", then=url_is(site, "/getAToken"))
    person.step("cancelled", status=403)
    person.activate("Try signing in again", then=url_is(site, "/login"))
    person.step("try-again")
