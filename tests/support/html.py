"""Reading what a browser would read from a page: links, forms and text, with the standard library only."""

from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urljoin


@dataclass
class Form:
    action: str
    method: str
    attrs: dict
    fields: dict = field(default_factory=dict)
    buttons: list = field(default_factory=list)  # (name, value, text)


class _PageParser(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.links, self.forms, self.text, self.titles, self.h1s = [], [], [], [], []
        self._in, self._button = [], None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self._in.append(tag)
        if tag == "a" and "href" in attrs:
            self.links.append(attrs)
        elif tag == "form":
            self.forms.append(Form(attrs.get("action", ""), attrs.get("method", "get").lower(), attrs))
        elif tag == "input" and self.forms and attrs.get("name"):
            self.forms[-1].fields[attrs["name"]] = attrs.get("value", "")
        elif tag == "button" and self.forms:
            self._button = [attrs.get("name"), attrs.get("value", ""), ""]

    def handle_endtag(self, tag):
        if tag == "button" and self._button is not None:
            self.forms[-1].buttons.append(tuple(self._button))
            self._button = None
        if self._in and self._in[-1] == tag:
            self._in.pop()

    def handle_data(self, data):
        self.text.append(data)
        if self._button is not None:
            self._button[2] += data.strip()
        if self._in and self._in[-1] == "title":
            self.titles.append(data.strip())
        if "h1" in self._in:
            self.h1s.append(data.strip())


class Page:
    """A fetched HTML page."""

    def __init__(self, response):
        self.response = response
        self.url = response.url
        parser = _PageParser()
        parser.feed(response.text)
        self.links, self.forms = parser.links, parser.forms
        self.text = " ".join(" ".join(parser.text).split())
        self.title = " ".join(parser.titles)
        self.h1 = " ".join(parser.h1s)

    def link(self, **attrs) -> str:
        """Absolute href of the first link whose attributes match."""
        for link in self.links:
            if all(link.get(key) == value for key, value in attrs.items()):
                return urljoin(self.url, link["href"])
        raise AssertionError(f"no link with {attrs} on {self.url}")

    def form(self, **attrs) -> Form:
        for form in self.forms:
            if all(form.attrs.get(key) == value for key, value in attrs.items()):
                return form
        raise AssertionError(f"no form with {attrs} on {self.url}")

    def action_url(self, form: Form) -> str:
        return urljoin(self.url, form.action or self.url)
