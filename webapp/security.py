"""Cookie flags and the security headers every response carries."""

from urllib.parse import urlsplit

from flask import request

import app_config

HSTS = "max-age=31536000"
HOST_COOKIE = "__Host-session"  # browsers accept it only Secure, Path=/ and without Domain: no subdomain can set it


def secure_cookies(config) -> bool:
    """COOKIE_SECURE=auto follows REDIRECT_URI: an app registered on https is served over https."""
    setting = str(config.get("COOKIE_SECURE", "auto")).strip().lower()
    if setting == "auto":
        return urlsplit(config.get("REDIRECT_URI", "")).scheme == "https"
    return app_config.is_true(setting)


def configure_cookies(app):
    """HttpOnly and SameSite=Lax always; Secure and the __Host- prefix whenever the site is https."""
    secure = secure_cookies(app.config)
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        # Lax still sends the cookie on the authority's top-level redirect back to /getAToken.
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=secure,
        SESSION_COOKIE_NAME=HOST_COOKIE if secure else "session",
        SESSION_COOKIE_DOMAIN=None,
        SESSION_COOKIE_PATH="/",
    )


def install_security_headers(app, form_targets=lambda: ()):
    """Add the headers to every response. form_targets() names extra origins forms may post (and redirect) to."""

    @app.after_request
    def security_headers(response):
        form_action = " ".join(("'self'", *form_targets())) if request.endpoint == "main.logout_confirm" else "'self'"
        response.headers["Content-Security-Policy"] = (
            "default-src 'none'; style-src 'self'; img-src 'self'; "
            f"form-action {form_action}; base-uri 'none'; frame-ancestors 'none'"
        )
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["X-Frame-Options"] = "DENY"
        # The callback URL carries the authorization code and state: never let it leave in a Referer.
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["Cross-Origin-Opener-Policy"] = "same-origin"
        if request.endpoint != "static":
            response.headers["Cache-Control"] = "no-store"
        if request.is_secure:
            response.headers["Strict-Transport-Security"] = HSTS
        return response


def origin_of(url) -> tuple:
    """The origin of url as a one-item tuple, or () when there is none."""
    if not url:
        return ()
    parts = urlsplit(url)
    return (f"{parts.scheme}://{parts.netloc}",) if parts.scheme and parts.netloc else ()
