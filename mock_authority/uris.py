"""Which redirect URIs Entra accepts: at authorize, and as post_logout_redirect_uri (reference sections 3, 7)."""

from __future__ import annotations

import posixpath
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


def _logout_targets(redirect_uri: str) -> tuple[str, ...]:
    """What a registered redirect URI allows after sign-out: itself, its base (directory) and its origin root."""
    parts = _normalize(redirect_uri)
    base = posixpath.dirname(parts.path).rstrip("/") + "/"
    return (
        redirect_uri,
        urllib.parse.urlunsplit((parts.scheme, parts.netloc, base, "", "")),
        urllib.parse.urlunsplit((parts.scheme, parts.netloc, "/", "", "")),
    )


def post_logout_uri_accepted(uri: str, registered: Iterable[str]) -> bool:
    """A post_logout_redirect_uri must be registered: a redirect URI, its base or its origin root."""
    return redirect_uri_registered(uri, [target for r in registered for target in _logout_targets(r)])
