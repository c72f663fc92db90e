"""Where the app may send a user after sign-in: same-site paths only, so it is never an open redirect."""

from urllib.parse import urlsplit


def safe_next(target: object, default: str = "/") -> str:
    """Return target when it is a path on this site, else default."""
    if not target or not isinstance(target, str) or len(target) > 2048:
        return default
    # Browsers treat a backslash like a slash, so "/\\evil.example" would leave the site.
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in target):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return default
    return target
