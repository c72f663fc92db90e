"""The extension alone, in a Flask app of someone else's: a few lines give sign-in, a protected page and Graph."""

import json
import secrets

from flask import Flask

from tests.support.apps import TEST_CLIENT_ID, TEST_CLIENT_SECRET
from tests.support.browser import ScriptedBrowser
from tests.support.served import serve_wsgi
from webapp import EntraSignIn, current_user, login_required


def tiny_app(mock, tmp_path, url: str) -> Flask:
    """What README's "Add it to your own app" shows, against the mock authority."""
    app = Flask("tiny")
    app.config.update(
        CLIENT_ID=TEST_CLIENT_ID,
        CLIENT_SECRET=TEST_CLIENT_SECRET,
        AUTHORITY=mock.authority,
        REDIRECT_URI=f"{url}/getAToken",
        SCOPE="User.Read",
        SECRET_KEY=secrets.token_hex(32),
        SESSION_FILE_DIR=str(tmp_path / "tiny-sessions"),
        REQUESTS_CA_BUNDLE=mock.ca_bundle,
    )
    entra = EntraSignIn(app)
    me_url = mock.graph_endpoint.rsplit("/", 1)[0] + "/me"

    @app.get("/")
    def home():
        return "Home"

    @app.get("/profile")
    @login_required
    def profile():
        return {"name": current_user["name"], "me": entra.graph_get(me_url)}

    return app


def test_a_tiny_app_signs_in_through_the_extension_and_calls_graph(mock_authority, tmp_path):
    user = mock_authority.state.users[0]
    with serve_wsgi(lambda url: tiny_app(mock_authority, tmp_path, url)) as (_app, url):
        browser = ScriptedBrowser(url)
        first = browser.http.get(f"{url}/profile", allow_redirects=False)
        assert first.status_code == 302 and "/login?next=/profile" in first.headers["Location"], first.text[:200]
        page = browser.sign_in(upn=user.upn, next_path="/profile")
        assert page.response.status_code == 200, page.text[:300]
        body = json.loads(page.response.text)
        assert body["name"] == user.name
        assert body["me"]["userPrincipalName"].lower() == user.upn.lower(), "Graph /me as the signed-in user"
        back = browser.sign_out()
        assert back.response.status_code == 200 and back.response.url == f"{url}/", "back home after sign-out"
        assert browser.http.get(f"{url}/profile", allow_redirects=False).status_code == 302, "signed out"
