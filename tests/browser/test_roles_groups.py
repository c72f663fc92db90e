"""A person in Chromium at a site with REQUIRED_ROLES: refused without the role (the 403 page says what is
required and whom to ask, and no session cookie is kept), admitted with it (the index shows roles and groups).
And at sites with ALLOWED_GROUPS: a member admitted (through a nested group, or as an overage whose groups the app
reads from Graph at sign-in), a non-member refused, overage or not (id-token-claims-reference: groups overage).

Each page is checked by the `person` fixture (console errors, CSP, title, one h1, named controls)."""

import contextlib
import re
import secrets
import uuid
from dataclasses import dataclass

import pytest

from serve_local import serve
from tests.browser.conftest import Site
from tests.support.apps import APP_PERMISSIONS, app_settings
from tests.support.person import expect, url_is
from tests.support.served import serve_app_at

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


# Each gated site admits the members of one group: Adele is in All Managers through Retail Managers; Lee Gu, an
# overage, is in Project 250 and not in All Managers; Alex is in neither.
GATES = ("All Managers", "Project 250")


@dataclass
class GatedApp:
    """An app at the module's mock with ALLOWED_GROUPS, registered as an app of its own."""

    site: Site
    client_id: str
    client_secret: str

    def register(self):
        """Register it again at the freshly reset mock: groups in its tokens, and User.Read consented (an overage's
        groups are read with it, user-list-transitivememberof)."""
        state = self.site.mock.state
        state.register_client(
            client_id=self.client_id,
            client_secret=self.client_secret,
            redirect_uris=(f"{self.site.url}/getAToken", f"{self.site.url}/"),
            group_membership_claims="SecurityGroup",
        )
        state.grant_admin_consent(self.client_id, f"{APP_PERMISSIONS} User.Read")


@pytest.fixture(scope="module")
def gated_apps(admins_only, tmp_path_factory):
    mock = admins_only.mock
    with contextlib.ExitStack() as stack:
        apps = {}
        for group in GATES:
            client_id, client_secret = str(uuid.uuid4()), secrets.token_urlsafe(32)
            settings = app_settings(
                mock,
                tmp_path_factory.mktemp("gated"),
                CLIENT_ID=client_id,
                CLIENT_SECRET=client_secret,
                SCOPE="User.Read User.ReadBasic.All",
                ALLOWED_GROUPS=mock.state.memberships.find_group(group).id,  # ids survive resets (memberships.py)
            )
            _, url = stack.enter_context(
                serve_app_at(lambda url, settings=settings: {**settings, "REDIRECT_URI": f"{url}/getAToken"})
            )
            apps[group] = GatedApp(Site(url, mock), client_id, client_secret)
        yield apps


@pytest.fixture
def site(admins_only, gated_apps, request):
    """This module's site (the people's fixtures use it), reset for each test: the admins-only site, or the app
    gated on the `group` a test is parametrized with."""
    admins_only.mock.state.reset()
    if "group" not in request.fixturenames:
        return admins_only
    gated = gated_apps[request.getfixturevalue("group")]
    gated.register()
    return gated.site


def group_id(site, name: str) -> str:
    return site.mock.state.memberships.find_group(name).id


def sign_in_as(person, site, alias: str, then: str = "/"):
    user = next(u for u in site.users if u.upn.startswith(f"{alias}@"))
    page = person.goto("/")
    page.wait_for_url(url_is(site, "/login"))
    person.step("sign-in")
    page.get_by_role("link", name="Sign in with Microsoft").click()
    page.wait_for_url(site.mock.front_url + "/**")
    person.step("account-picker")
    page.get_by_role("button", name=re.compile(re.escape(user.name))).click()
    page.wait_for_url(url_is(site, then))
    return page, user


def test_a_user_without_the_required_role_sees_whom_to_ask_and_is_not_signed_in(person, site):
    page, _ = sign_in_as(person, site, "GradyA", then="/getAToken")
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


@pytest.mark.parametrize(
    ("group", "alias"),
    [("All Managers", "AdeleV"), ("Project 250", "LeeG")],
    ids=["through-a-nested-group", "overage-read-from-graph"],
)
def test_a_member_of_an_allowed_group_is_admitted(person, site, group, alias):
    page, user = sign_in_as(person, site, alias)
    person.step("admitted")
    assert person.h1() == f"Welcome, {user.name}"
    expect(page.locator("#groups")).to_contain_text(group_id(site, group))
    asked = site.mock.state.requests_to("graph_transitive_member_of")
    if alias == "LeeG":
        expect(
            page.get_by_text(re.compile(r"251, more than a token carries: read from Microsoft Graph"))
        ).to_be_visible()
        assert len(asked) == 1, "an overage's groups are read from Graph once, at sign-in"
    else:
        assert asked == [], "groups in the token: no Graph call"


@pytest.mark.parametrize(
    ("group", "alias"),
    [("All Managers", "LeeG"), ("Project 250", "AlexW")],
    ids=["overage-not-a-member", "not-a-member"],
)
def test_a_user_in_none_of_the_allowed_groups_is_refused_and_not_signed_in(person, site, group, alias):
    page, _ = sign_in_as(person, site, alias, then="/getAToken")
    person.step("refused", status=403)
    assert person.h1() == "You cannot sign in to this site"
    main = page.get_by_role("main")
    expect(main).to_contain_text(group_id(site, group))
    expect(main).to_contain_text("add you to one of the groups")
    expect(main.get_by_role("link", name="Sign in again")).to_be_visible()
    assert not [c for c in person.context.cookies() if "session" in c["name"]], "a refused user has no session"
    if alias == "LeeG":
        assert len(site.mock.state.requests_to("graph_transitive_member_of")) == 1, "refused after Graph answered"
    person.goto("/").wait_for_url(url_is(site, "/login"))
    person.step("signed-out")
