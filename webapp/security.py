"""The security headers every response carries, error pages included."""

from collections.abc import Callable
from urllib.parse import urlsplit

from flask import Flask, Response, request

HSTS = "max-age=31536000"
# Pages that involve the authority's origin: the sign-out form (its redirect goes there) and the front-channel
# logout page (the authority frames it).
FORM_TO_AUTHORITY = "entra.logout_confirm"
FRAMED_BY_AUTHORITY = "entra.frontchannel_logout"


def install_security_headers(app: Flask, authority_origin: Callable[[], tuple[str, ...]] = tuple) -> None:
    """Add the headers to every response. authority_origin() names the authority's browser-facing origin."""

    @app.after_request
    def security_headers(response: Response) -> Response:
        endpoint = request.endpoint
        form_action, ancestors, frame_options = "'self'", "'none'", "DENY"
        if endpoint == FORM_TO_AUTHORITY:
            form_action = " ".join(("'self'", *authority_origin()))
        elif endpoint == FRAMED_BY_AUTHORITY:
            ancestors = " ".join(authority_origin()) or "'none'"
            frame_options = ""
        response.headers["Content-Security-Policy"] = (
            "default-src 'none'; style-src 'self'; img-src 'self'; "
            f"form-action {form_action}; base-uri 'none'; frame-ancestors {ancestors}"
        )
        response.headers["X-Content-Type-Options"] = "nosniff"
        if frame_options:  # X-Frame-Options cannot name an origin: CSP's frame-ancestors alone decides there
            response.headers["X-Frame-Options"] = frame_options
        # The callback URL carries the authorization code and state: never let it leave in a Referer.
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["Cross-Origin-Opener-Policy"] = "same-origin"
        if endpoint != "static":
            response.headers["Cache-Control"] = "no-store"
        if request.is_secure:
            response.headers["Strict-Transport-Security"] = HSTS
        return response


def origin_of(url: str | None) -> tuple[str, ...]:
    """The origin of url as a one-item tuple, or () when there is none."""
    if not url:
        return ()
    parts = urlsplit(url)
    return (f"{parts.scheme}://{parts.netloc}",) if parts.scheme and parts.netloc else ()
