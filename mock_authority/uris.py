"""Which redirect URIs Entra accepts: at authorize, and as post_logout_redirect_uri (reference sections 3, 7)."""

from __future__ import annotations

import urllib.parse
from collections.abc import Iterable

MAX_REDIRECT_URI_LENGTH = 256


def _normalize(uri: str) -> urllib.parse.SplitResult:
    parts = urllib.parse.urlsplit(uri)
    return parts._replace(path=parts.path or "/")  # Entra appends "/" to a URI without a path


def _is_http_localhost(parts: urllib.parse.SplitResult) -> bool:
    return parts.scheme == "http" and parts.hostname in ("localhost", "127.0.0.1")


def _host_without_port(parts: urllib.parse.SplitResult) -> str:
    return parts.netloc.rsplit(":", 1)[0] if parts.port else parts.netloc


def redirect_uri_registered(uri: str, registered: Iterable[str]) -> bool:
    """Exact, case-sensitive match; the port is ignored for http://localhost (reference section 3)."""
    if not uri or len(uri) > MAX_REDIRECT_URI_LENGTH:
        return False
    try:
        wanted = _normalize(uri)
        wanted.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        return False
    if wanted.fragment:
        return False
    for candidate in registered:
        have = _normalize(candidate)
        if _is_http_localhost(wanted) and _is_http_localhost(have):
            if (_host_without_port(wanted), wanted.path, wanted.query) == (
                _host_without_port(have),
                have.path,
                have.query,
            ):
                return True
        elif wanted.geturl() == have.geturl():
            return True
    return False


def post_logout_uri_accepted(uri: str, registered: Iterable[str]) -> bool:
    """A post_logout_redirect_uri "must match one of the redirect URIs registered for your application"
    (learn.microsoft.com/entra/identity-platform/v2-protocols-oidc, "Send a sign-out request"): the same rules as
    at authorize, not a base path or origin of one."""
    return redirect_uri_registered(uri, registered)
