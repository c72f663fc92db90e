"""Through nginx over https, in Chromium and scripted: sign-in, the users page and sign-out; Secure, HttpOnly,
__Host- cookies; HSTS; the https sign-out return address; requests shared by both app servers."""

import pytest

pytestmark = [pytest.mark.topology, pytest.mark.browser]


def test_sign_in_users_page_and_sign_out_in_chromium(site, tls_page):
    page = tls_page  # nginx's certificate is from the test's own CA
    log_start = site.log_mark()
    logouts_before = len(site.mock.state.logouts)
    first = page.goto(f"{site.url}/")
    page.wait_for_url(f"{site.url}/login")
    assert first.request.redirected_from is not None, "the signed-out home page sends the browser to sign in"
    page.locator("#sign-in").click()
    page.wait_for_url(f"{site.mock.front_url}/**")
    page.locator("button[name=account]").first.click()
    page.wait_for_url(f"{site.url}/")
    assert page.locator("h1").inner_text().startswith("Welcome"), page.content()[:500]

    [session] = [cookie for cookie in page.context.cookies() if cookie["name"] == "__Host-session"]
    assert session["secure"] and session["httpOnly"] and session["path"] == "/", session
    assert session["domain"] == "localhost" and session["sameSite"] == "Lax", session
    assert not [c for c in page.context.cookies() if c["name"].startswith(("__Host-signin-", "__Secure-signin-"))]

    users = page.goto(f"{site.url}/call_api")
    assert users.status == 200 and page.locator("table").count() == 1, page.content()[:500]
    assert users.headers["strict-transport-security"] == "max-age=31536000"
    assert users.headers["cache-control"] == "no-store"
    protocol = page.evaluate("performance.getEntriesByType('navigation')[0].nextHopProtocol")
    assert protocol == "h2", f"Chromium reached nginx over {protocol}, not HTTP/2"

    page.goto(f"{site.url}/logout")
    page.locator("form.actions button[type=submit]").click()
    page.wait_for_url(f"{site.url}/login")
    logout = site.mock.state.logouts[logouts_before]
    assert logout.post_logout_redirect_uri == f"{site.url}/" and logout.redirect_accepted, logout
    assert not [c for c in page.context.cookies() if c["name"] == "__Host-session"], "the cookie outlived sign-out"

    lines = site.log_since(log_start)
    assert site.app_ports_in_log(lines) == {app.port for app in site.apps}, "both app servers answered:\n" + "\n".join(
        lines
    )


def test_sign_in_started_on_one_server_completes_on_the_other(site):
    """The pending sign-in lives in its sealed cookie and the session in Redis, so which server answers never
    matters: nginx shares requests out in turn, and the sign-in's two requests land on different servers."""
    browser = site.browser()
    log_start = site.log_mark()
    assert browser.sign_in().h1.startswith("Welcome")
    lines = site.log_since(log_start)
    [login] = [line for line in lines if '"GET /login ' in line]
    [callback] = [line for line in lines if '"GET /getAToken ' in line]
    assert site.app_ports_in_log([login]) != site.app_ports_in_log([callback]), "\n".join(lines)
    assert browser.get("/call_api").response.status_code == 200
