"""A scripted browser: a cookie jar that follows redirects and fills the forms a person would."""

from urllib.parse import urlencode, urljoin

import requests

from tests.html import Page


class ScriptedBrowser:
    """Drives the app and the mock authority's pages over real HTTP, like a person with a browser."""

    def __init__(self, app_url: str):
        self.app_url = app_url
        self.http = requests.Session()

    def url(self, path: str) -> str:
        return urljoin(self.app_url + "/", path.lstrip("/")) if not path.startswith("http") else path

    def get(self, path: str, **kwargs) -> Page:
        return Page(self.http.get(self.url(path), **kwargs))

    def session_cookie(self):
        return self.http.cookies.get("session")

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
