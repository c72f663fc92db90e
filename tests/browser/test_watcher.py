"""The browser checks themselves: they must catch what they claim to catch, or their silence proves nothing."""

import pytest

pytestmark = pytest.mark.browser

BROKEN = """<!doctype html><html><head><title></title>
<style>body { color: red }</style></head>
<body><h1>One</h1><h1>Two</h1><a href="/x"></a><button></button>
<script>document.title = "ran";</script></body></html>"""


def test_csp_violations_console_errors_and_accessibility_problems_are_caught(person, site):
    url = site.url + "/__watcher-check"  # answered by the route below, never by the app
    person.page.route(
        url,
        lambda route: route.fulfill(
            status=200,
            content_type="text/html",
            body=BROKEN,
            headers={
                "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
                "Content-Security-Policy-Report-Only": "style-src 'none'",
            },
        ),
    )
    person.goto(url)
    person.page.evaluate("console.error('boom')")
    person.page.evaluate("setTimeout(() => { throw new Error('uncaught') }, 0)")
    person.page.wait_for_timeout(100)
    person.check_page()  # as step() would, but without marking the page checked
    found = "\n".join(person.take_problems())  # taken: expected here, so the teardown check stays quiet

    assert "Content Security Policy" in found and "inline script" in found  # the <script>, blocked
    assert "Applying inline style violates" in found, found  # the <style>, allowed but reported
    assert "boom" in found and "uncaught" in found
    assert "no <title>" in found and "no lang attribute" in found
    assert "exactly one h1" in found
    assert "a link has no accessible name" in found and "a button has no accessible name" in found
    assert f"page visited but never checked: {url}" in found


FOCUS = """<!doctype html><html lang="en"><head><title>Focus</title><style>
body { background: #fafafa }
a:focus-visible { outline: 3px solid #ffb900 }
button:focus { outline: none }
</style></head><body><main><h1>Focus</h1><a href="/a">faint</a> <button>hidden</button></main></body></html>"""


def test_invisible_or_faint_keyboard_focus_is_caught(person, site):
    url = site.url + "/__focus-check"
    person.page.route(url, lambda route: route.fulfill(status=200, content_type="text/html", body=FOCUS))
    person.goto(url)
    person.checked.add(url)
    person.tab_to("faint")
    person.tab_to("hidden", role="button")
    found = "\n".join(person.take_problems())
    assert "'faint': focus outline contrast 1.7:1 is under 3:1" in found, found
    assert "'hidden': keyboard focus is invisible" in found, found
