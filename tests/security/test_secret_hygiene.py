"""No token, code, client secret or session id in the logs or on error pages, even at DEBUG."""

import json
import logging
from urllib.parse import parse_qs, urlsplit

from tests.support.apps import TEST_CLIENT_SECRET
from tests.support.html import Page
from tests.support.store import read_session


def token_cache_secrets(app, session_id) -> list:
    """Every secret in the user's MSAL token cache, read from the server-side session store."""
    cache = json.loads(read_session(app, session_id)["_token_cache"])
    return [
        entry["secret"] for kind in ("AccessToken", "RefreshToken", "IdToken") for entry in cache.get(kind, {}).values()
    ]


def test_full_flow_at_debug_leaks_nothing(browser, live_app, mock_authority, caplog):
    caplog.set_level(logging.DEBUG)
    mock_authority.state.configure(access_token_lifetime=200)  # include a refresh in the flow
    response = browser.choose(browser.open_account_picker(), follow=False)
    callback = response.headers["Location"]
    code = parse_qs(urlsplit(callback).query)["code"][0]
    assert "Welcome" in Page(browser.http.get(callback)).h1
    assert browser.get("/call_api").response.status_code == 200
    session_id = browser.session_cookie()
    secrets = [code, TEST_CLIENT_SECRET, session_id, *token_cache_secrets(live_app, session_id)]
    assert len(secrets) >= 6, "expected the code, secret, session id, AT, RT and ID token"
    mock_authority.state.enqueue_fault("graph", "status", status=401)
    error_page = browser.get("/call_api").response.text
    browser.sign_out()
    # The scripted browser's own urllib3 lines (requests to the app and to the authority's pages) are not the app's.
    browser_targets = (browser.app_url, mock_authority.front_url)
    logs = "\n".join(
        f"{record.name} {record.getMessage()}"
        for record in caplog.records
        if not (record.name.startswith("urllib3") and any(t in record.getMessage() for t in browser_targets))
    )
    assert "POST" in logs and "/getAToken" in logs, "the flow's requests were logged at all"
    for secret in secrets:
        assert secret not in logs, f"a secret ({secret[:6]}…) leaked into the logs"
        assert secret not in error_page, f"a secret ({secret[:6]}…) leaked into an error page"
