"""A person signs in to the demo (`make run`'s code path, where SIGNIN_TRACE is on by default) and reads what just
happened: the authorize request, the callback, the token request, the ID token's checks and claims."""

import re
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.support.person import expect, url_is

pytestmark = pytest.mark.browser


def test_a_person_reads_the_trace_of_their_sign_in(person, site):
    adele = site.users[0]
    page = person.goto("/")
    page.wait_for_url(url_is(site, "/login"))
    person.step("sign-in")
    sign_in_link = page.get_by_role("link", name="Sign in with Microsoft")
    state = parse_qs(urlsplit(sign_in_link.get_attribute("href") or "").query)["state"][0]
    sign_in_link.click()
    page.wait_for_url(site.mock.front_url + "/**")
    person.step("account-picker")
    page.get_by_role("button", name=re.compile(re.escape(adele.name))).click()
    page.wait_for_url(url_is(site, "/"))
    person.step("signed-in")

    page.get_by_role("main").get_by_role("link", name="What just happened").click()
    page.wait_for_url(url_is(site, "/signin-trace"))
    person.step("signin-trace")
    assert person.h1() == "What just happened"
    authorize = page.get_by_role("table", name=re.compile("Query parameters"))
    expect(authorize.get_by_role("row", name=re.compile(r"^response_type\b"))).to_contain_text("code")
    expect(authorize.get_by_role("row", name=re.compile(r"^code_challenge_method\b"))).to_contain_text("S256")
    expect(authorize.get_by_role("row", name=re.compile(r"^state\b"))).to_contain_text(f"{state[:6]}…")
    expect(page.get_by_role("main")).to_contain_text("not shown")
    expect(page.get_by_role("table", name=re.compile("token response"))).to_contain_text("Bearer")
    checks = page.get_by_role("table", name=re.compile("Each check passed"))
    passed = checks.locator("tbody th").all_inner_texts()
    assert {"signature", "aud", "iss", "exp/nbf/iat", "azp", "tenant", "nonce"} <= set(passed), passed
    claims = page.get_by_role("table", name=re.compile("Claims"))
    expect(claims.get_by_role("row", name=re.compile(r"^oid\b"))).to_contain_text(adele.oid)
    assert state not in page.content(), "the full state is never shown"
    discovery = page.get_by_role("link", name=re.compile("openid-configuration"))
    assert (discovery.get_attribute("href") or "").endswith("/.well-known/openid-configuration")
