"""Settings: static defaults, how each one is read from the environment, and what is wrong with them.

The names match Microsoft's quickstart (CLIENT_ID, CLIENT_SECRET, AUTHORITY, ...) so its docs map 1:1.
Nothing here holds a secret; secrets come from the environment or a git-ignored `.env`.
"""

import os
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

DEFAULTS = {
    "CLIENT_ID": "",
    "CLIENT_SECRET": "",
    "AUTHORITY": "",
    "REDIRECT_URI": "http://localhost:5000/getAToken",
    # Space-separated; openid, profile and offline_access are added by MSAL itself.
    "SCOPE": "User.ReadBasic.All",
    "ENDPOINT": "https://graph.microsoft.com/v1.0/users",
    # Tenant ids (GUIDs, comma or space separated) allowed to sign in through a multi-tenant AUTHORITY.
    "ALLOWED_TENANTS": "",
    "SECRET_KEY": "",
    # "filesystem" (one machine) or "redis" (several servers).
    "SESSION_TYPE": "filesystem",
    "SESSION_FILE_DIR": "",  # empty: <instance folder>/flask_session
    "REDIS_URL": "redis://127.0.0.1:6379/0",
    # Seconds. Idle: a session unused this long ends (8 h: longer than an access token's 60-90 min, so nobody is
    # dropped while their token is still good). Absolute: this long after sign-in the user signs in again, however
    # active (7 days: well inside the refresh token's 90-day window, and a bound on what a stolen cookie is worth).
    "SESSION_IDLE_TIMEOUT": "28800",
    "SESSION_ABSOLUTE_TIMEOUT": "604800",
    # Seconds between deletions of expired session files by each server process; 0 leaves it to a scheduled
    # `flask sessions-sweep` instead.
    "SESSION_SWEEP_INTERVAL": "900",
    # How many reverse proxies in front of the app set X-Forwarded-For/-Proto/-Host/-Port (0: trust none).
    "TRUSTED_PROXIES": "0",
    # auto: Secure cookies (named __Host-session) when REDIRECT_URI is https; or true / false.
    "COOKIE_SECURE": "auto",
    # Seconds; connect and read timeouts for every outbound call.
    "HTTP_CONNECT_TIMEOUT": "3.05",
    "HTTP_READ_TIMEOUT": "10",
    # A PEM bundle to trust for Entra and Graph (the demo and tests trust the mock's throwaway CA this way).
    "REQUESTS_CA_BUNDLE": "",
    # Set by the local demo entry point so pages can say they run against the mock authority.
    "LOCAL_MOCK_AUTHORITY": "",
}

RESERVED_SCOPES = {"openid", "profile", "offline_access"}
GUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
TRUE_WORDS = {"1", "true", "yes", "on"}
# The documentation values .env.sample ships with: an app still holding one was not configured yet.
PLACEHOLDERS = ("00001111-aaaa-2222-bbbb-3333cccc4444", "aaaabbbb-0000-cccc-1111-dddd2222eeee", "Enter_the_")


def settings_from_env(environ=None) -> dict:
    """Return every known setting, the environment's value winning over the default."""
    environ = os.environ if environ is None else environ
    return {key: environ.get(key, default).strip() for key, default in DEFAULTS.items()}


def is_true(value) -> bool:
    """Read a boolean setting the way people write them in .env files."""
    return value is True or str(value).strip().lower() in TRUE_WORDS


def tenant_list(value: str) -> list:
    """ALLOWED_TENANTS as a list."""
    return [item for item in re.split(r"[\s,]+", value or "") if item]


@dataclass(frozen=True)
class Problem:
    setting: str
    message: str


def _is_url(value, schemes):
    parts = urlsplit(value)
    return parts.scheme in schemes and bool(parts.hostname)


def find_problems(config) -> list:
    """Name each missing or malformed identity setting, with how to fix it."""
    problems = []
    client_id = config.get("CLIENT_ID", "")
    if not client_id:
        problems.append(
            Problem(
                "CLIENT_ID",
                "is missing. Copy the Application (client) ID from the app's Overview page in the Entra admin center.",
            )
        )
    elif not GUID.match(client_id):
        problems.append(
            Problem(
                "CLIENT_ID",
                "is not a GUID. It looks like 00001111-aaaa-2222-bbbb-3333cccc4444; "
                "use the Application (client) ID, not the app's name.",
            )
        )
    if not config.get("CLIENT_SECRET"):
        problems.append(
            Problem(
                "CLIENT_SECRET",
                "is missing. Create one under Certificates & secrets and copy its Value (not its Secret ID).",
            )
        )
    authority = config.get("AUTHORITY", "")
    if not authority:
        problems.append(
            Problem(
                "AUTHORITY",
                "is missing. Use https://login.microsoftonline.com/<tenant id>, "
                "or .../organizations for a multi-tenant app.",
            )
        )
    elif not _is_url(authority, {"https"}) or not urlsplit(authority).path.strip("/"):
        problems.append(
            Problem(
                "AUTHORITY",
                "must be an https URL with a tenant segment, e.g. https://login.microsoftonline.com/<tenant id>.",
            )
        )
    redirect_uri = config.get("REDIRECT_URI", "")
    if not _is_url(redirect_uri, {"http", "https"}):
        problems.append(
            Problem(
                "REDIRECT_URI",
                "must be an absolute URL such as http://localhost:5000/getAToken, exactly as registered in Entra.",
            )
        )
    elif urlsplit(redirect_uri).path in ("", "/"):
        problems.append(
            Problem(
                "REDIRECT_URI",
                "must have its own path (e.g. /getAToken): the site's root page cannot also be the sign-in callback.",
            )
        )
    for key in ("CLIENT_ID", "CLIENT_SECRET", "AUTHORITY"):
        if any(placeholder in config.get(key, "") for placeholder in PLACEHOLDERS):
            problems.append(Problem(key, "still holds the example value from .env.sample; use your registration's."))
    scopes = config.get("SCOPE", "").split()
    reserved = sorted(RESERVED_SCOPES.intersection(scopes))
    if reserved:
        problems.append(Problem("SCOPE", f"must not list {', '.join(reserved)}: MSAL adds them itself."))
    endpoint = config.get("ENDPOINT", "")
    if not _is_url(endpoint, {"https"}):
        problems.append(Problem("ENDPOINT", "must be an https URL, e.g. https://graph.microsoft.com/v1.0/users."))
    bad_tenants = [tenant for tenant in tenant_list(config.get("ALLOWED_TENANTS", "")) if not GUID.match(tenant)]
    if bad_tenants:
        problems.append(Problem("ALLOWED_TENANTS", "must list tenant ids (GUIDs), not " + ", ".join(bad_tenants[:3])))
    if str(config.get("COOKIE_SECURE", "auto")).strip().lower() not in {"auto", *TRUE_WORDS, "0", "false", "no", "off"}:
        problems.append(Problem("COOKIE_SECURE", "must be auto, true or false."))
    if config.get("SESSION_TYPE") not in ("filesystem", "redis"):
        problems.append(Problem("SESSION_TYPE", "must be filesystem or redis."))
    problems.extend(_session_lifetime_problems(config))
    if whole_number(config.get("TRUSTED_PROXIES", DEFAULTS["TRUSTED_PROXIES"])) is None:
        problems.append(
            Problem(
                "TRUSTED_PROXIES",
                "must be a whole number: how many proxies in front of the app set X-Forwarded-* headers (0 if none).",
            )
        )
    for key in ("HTTP_CONNECT_TIMEOUT", "HTTP_READ_TIMEOUT"):
        try:
            if float(config.get(key)) <= 0:
                raise ValueError
        except (TypeError, ValueError):
            problems.append(Problem(key, "must be a positive number of seconds."))
    return problems


def whole_number(value):
    """A non-negative integer setting as an int, or None when it is not one."""
    try:
        number = int(str(value).strip())
    except ValueError:
        return None
    return number if number >= 0 else None


def _session_lifetime_problems(config) -> list:
    idle, absolute, sweep = (
        whole_number(config.get(key, DEFAULTS[key]))
        for key in ("SESSION_IDLE_TIMEOUT", "SESSION_ABSOLUTE_TIMEOUT", "SESSION_SWEEP_INTERVAL")
    )
    problems = []
    for key, value in (("SESSION_IDLE_TIMEOUT", idle), ("SESSION_ABSOLUTE_TIMEOUT", absolute)):
        if not value:
            problems.append(Problem(key, "must be a positive whole number of seconds."))
    if idle and absolute and idle > absolute:
        problems.append(Problem("SESSION_IDLE_TIMEOUT", "must not be longer than SESSION_ABSOLUTE_TIMEOUT."))
    if sweep is None:
        problems.append(Problem("SESSION_SWEEP_INTERVAL", "must be a whole number of seconds (0: no sweeper)."))
    return problems
