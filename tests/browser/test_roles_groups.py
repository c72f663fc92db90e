"""A person in Chromium at a site with REQUIRED_ROLES: refused without the role (the 403 page says what is
required and whom to ask, and no session cookie is kept), admitted with it (the index shows roles and groups).

Each page is checked by the `person` fixture (console errors, CSP, title, one h1, named controls)."""

import re
import secrets

import pytest

from serve_local import serve
from tests.browser.conftest import Site
from tests.support.person import expect, url_is

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def admins_only(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("admins-only")
    overrides = {
        "SESSION_FILE_DIR": str(tmp / "sessions"),
        "SECRET_KEY": secrets.token_hex(32),
        "REQUIRED_ROLES": "Admin",
    }
    with serve(port=0, env_file=str(tmp / "absent.env"), overrides=overrides) as (url, mock):
        yield Site(url, mock)


@pytest.fixture
def site(admins_only):
    """This module's site (the people's fixtures use it), reset for each test."""
    admins_only.mock.state.reset()
    return admins_only


def sign_in_as(person, site, alias: str):
    user = next(u for u in site.users if u.upn.startswith(f"{alias}@"))
    page = person.goto("/")
    page.wait_for_url(url_is(site, "/login"))
    person.step("sign-in")
    page.get_by_role("link", name="Sign in with Microsoft").click()
    page.wait_for_url(site.mock.front_url + "/**")
    person.step("account-picker")
    page.get_by_role("button", name=re.compile(re.escape(user.name))).click()
    page.wait_for_url(url_is(site, "/getAToken") if alias == "GradyA" else url_is(site, "/"))
    return page, user


def test_a_user_without_the_required_role_sees_whom_to_ask_and_is_not_signed_in(person, site):
    page, _ = sign_in_as(person, site, "GradyA")
    person.step("refused", status=403)
    assert person.h1() == "You cannot sign in to this site"
    main = page.get_by_role("main")
    expect(main).to_contain_text("Admin")
    expect(main).to_contain_text("Enterprise applications")
    expect(main).to_contain_text("Users and groups")
    expect(main.get_by_role("link", name="Sign in again")).to_be_visible()
    assert not [c for c in person.context.cookies() if "session" in c["name"]], "a refused user has no session"
    person.goto("/").wait_for_url(url_is(site, "/login"))
    person.step("signed-out")


def test_a_user_with_the_required_role_sees_their_roles_and_groups(person, site):
    page, adele = sign_in_as(person, site, "AdeleV")
    person.step("admitted")
    assert person.h1() == f"Welcome, {adele.name}"
    memberships = site.mock.state.memberships
    expect(page.locator("#roles")).to_have_text("Admin")
    for name in ("Contoso Staff", "Retail Managers", "All Managers"):
        expect(page.locator("#groups")).to_contain_text(memberships.find_group(name).id)
    claims = page.get_by_role("table", name=re.compile("Claims"))
    expect(claims.get_by_role("row", name=re.compile(r"^roles\b"))).to_contain_text("Admin")
