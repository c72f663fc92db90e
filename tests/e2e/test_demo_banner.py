"""`make run` tells a newcomer where to go, who can sign in, and how to switch to a real tenant."""

from serve_local import banner


def test_demo_banner_names_the_url_every_demo_user_and_the_way_to_a_real_tenant(mock_authority):
    text = banner("http://localhost:5000", mock_authority)
    assert "Open http://localhost:5000" in text and mock_authority.front_url in text
    for user in mock_authority.state.users:
        assert user.upn in text and user.name in text, f"demo user {user.upn} missing from the banner"
    assert "cp .env.sample .env" in text


def test_banner_with_a_dotenv_says_so_and_lists_no_demo_users():
    text = banner("http://localhost:5000", None)
    assert "settings in .env" in text and "Demo users" not in text
