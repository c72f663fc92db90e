"""App roles and groups end to end: REQUIRED_ROLES and ALLOWED_GROUPS at sign-in, a group overage resolved through
the mock's Graph, and requires_role / requires_group on single pages. A refused user leaves nothing in the store.

The mock's demo directory (mock_authority/memberships.py): Adele Vance holds Admin and is in Contoso Staff and
Retail Managers (nested in All Managers); Alex Wilber holds Reader and is in Contoso Staff and Marketing; Grady
Archie holds no role; Lee Gu is in 251 groups, past the 200 a token carries (id-token-claims-reference)."""

import socket
import uuid

import pytest

from tests.support.apps import TEST_CLIENT_ID, app_settings, serve_app
from tests.support.browser import ScriptedBrowser, assert_signed_out
from tests.support.served import serve_wsgi
from tests.support.store import read_session, stored_sessions
from webapp import requires_group, requires_role
from webapp.authorization import GROUPS_KEY

ADMIN_HOME = "Admin console"
# Reading one's own memberships needs User.Read (user-list-transitivememberof), which a registration has by default.
SCOPE = "User.Read User.ReadBasic.All"


def upn(mock, alias: str) -> str:
    return next(u.upn for u in mock.state.users if u.upn.startswith(f"{alias}@"))


def group_id(mock, name: str) -> str:
    return mock.state.memberships.find_group(name).id


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def site(mock_authority, tmp_path):
    """serve(**settings): the app with these settings, and a fresh browser at it."""
    served = []

    def serve(**overrides):
        context = serve_app(app_settings(mock_authority, tmp_path, **{"SCOPE": SCOPE, **overrides}))
        app, url = context.__enter__()
        served.append(context)
        app.url = url
        return app, ScriptedBrowser(url)

    yield serve
    for context in reversed(served):
        context.__exit__(None, None, None)


def assert_refused_without_a_session(app, browser, page, status=403):
    assert page.response.status_code == status, page.text[:300]
    assert stored_sessions(app) == 0, "a refused sign-in stores no session"
    assert not [c for c in browser.http.cookies if "session" in c.name], "and sets no session cookie"
    assert_signed_out(browser, why="refused at sign-in")


def test_a_user_holding_a_required_role_signs_in_and_sees_it(site, mock_authority):
    app, browser = site(REQUIRED_ROLES="Approver, Admin")
    page = browser.sign_in(upn=upn(mock_authority, "AdeleV"))
    assert page.h1 == "Welcome, Adele Vance"
    assert "Admin" in page.text.split("App roles", 1)[1].split("Groups", 1)[0], "the roles section lists Admin"
    assert stored_sessions(app) == 1


@pytest.mark.parametrize("alias", ["GradyA", "AlexW"], ids=["no-role", "another-role"])
def test_a_user_without_a_required_role_is_refused_with_whom_to_ask(site, mock_authority, alias):
    app, browser = site(REQUIRED_ROLES="Admin")
    page = browser.sign_in(upn=upn(mock_authority, alias))
    assert_refused_without_a_session(app, browser, page)
    assert page.h1 == "You cannot sign in to this site"
    assert "Admin" in page.text and "Enterprise applications" in page.text and "Users and groups" in page.text
    assert TEST_CLIENT_ID in page.text, "the administrator can find the app by its client id"
    assert page.link(href="/login")


def test_a_role_held_through_a_group_counts(site, mock_authority):
    # Entra puts roles assigned to a group in its members' tokens (configure-tokens-group-claims-app-roles).
    _app, browser = site(REQUIRED_ROLES="Reader")
    assert browser.sign_in(upn=upn(mock_authority, "MeganB")).h1 == "Welcome, Megan Bowen"


def test_a_member_of_an_allowed_group_signs_in_also_through_a_nested_group(site, mock_authority):
    _app, browser = site(ALLOWED_GROUPS=f"{uuid.uuid4()},{group_id(mock_authority, 'All Managers').upper()}")
    page = browser.sign_in(upn=upn(mock_authority, "AdeleV"))
    assert page.h1 == "Welcome, Adele Vance"
    assert group_id(mock_authority, "All Managers") in page.text.split("Groups", 1)[1]


def test_a_user_in_none_of_the_allowed_groups_is_refused(site, mock_authority):
    allowed = group_id(mock_authority, "Retail Managers")
    app, browser = site(ALLOWED_GROUPS=allowed)
    page = browser.sign_in(upn=upn(mock_authority, "AlexW"))
    assert_refused_without_a_session(app, browser, page)
    assert allowed in page.text and "add you to one of the groups" in page.text


def test_a_role_and_a_group_are_both_required_when_both_are_set(site, mock_authority):
    app, browser = site(REQUIRED_ROLES="Admin", ALLOWED_GROUPS=group_id(mock_authority, "Marketing"))
    assert_refused_without_a_session(app, browser, browser.sign_in(upn=upn(mock_authority, "AdeleV")))


def test_an_overage_is_resolved_once_through_graph_and_kept_with_the_session(site, mock_authority):
    project = group_id(mock_authority, "Project 250")
    app, browser = site(ALLOWED_GROUPS=project)
    page = browser.sign_in(upn=upn(mock_authority, "LeeG"))
    assert page.h1 == "Welcome, Lee Gu", page.text[:300]
    assert "251" in page.text and "Microsoft Graph" in page.text, "the page says the groups came from Graph"
    kept = read_session(app, browser.session_cookie())[GROUPS_KEY]
    assert project in kept and len(kept) == 251
    browser.get("/")
    browser.get("/call_api")
    asked = mock_authority.state.requests_to("graph_transitive_member_of")
    assert len(asked) == 1 and asked[0].status == 200, "once per sign-in, not per page"
    assert mock_authority.state.token_redemptions()["refresh_token"] == 0, "the sign-in's token had User.Read"


def test_an_overage_gets_its_user_read_token_by_refresh_when_scope_does_not_ask_for_it(site, mock_authority):
    # User.Read is consented (the registration's default) but not in SCOPE: msal redeems the refresh token for it.
    app, browser = site(SCOPE="User.ReadBasic.All", ALLOWED_GROUPS=group_id(mock_authority, "Project 001"))
    assert browser.sign_in(upn=upn(mock_authority, "LeeG")).h1 == "Welcome, Lee Gu"
    assert mock_authority.state.token_redemptions()["refresh_token"] == 1, "one refresh, for User.Read"
    assert len(read_session(app, browser.session_cookie())[GROUPS_KEY]) == 251


def test_an_overage_without_the_allowed_group_is_refused(site, mock_authority):
    app, browser = site(ALLOWED_GROUPS=group_id(mock_authority, "Marketing"))
    assert_refused_without_a_session(app, browser, browser.sign_in(upn=upn(mock_authority, "LeeG")))
    assert len(mock_authority.state.requests_to("graph_transitive_member_of")) == 1


def test_an_overage_that_graph_cannot_answer_fails_closed(site, mock_authority):
    # Graph unreachable (its ENDPOINT's host): nobody is admitted on a guess, nor told they are no member.
    app, browser = site(
        ALLOWED_GROUPS=group_id(mock_authority, "Contoso Staff"),
        ENDPOINT=f"https://127.0.0.1:{closed_port()}/v1.0/users",
    )
    page = browser.sign_in(upn=upn(mock_authority, "LeeG"))
    assert_refused_without_a_session(app, browser, page, status=503)
    assert page.h1 == "Your group memberships could not be checked"
    assert "you were not signed in" in page.text and "Microsoft Graph could not be reached" in page.text


@pytest.mark.parametrize(("status", "retry_after"), [(500, None), (503, 30), (429, 30), (401, None)])
def test_an_overage_that_graph_refuses_to_answer_fails_closed(site, mock_authority, status, retry_after):
    app, browser = site(ALLOWED_GROUPS=group_id(mock_authority, "Contoso Staff"))
    fault = {"retry_after": retry_after} if retry_after else {}
    mock_authority.state.enqueue_fault("graph", "status", status=status, **fault)
    page = browser.sign_in(upn=upn(mock_authority, "LeeG"))
    assert_refused_without_a_session(app, browser, page, status=503)
    assert f"(Graph: {status} " in page.text, "the page says what Graph answered"
    assert browser.sign_in(upn=upn(mock_authority, "LeeG")).h1 == "Welcome, Lee Gu", "once Graph answers, admitted"


def test_an_overage_is_resolved_even_when_no_group_is_required(site, mock_authority):
    app, browser = site(ENDPOINT=f"https://127.0.0.1:{closed_port()}/v1.0/users")
    assert_refused_without_a_session(app, browser, browser.sign_in(upn=upn(mock_authority, "LeeG")), status=503)
    _app, fine = site()
    assert fine.sign_in(upn=upn(mock_authority, "AdeleV")).h1 == "Welcome, Adele Vance", "no overage: no Graph call"


def app_with_gated_pages(mock, tmp_path, url: str, group: str):
    from app import create_app

    app = create_app(app_settings(mock, tmp_path, REDIRECT_URI=f"{url}/getAToken", SCOPE=SCOPE))

    @app.get("/admin")
    @requires_role("Admin")
    def admin():
        return ADMIN_HOME

    @app.get("/managers")
    @requires_group(group)
    def managers():
        return "Managers only"

    return app


def test_requires_role_and_requires_group_gate_single_pages(mock_authority, tmp_path):
    managers = group_id(mock_authority, "All Managers")
    with serve_wsgi(lambda url: app_with_gated_pages(mock_authority, tmp_path, url, managers)) as (_app, url):
        visitor = ScriptedBrowser(url)
        first = visitor.http.get(f"{url}/admin", allow_redirects=False)
        assert first.status_code == 302 and "/login?next=/admin" in first.headers["Location"], "sign in first"
        assert visitor.sign_in(upn=upn(mock_authority, "AdeleV"), next_path="/admin").text == ADMIN_HOME
        assert visitor.get("/managers").text == "Managers only"

        alex = ScriptedBrowser(url)
        assert alex.sign_in(upn=upn(mock_authority, "AlexW")).h1 == "Welcome, Alex Wilber", "no site-wide gate"
        for path, required in (("/admin", "Admin"), ("/managers", managers)):
            page = alex.get(path)
            assert page.response.status_code == 403 and page.h1 == "You cannot open this page"
            assert required in page.text and "Users and groups" in page.text
        assert alex.get("/").h1 == "Welcome, Alex Wilber", "a refused page does not end the session"


def test_requires_group_sees_an_overage_as_graph_resolved_it(mock_authority, tmp_path):
    project = group_id(mock_authority, "Project 007")
    with serve_wsgi(lambda url: app_with_gated_pages(mock_authority, tmp_path, url, project)) as (_app, url):
        lee = ScriptedBrowser(url)
        assert lee.sign_in(upn=upn(mock_authority, "LeeG"), next_path="/managers").text == "Managers only"
        assert lee.get("/admin").response.status_code == 403
