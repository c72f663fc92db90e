"""Login CSRF: a code and state minted in one browser session cannot sign in another."""

from tests.support.browser import ScriptedBrowser, assert_signed_out
from tests.support.html import Page


def test_attackers_callback_cannot_sign_the_victim_in(live_app, mock_authority):
    attacker, victim = ScriptedBrowser(live_app.url), ScriptedBrowser(live_app.url)
    attacker_user, victim_user = mock_authority.state.users[0], mock_authority.state.users[1]
    planted = attacker.choose(attacker.open_account_picker(), upn=attacker_user.upn, follow=False)
    victims_own = victim.open_account_picker()  # the victim has a sign-in of their own pending
    page = Page(victim.http.get(planted.headers["Location"]))
    assert page.response.status_code == 400 and "state_mismatch" in page.text
    assert_signed_out(victim)
    assert victim.choose(victims_own, upn=victim_user.upn).h1 == f"Welcome, {victim_user.name}"
