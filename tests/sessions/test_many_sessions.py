"""2,000 users signed in at once: every one of them still signed in afterwards, on either store."""

import time

from tests.support.apps import serve_app
from tests.support.people import seed_like, sign_in_many, who_is_signed_in
from tests.support.store import stored_sessions

USERS = 2000
REAL_SIGN_INS = 600  # through the authority; the rest are stored through the app's session interface


def test_two_thousand_users_all_stay_signed_in(store, store_settings, mock_authority, report):
    """600 users sign in for real (browser → app → authority → callback, in 8 parallel browsers); 1,400 more
    sessions are stored through the app's own session interface (copies of a real one, each with its own id and
    display name). Then every one of the 2,000 cookies is sent to the app over HTTP: each must still get its
    own "Welcome, <name>" page. (Flask-Session's default filesystem store, a 500-file threshold, failed this:
    past 500 files it deleted live sessions.)"""
    started = time.monotonic()
    # Lee Gu is in more groups than a token carries: the app reads them from Graph, which needs User.Read
    # (user-list-transitivememberof) beyond the default SCOPE's basic profiles.
    with serve_app(store_settings(SCOPE="User.Read User.ReadBasic.All")) as (app, url):
        people = sign_in_many(url, mock_authority.state.users, REAL_SIGN_INS)
        signed_in = time.monotonic()
        people += seed_like(app, people[0][0], USERS - REAL_SIGN_INS)
        assert stored_sessions(app) == USERS, "one stored session per user, no leftovers"

        checking = time.monotonic()
        pages = who_is_signed_in(url, app.config["SESSION_COOKIE_NAME"], people)
        checked = time.monotonic()
        lost = [(name, page) for (_cookie, name), page in zip(people, pages, strict=True) if page != f"Welcome, {name}"]
        assert not lost, f"{len(lost)} of {USERS} users lost their session, e.g. {lost[:3]}"
        assert stored_sessions(app) == USERS

    report(
        f"{store}: {USERS - len(lost)} of {USERS} users still signed in ({REAL_SIGN_INS} real sign-ins in "
        f"{signed_in - started:.1f} s, {USERS} checks over HTTP at "
        f"{USERS / (checked - checking):.0f} requests/s; {time.monotonic() - started:.1f} s in all)"
    )
