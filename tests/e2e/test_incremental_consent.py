"""Incremental consent, end to end against the mock: a page that needs a permission sign-in did not ask for sends
the user to consent when it is opened; accepting lands on the page, declining or a permission only an
administrator may grant gives a page that says so and how to get it, and never a redirect loop.

Entra's behaviour: https://learn.microsoft.com/entra/identity-platform/consent-types-developer (incremental and
admin consent), .../permissions-consent-overview ("Need admin approval"), .../reference-error-codes (65001,
65004, 90094), entra-advanced.md §1 (a refresh token is good for every consented permission; loops, #853)."""

from urllib.parse import parse_qs, urlsplit

import pytest

from tests.support.apps import app_settings, register_app
from tests.support.browser import ScriptedBrowser, is_signed_in
from tests.support.html import Page
from tests.support.served import serve_app_at


@pytest.fixture
def own_app(mock_authority, tmp_path):
    """The app as a registration of its own: an admin consented only to its default SCOPE (User.ReadBasic.All)."""
    registered = {}

    def settings(url):
        client = registered["client"] = register_app(mock_authority, url)
        return app_settings(
            mock_authority,
            tmp_path,
            CLIENT_ID=client.client_id,
            CLIENT_SECRET=client.client_secret,
            REDIRECT_URI=f"{url}/getAToken",
        )

    with serve_app_at(settings) as (_, url):
        browser = ScriptedBrowser(url)
        page = browser.sign_in()
        assert "Welcome" in page.h1, page.text
        browser.client = registered["client"]
        yield browser


def _to_consent(browser, path):
    """Open path: the app sends the browser to authorize for the page's permission; pick the account."""
    response = browser.visit(path)
    assert response.status_code == 302 and "/authorize?" in response.headers["Location"], response.text[:300]
    return parse_qs(urlsplit(response.headers["Location"]).query), browser.choose(
        browser.get(response.headers["Location"])
    )


def _answer(browser, consent: Page, button: str) -> Page:
    form = consent.form(id="consent")
    return Page(browser.http.post(consent.action_url(form), data={**form.fields, button: "1"}))


def test_accepting_the_new_permission_lands_on_the_page(own_app, mock_authority):
    user = mock_authority.state.users[0]
    query, consent = _to_consent(own_app, "/groups")
    assert "User.Read" in query["scope"][0].split(), "the page's permission is asked for when it is opened"
    assert "User.Read" in consent.text and "Accept" in consent.text
    page = _answer(own_app, consent, "accept")
    assert urlsplit(page.url).path == "/groups" and page.h1 == "My groups", page.text[:500]
    assert "User.Read" in mock_authority.state.granted_permissions(user.oid, own_app.client.client_id)
    mock_authority.state.clear_requests()
    assert own_app.visit("/groups").status_code == 200, "once granted, no more trips to the authority"
    assert own_app.visit("/call_api").status_code == 200, "the first permission still works"
    assert mock_authority.state.requests_to("authorize") == []


def test_declining_gives_a_page_that_says_what_the_permission_is_for_and_keeps_the_session(own_app):
    _, consent = _to_consent(own_app, "/groups")
    page = _answer(own_app, consent, "cancel")
    assert page.response.status_code == 403 and page.h1 == "Permission declined", page.text[:500]
    assert "User.Read" in page.text and "list the groups you are a member of" in page.text
    assert page.link(id="retry").endswith("/groups")
    assert is_signed_in(own_app, "/"), "declining keeps the user signed in"


def test_an_admin_only_permission_gives_the_admin_consent_page_not_a_loop(own_app, mock_authority):
    _, approval = _to_consent(own_app, "/manager")
    assert "Need admin approval" in approval.text
    page = _answer(own_app, approval, "cancel")  # "Return to the application without granting consent"
    assert page.response.status_code == 403, page.text[:500]
    assert page.h1 == "An administrator must grant this permission"
    assert "Enterprise applications" in page.text and "Grant admin consent" in page.text
    consent_url = page.link(id="admin-consent-url")
    assert f"/adminconsent?client_id={own_app.client.client_id}" in consent_url
    assert is_signed_in(own_app, "/")


def test_once_an_admin_consented_the_admin_only_page_works_without_a_consent_page(own_app, mock_authority):
    mock_authority.state.grant_admin_consent(own_app.client.client_id, "User.Read.All")
    mock_authority.state.clear_requests()
    page = own_app.get("/manager")
    assert page.response.status_code == 200 and page.h1 == "My manager", page.text[:500]
    assert mock_authority.state.requests_to("authorize") == [], "the refresh token is good for the new grant"


def test_declining_twice_stops_sending_the_user_to_consent(own_app):
    for _ in range(2):
        _, consent = _to_consent(own_app, "/groups")
        assert _answer(own_app, consent, "cancel").response.status_code == 403
    response = own_app.visit("/groups")
    assert response.status_code == 403, "a third trip for the same page in a few minutes is a page, not a redirect"
    assert "keeps asking for another sign-in" in response.text and "User.Read" in response.text


def test_where_an_admin_consented_for_everyone_the_pages_just_work(signed_in, mock_authority):
    # The default registration (`make run`): an admin consented to User.Read; User.Read.All is not granted.
    mock_authority.state.clear_requests()
    page = signed_in.get("/groups")
    assert page.response.status_code == 200 and page.h1 == "My groups", page.text[:500]
    assert mock_authority.state.requests_to("authorize") == []
