"""In Chromium: the app configured by OIDC_AUTHORITY alone signs in at an independent, OpenID Certified provider
(tests/support/oidc_provider.py), calls its userinfo as ENDPOINT and signs out there (RP-initiated logout)."""

import pytest

from tests.support.oidc_provider import app_at_certified_provider

pytestmark = pytest.mark.browser


def test_sign_in_call_userinfo_and_sign_out_at_the_certified_provider(chromium, tmp_path):
    with app_at_certified_provider(tmp_path, "api.read") as (url, provider):
        # The provider's certificate is from a throwaway CA: this browser context alone ignores it.
        context = chromium.new_context(ignore_https_errors=True)
        try:
            page = context.new_page()
            page.goto(f"{url}/")
            page.wait_for_url(f"{url}/login")
            page.get_by_role("main").get_by_role("link", name="Sign in").click()
            page.wait_for_url(f"{provider.issuer}/interaction/**")
            page.locator("input[name=login]").fill("grace")
            page.locator("input[name=password]").fill("grace")
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_url(f"{url}/")
            assert page.locator("h1").inner_text().startswith("Welcome")

            page.goto(f"{url}/call_api")
            assert "grace@provider.test" in page.content()

            page.goto(f"{url}/logout")
            page.get_by_role("button", name="Sign out").click()
            page.wait_for_url(f"{provider.issuer}/session/end**")
            page.get_by_role("button", name="Yes, sign me out").click()
            page.wait_for_url(f"{url}/**")
            assert not [cookie for cookie in context.cookies(provider.issuer) if cookie["name"].startswith("_session")]
            page.goto(f"{url}/")
            page.wait_for_url(f"{url}/login")
        finally:
            context.close()
