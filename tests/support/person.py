"""A person at a real browser: clicks, keyboard, screenshots, and the checks a careful reviewer makes on every
page (console errors, CSP violations, page title, one h1, named buttons and links, visible keyboard focus)."""

from __future__ import annotations

import os
import re
from pathlib import Path

try:
    from playwright.sync_api import expect
except ImportError:  # the `chromium` fixture skips (or, in CI, fails) with how to install it
    expect = None

DOCS_SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
UPDATE_DOCS = os.environ.get("UPDATE_DOCS_SCREENSHOTS") == "1"  # refresh the README's screenshots
# Roles a person operates; each must have an accessible name (as Chromium's accessibility tree computes it).
OPERABLE_ROLES = {
    "link",
    "button",
    "textbox",
    "checkbox",
    "radio",
    "combobox",
    "listbox",
    "searchbox",
    "menuitem",
    "tab",
    "switch",
    "slider",
    "spinbutton",
}

PAGE_FACTS = """() => ({
    title: document.title.trim(),
    lang: document.documentElement.lang,
    h1: [...document.querySelectorAll('h1')].map(h => h.innerText.trim()),
    mains: document.querySelectorAll('main, [role=main]').length,
})"""

FOCUSED = """() => {
    const el = document.activeElement;
    if (!el || el === document.body || el === document.documentElement) return null;
    const rgba = value => (value.match(/[\\d.]+/g) || []).map(Number);
    const style = getComputedStyle(el);
    let behind = [255, 255, 255, 1];  // the outline is drawn over what is behind the element
    for (let node = el.parentElement; node; node = node.parentElement) {
        const bg = rgba(getComputedStyle(node).backgroundColor);
        if (bg.length === 3 || (bg.length === 4 && bg[3] > 0)) { behind = bg; break; }
    }
    const text = (el.getAttribute('aria-label') || el.innerText || el.value || '').replace(/\\s+/g, ' ').trim();
    return {tag: el.tagName.toLowerCase(), text,
            outline: style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0,
            outlineAuto: style.outlineStyle === 'auto',
            outlineColor: rgba(style.outlineColor), behind,
            shadow: style.boxShadow !== 'none'};
}"""


def url_is(site, path):
    """A wait_for_url matcher for this app path, with or without a query."""
    return re.compile(re.escape(site.url + path) + r"(\?.*)?$")


def contrast(first, second) -> float:
    """WCAG contrast ratio of two sRGB colours given as [r, g, b, ...]."""

    def luminance(rgb):
        channels = [c / 255 for c in rgb[:3]]
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    high, low = sorted((luminance(first), luminance(second)), reverse=True)
    return (high + 0.05) / (low + 0.05)


class Person:
    """One browser context (own cookies) with one page, and everything that went wrong on it."""

    def __init__(self, context, site, shots: Path, prefix: str = ""):
        self.context, self.site, self.shots, self.prefix = context, site, shots, prefix
        self.page = context.new_page()
        self.problems: list[str] = []
        self.visited: list[str] = []  # every document the main frame showed
        self.checked: set[str] = set()  # documents that passed through step()
        self.documents: dict[str, int] = {}  # main-frame document URL -> HTTP status
        self._console: list[tuple[str, str]] = []  # (URL the message is about, message)
        self._steps = 0
        self._cdp = context.new_cdp_session(self.page)
        self._cdp.send("Accessibility.enable")
        self.page.on("console", self._on_console)
        self.page.on("pageerror", lambda error: self.problems.append(f"uncaught script error: {error}"))
        self.page.on("requestfailed", self._on_request_failed)
        self.page.on("framenavigated", self._on_navigated)
        self.page.on("response", self._on_response)

    # -- watching --------------------------------------------------------
    def _on_console(self, message):
        text = message.text
        where = message.location.get("url") or self.page.url
        # Chromium logs CSP violations naming the policy: enforced ones as errors, report-only ones as info.
        if message.type == "error" or "Content Security Policy" in text or "Content-Security-Policy" in text:
            self._console.append((where, f"console {message.type} on {where}: {text}"))

    def _on_response(self, response):
        if response.request.is_navigation_request() and response.frame == self.page.main_frame:
            self.documents[response.url] = response.status

    def _on_request_failed(self, request):
        # A subresource (a favicon, say) still loading when the person clicks on is cancelled by Chromium as the
        # page goes: nothing a person meets. Any other failure, or a cancelled page load, is.
        if request.failure == "net::ERR_ABORTED" and not request.is_navigation_request():
            return
        self.problems.append(f"request failed: {request.method} {request.url}: {request.failure}")

    def _on_navigated(self, frame):
        if frame == self.page.main_frame:
            self.visited.append(frame.url)

    def take_problems(self) -> list[str]:
        """Everything found so far (then forgotten): console errors, CSP violations, script errors, failed
        requests, accessibility problems, and pages never checked by step()."""
        unchecked = sorted({url for url in self.visited if url not in self.checked and url != "about:blank"})
        # An error page's own status is logged as "Failed to load resource"; step() already checked that
        # status against what the test expected, so only other console messages are problems.
        console = [
            text for where, text in self._console if not (where in self.documents and "Failed to load resource" in text)
        ]
        problems = self.problems + console + [f"page visited but never checked: {url}" for url in unchecked]
        self.problems, self._console, self.visited = [], [], []
        return problems

    def assert_clean(self):
        problems = self.take_problems()
        assert not problems, "What a person would have met:\n" + "\n".join(problems)

    # -- looking ---------------------------------------------------------
    def goto(self, path: str):
        self.page.goto(path if path.startswith("http") else self.site.url + path)
        return self.page

    def step(self, label: str, doc: str | None = None, status: int = 200):
        """The page a person now sees: check its status and accessibility, take its screenshot (and the
        README's, when refreshing docs/screenshots)."""
        page = self.page
        page.wait_for_load_state("load")
        assert self.documents.get(page.url) == status, (
            f"{page.url} answered {self.documents.get(page.url)}, expected {status}"
        )
        self.check_page()
        self.checked.add(page.url)
        self._steps += 1
        name = f"{self.prefix + '-' if self.prefix else ''}{self._steps:02d}-{label}.png"
        page.screenshot(path=self.shots / name, full_page=True)
        if doc and UPDATE_DOCS:
            DOCS_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=DOCS_SCREENSHOTS / f"{doc}.png")  # the viewport, like a person's window
        return page

    def check_page(self):
        """Basic accessibility of the current page; failures are recorded with the page's address."""
        url = self.page.url
        facts = self.page.evaluate(PAGE_FACTS)
        if not facts["title"]:
            self.problems.append(f"{url}: the page has no <title>")
        if not facts["lang"]:
            self.problems.append(f"{url}: <html> has no lang attribute")
        if len(facts["h1"]) != 1:
            self.problems.append(f"{url}: expected exactly one h1, found {facts['h1']}")
        if facts["mains"] != 1:
            self.problems.append(f"{url}: expected one main landmark, found {facts['mains']}")
        for role, html in self.unnamed_controls():
            self.problems.append(f"{url}: a {role} has no accessible name: {html}")

    def unnamed_controls(self) -> list[tuple[str, str]]:
        """(role, outer HTML) of every operable control without an accessible name, per Chromium."""
        nodes = self._cdp.send("Accessibility.getFullAXTree")["nodes"]
        unnamed = []
        for node in nodes:
            role = (node.get("role") or {}).get("value")
            if node.get("ignored") or role not in OPERABLE_ROLES:
                continue
            if not str((node.get("name") or {}).get("value") or "").strip():
                unnamed.append((role, self._outer_html(node.get("backendDOMNodeId"))))
        return unnamed

    def _outer_html(self, backend_node_id) -> str:
        if backend_node_id is None:
            return "?"
        try:
            return self._cdp.send("DOM.getOuterHTML", {"backendNodeId": backend_node_id})["outerHTML"][:200]
        except Exception:
            return f"backend node {backend_node_id}"

    def h1(self) -> str:
        return self.page.locator("h1").inner_text().strip()

    # -- keyboard --------------------------------------------------------
    def tab_to(self, name: str | re.Pattern, role: str = "link", max_tabs: int = 40) -> dict:
        """Press Tab until the focused element is the `role` whose text matches `name`. Every element focused
        on the way must show where the focus is, with an outline of 3:1 contrast."""
        pattern = name if isinstance(name, re.Pattern) else re.compile(re.escape(name))
        tags = {"link": {"a"}, "button": {"button", "input"}}[role]
        seen = []
        for _ in range(max_tabs):
            self.page.keyboard.press("Tab")
            focused = self.page.evaluate(FOCUSED)
            if focused is None:
                continue
            seen.append(f"{focused['tag']} {focused['text']!r}")
            where = f"{self.page.url}: {focused['tag']} {focused['text']!r}"
            if not (focused["outline"] or focused["shadow"]):
                self.problems.append(f"{where}: keyboard focus is invisible")
            elif focused["outline"] and not focused["outlineAuto"]:
                ratio = contrast(focused["outlineColor"], focused["behind"])
                if ratio < 3:  # WCAG 1.4.11: a focus indicator needs 3:1 against what surrounds it
                    self.problems.append(f"{where}: focus outline contrast {ratio:.1f}:1 is under 3:1")
            if focused["tag"] in tags and pattern.search(focused["text"]):
                return focused
        raise AssertionError(
            f"Tab never reached the {role} {pattern.pattern!r} on {self.page.url}; focus went through: {seen}"
        )

    def activate(self, name: str | re.Pattern, role: str = "link", then: str | re.Pattern | None = None):
        """Tab to a control and press Enter; wait for the page at `then` (a URL or pattern) if given."""
        self.tab_to(name, role)
        self.page.keyboard.press("Enter")
        if then is not None:
            self.page.wait_for_url(then)
        return self.page
