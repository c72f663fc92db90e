"""A scripted browser: a cookie jar that follows redirects and fills the forms a person would; and the one answer
to "is this browser signed in?"."""

from urllib.parse import urlencode, urljoin, urlsplit

import requests

from tests.support.html import Page


class ScriptedBrowser:
    """Drives the app and the mock authority's pages over real HTTP, like a person with a browser."""

    def __init__(self, app_url: str):
        self.app_url = app_url
        self.http = requests.Session()

    def url(self, path: str) -> str:
        return urljoin(self.app_url + "/", path.lstrip("/")) if not path.startswith("http") else path

    def get(self, path: str, **kwargs) -> Page:
        return Page(self.http.get(self.url(path), **kwargs))

    def session_cookie(self) -> str:
        """The value of the app's session cookie in this browser, whatever the app names it."""
        values = [cookie.value for cookie in self.http.cookies if "session" in cookie.name]
        assert len(values) == 1, f"expected one session cookie, got {[cookie.name for cookie in self.http.cookies]}"
        return values[0]

    def visit(self, path: str = "/", cookie: str | None = None, cookie_name: str = "session") -> requests.Response:
        """GET path on the app without following redirects. With `cookie`, the request carries exactly that session
        cookie instead of the browser's jar (a copied or replayed cookie; no jar that might drop or replace it)."""
        if cookie is None:
            return self.http.get(self.url(path), allow_redirects=False, timeout=30)
        headers = {"Cookie": f"{cookie_name}={cookie}"}
        return requests.get(self.url(path), headers=headers, allow_redirects=False, timeout=30)

    def open_account_picker(self, next_path=None) -> Page:
        """Open /login and click "Sign in with Microsoft"; return the authority's account picker."""
        login = self.get("/login" + (f"?{urlencode({'next': next_path})}" if next_path else ""))
        picker = self.get(login.link(id="sign-in"))
        assert picker.response.status_code == 200, picker.text
        return picker

    def choose(self, picker: Page, upn=None, follow=True, cancel=False):
        """Pick an account (the first, or the one with this UPN) or cancel; return the final page
        (or, with follow=False, the authority's redirect response)."""
        form = picker.form(id="account-picker")
        data = dict(form.fields)
        if cancel:
            data["cancel"] = "1"
        else:
            accounts = [(value, text) for name, value, text in form.buttons if name == "account"]
            chosen = next((value for value, text in accounts if upn is None or upn.lower() in text.lower()), None)
            assert chosen, f"no account {upn} on the picker: {accounts}"
            data["account"] = chosen
        response = self.http.post(picker.action_url(form), data=data, allow_redirects=follow)
        return Page(response) if follow else response

    def sign_in(self, upn=None, next_path=None) -> Page:
        return self.choose(self.open_account_picker(next_path), upn=upn)

    def sign_out(self) -> Page:
        confirm = self.get("/logout")
        form = confirm.forms[0]
        return Page(self.http.post(confirm.action_url(form), data=form.fields))


def answers_signed_in(response) -> bool:
    """Whether the app's answer to a GET of a signed-in page (redirects not followed) is a signed-in one: the page
    itself (200), where a signed-out visitor is sent to sign in (a redirect to /login). Any other answer is neither,
    and fails the test. `response` may come from requests or from Flask's test client."""
    if response.status_code == 200:
        return True
    location = response.headers.get("Location", "")
    assert response.status_code == 302 and urlsplit(location).path.endswith("/login"), (
        f"neither signed in nor sent to sign in: {response.status_code} → {location or response.text[:300]}"
    )
    return False


def is_signed_in(browser: ScriptedBrowser, path: str = "/", cookie: str | None = None, cookie_name="session") -> bool:
    """Whether the app treats this browser as signed in on `path`. With `cookie`, exactly that session cookie is
    sent instead of the browser's own (see ScriptedBrowser.visit)."""
    return answers_signed_in(browser.visit(path, cookie, cookie_name))


def assert_signed_out(
    browser: ScriptedBrowser, path: str = "/", cookie: str | None = None, cookie_name="session", why=""
):
    """The app sends this browser (or, given `cookie`, that session cookie) to sign in from `path`."""
    assert not is_signed_in(browser, path, cookie, cookie_name), why or f"still signed in on {path}"
