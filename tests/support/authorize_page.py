"""Driving the mock's authorize page without a browser: read its form, post the choice to the form's action
(whatever authority path or B2C user flow showed it), and run a whole msal auth-code flow that way."""

from __future__ import annotations

import html
import re
import urllib.parse

import msal
import requests


def form_of(page: requests.Response) -> tuple[str, str, list[str]]:
    """(absolute form action, ctx, account oids in page order) of the mock's picker page."""
    assert page.status_code == 200, page.text[:500]
    action = html.unescape(re.search(r'id="account-picker" method="post" action="([^"]+)"', page.text).group(1))
    ctx = re.search(r'name="ctx" value="([^"]+)"', page.text).group(1)
    return urllib.parse.urljoin(page.url, action), ctx, re.findall(r'name="account" value="([^"]+)"', page.text)


def submit(
    session: requests.Session, page: requests.Response, account: str | None = None, **fields: str
) -> requests.Response:
    """Post the picker: the given (or first) account plus any extra fields (cancel, forgot_password, display_name)."""
    action, ctx, accounts = form_of(page)
    form = {"ctx": ctx, **fields}
    if not {"cancel", "forgot_password"} & set(fields):
        form["account"] = account or accounts[0]
    return session.post(action, data=form, allow_redirects=False)


def redirect_query(response: requests.Response) -> dict[str, str]:
    """The query of a 302 back to the app."""
    assert response.status_code == 302, f"expected a redirect, got {response.status_code}: {response.text[:300]}"
    return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(response.headers["Location"]).query))


def msal_sign_in(
    app: msal.ClientApplication,
    session: requests.Session,
    redirect_uri: str,
    scopes: list[str] | None = None,
    account: str | None = None,
    **fields: str,
) -> dict:
    """initiate_auth_code_flow, the picker, acquire_token_by_auth_code_flow: msal's result (or its error dict)."""
    flow = app.initiate_auth_code_flow(scopes or [], redirect_uri=redirect_uri)
    page = session.get(flow["auth_uri"], allow_redirects=False)
    return app.acquire_token_by_auth_code_flow(flow, redirect_query(submit(session, page, account, **fields)))
