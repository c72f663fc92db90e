"""A real browser at the sign-out page: the hidden front-channel iframe loads (?sid=), then the page moves
on to post_logout_redirect_uri by itself (meta refresh; no script)."""

from __future__ import annotations

import http.server
import threading
import urllib.parse

import pytest


class _App(http.server.BaseHTTPRequestHandler):
    """Stands in for an app: records each path it is asked for and answers 200."""

    seen: list[str] = []

    def do_GET(self):
        self.seen.append(self.path)
        body = b"<!doctype html><title>app</title>ok"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Cache-Control", "no-store")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture()
def app_server():
    _App.seen = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _App)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://localhost:{server.server_port}", _App.seen
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


@pytest.fixture()
def page(chromium):
    context = chromium.new_context()
    try:
        yield context.new_page()
    finally:
        context.close()


def test_browser_loads_the_frontchannel_iframe_then_continues(mock, oauth, app_server, page):
    app_url, seen = app_server
    # The site root is registered as the post-logout URI; an admin consented (run-time apps start with none).
    client = mock.state.register_client(
        redirect_uris=(f"{app_url}/cb", f"{app_url}/"), frontchannel_logout_uri=f"{app_url}/frontchannel"
    )
    mock.state.grant_admin_consent(client.client_id, "User.ReadBasic.All openid profile email offline_access")
    _, challenge = oauth.new_pkce()
    params = oauth.authorize_params(challenge, client_id=client.client_id, redirect_uri=f"{app_url}/cb")
    page.goto(f"{oauth.authorize_url()}?{urllib.parse.urlencode(params)}")
    page.locator("button[name=account]").first.click()
    page.wait_for_url(f"{app_url}/cb?**")

    logout = f"{mock.front_url}/{mock.config.tenant_id}/oauth2/v2.0/logout"
    page.goto(f"{logout}?{urllib.parse.urlencode({'post_logout_redirect_uri': f'{app_url}/'})}")
    page.wait_for_url(f"{app_url}/", timeout=10_000)

    [call] = mock.state.frontchannel_calls
    assert f"/frontchannel?sid={call.sid}" in seen, f"the iframe never loaded: the app saw {seen}"
    assert seen.index(f"/frontchannel?sid={call.sid}") < seen.index("/"), "iframes load before moving on"
