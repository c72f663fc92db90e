"""What every HTML page of the mock shares: its security headers, and the page error_uri points to."""

from __future__ import annotations

from collections.abc import Collection
from typing import NoReturn

from flask import Blueprint, Response, request

from .errors import EntraError

bp = Blueprint("pages", __name__)

# No scripts at all; the picker form may still redirect to the app's (other-origin) redirect URI.
CSP = "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; frame-ancestors 'none'"
HTML_SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def csp_with_frames(origins: Collection[str]) -> str:
    """The CSP of a page that frames these origins (the sign-out page's front-channel iframes)."""
    return f"{CSP}; frame-src {' '.join(sorted(set(origins)))}" if origins else CSP


def security_headers(response: Response) -> Response:
    """after_request: the HTML headers, unless a view set its own."""
    if response.mimetype == "text/html":
        for name, value in HTML_SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
    return response


@bp.get("/error", endpoint="error_info")
def error_info() -> NoReturn:
    """Where error_uri points: a short page naming the AADSTS code."""
    code = request.args.get("code", "")
    text = "See the error_description returned with this code."
    raise EntraError("", int(code) if code.isdigit() else 0, text, page=True, status=200)
