"""`flask sessions stats` and `flask sessions revoke --user <oid>` on either store, against sessions made by real
sign-ins through the mock authority (the commands run through Flask's CLI runner, on the served app itself)."""

import time

from tests.support.apps import serve_app
from tests.support.browser import ScriptedBrowser, assert_signed_out, is_signed_in


def _sessions(app, *args):
    result = app.test_cli_runner().invoke(args=["sessions", *args])
    assert result.exit_code == 0, (result.exit_code, result.output, result.exception)
    return result.output


def test_stats_counts_sessions_and_users_and_revoke_ends_only_that_users(store_settings, mock_authority):
    with serve_app(store_settings()) as (app, url):
        name = app.config["SESSION_COOKIE_NAME"]
        first, second = mock_authority.state.users[0], mock_authority.state.users[1]
        assert "0 live session(s) of 0 user(s)" in _sessions(app, "stats")

        # The first user in two browsers (a laptop and a phone), the second user in a third.
        laptop, phone, other = ScriptedBrowser(url), ScriptedBrowser(url), ScriptedBrowser(url)
        for browser, user in ((laptop, first), (phone, first), (other, second)):
            assert browser.sign_in(upn=user.upn).h1.startswith("Welcome")
        cookies = {label: b.session_cookie() for label, b in (("laptop", laptop), ("phone", phone), ("other", other))}
        assert len(set(cookies.values())) == 3
        assert "3 live session(s) of 2 user(s)" in _sessions(app, "stats")

        # The oid as an admin would paste it: any case, stray spaces.
        output = _sessions(app, "revoke", "--user", f" {first.oid.upper()} ")
        assert "Ended 2 session(s)" in output, output
        for label in ("laptop", "phone"):
            assert_signed_out(laptop, cookie=cookies[label], cookie_name=name, why=f"revoked, but {label} works")
            assert_signed_out(laptop, "/call_api", cookies[label], name, why=f"revoked, but {label} calls Graph")
        assert is_signed_in(other, cookie=cookies["other"], cookie_name=name), "another user's session was ended"
        assert is_signed_in(other), "another user's browser was signed out"
        assert "1 live session(s) of 1 user(s)" in _sessions(app, "stats")

        # Revoking again, or revoking someone with no sessions, ends nothing.
        assert "Ended 0 session(s)" in _sessions(app, "revoke", "--user", first.oid)
        assert "1 live session(s) of 1 user(s)" in _sessions(app, "stats")


def test_a_revoked_user_can_sign_in_again_and_is_counted_again(store_settings, mock_authority):
    with serve_app(store_settings()) as (app, url):
        user = mock_authority.state.users[0]
        browser = ScriptedBrowser(url)
        browser.sign_in(upn=user.upn)
        assert "Ended 1 session(s)" in _sessions(app, "revoke", "--user", user.oid)
        assert not is_signed_in(browser)
        assert "0 live session(s) of 0 user(s)" in _sessions(app, "stats")
        assert browser.sign_in(upn=user.upn).h1.startswith("Welcome")
        assert "1 live session(s) of 1 user(s)" in _sessions(app, "stats")


def test_users_whose_sessions_all_expired_are_not_counted(store_settings, mock_authority):
    with serve_app(store_settings(SESSION_IDLE_TIMEOUT=2, SESSION_ABSOLUTE_TIMEOUT=60)) as (app, url):
        assert ScriptedBrowser(url).sign_in().h1.startswith("Welcome")
        assert "1 live session(s) of 1 user(s)" in _sessions(app, "stats")
        time.sleep(3.2)  # past the idle timeout: the store no longer has the session
        assert "0 live session(s) of 0 user(s)" in _sessions(app, "stats")
