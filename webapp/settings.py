"""Typed settings, parsed once: each parser turns a setting's text into its value or names what is wrong.

Layers, in order: DEFAULTS (defaults.py), then the environment, then overrides (tests use these). Everything
after `parse` receives typed values; a setting that cannot work is a `Problem`, shown on the configuration page.
"""

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from typing import Any, Literal
from urllib.parse import urlsplit

from .clouds import graph_host_for
from .defaults import DEFAULTS

RESERVED_SCOPES = frozenset({"openid", "profile", "offline_access"})
GUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
FALSE_WORDS = frozenset({"0", "false", "no", "off"})
# The documentation values .env.sample ships with: an app still holding one was not configured yet.
PLACEHOLDERS = ("00001111-aaaa-2222-bbbb-3333cccc4444", "aaaabbbb-0000-cccc-1111-dddd2222eeee", "Enter_the_")
# Paths the sign-in blueprint serves itself: the redirect URI cannot be one of them.
SIGN_IN_PATHS = frozenset({"/login", "/logout", "/logout/frontchannel", "/profile/edit", "/password/reset"})


@dataclass(frozen=True)
class Problem:
    setting: str
    message: str


class Invalid(ValueError):
    """A setting's value cannot work; the message says how to fix it."""


CredentialKind = Literal["secret", "certificate", "assertion_file", "managed_identity"]
# Each credential, by the setting that configures it (exactly one must be set).
CREDENTIAL_SETTINGS: dict[str, CredentialKind] = {
    "CLIENT_SECRET": "secret",
    "CLIENT_CERTIFICATE_PATH": "certificate",
    "CLIENT_ASSERTION_FILE": "assertion_file",
    "MANAGED_IDENTITY_CLIENT_ID": "managed_identity",
}
# The federated token file of AKS workload identity, which sets this variable itself.
ASSERTION_FILE_ALIAS = "AZURE_FEDERATED_TOKEN_FILE"
AuthorityKind = Literal["entra", "oidc", "b2c"]
AUTHORITY_SETTINGS: dict[str, AuthorityKind] = {
    "AUTHORITY": "entra",
    "OIDC_AUTHORITY": "oidc",
    "B2C_TENANT_NAME": "b2c",
}


@dataclass(frozen=True)
class Settings:
    client_id: str
    # The credential: exactly one of client_secret, client_certificate_path, client_assertion_file and
    # managed_identity_client_id is set (credential_kind says which).
    client_secret: str
    client_certificate_path: str
    client_certificate_password: str
    client_certificate_send_x5c: bool
    client_assertion_file: str
    managed_identity_client_id: str
    # The authority: exactly one of authority (Entra, any cloud, External ID), oidc_authority (an issuer URL) and
    # b2c_tenant_name (with its user flows) is set (authority_kind says which).
    authority: str
    oidc_authority: str
    b2c_tenant_name: str
    b2c_instance: str
    signupsignin_user_flow: str
    editprofile_user_flow: str
    resetpassword_user_flow: str
    redirect_uri: str
    scopes: tuple[str, ...]
    endpoint: str
    allowed_tenants: tuple[str, ...]
    required_roles: tuple[str, ...]
    allowed_groups: tuple[str, ...]
    secret_key: str
    session_type: Literal["filesystem", "redis"]
    session_file_dir: str
    redis_url: str
    session_idle_timeout: int
    session_absolute_timeout: int
    session_sweep_interval: int
    trusted_proxies: int
    cookie_secure: bool
    http_connect_timeout: float
    http_read_timeout: float
    http_total_timeout: float
    requests_ca_bundle: str
    max_content_length: int
    signin_trace: bool  # the "What just happened" page (signin_trace.py)
    local_mock_authority: bool
    log_format: Literal["text", "json"]
    metrics: bool  # /metrics on the app (metrics.py)
    metrics_port: tuple[str, int] | None  # a separate metrics listener: (host, port)

    @property
    def credential_kind(self) -> CredentialKind:
        return next(kind for key, kind in CREDENTIAL_SETTINGS.items() if getattr(self, key.lower()))

    @property
    def authority_kind(self) -> AuthorityKind:
        return next(kind for key, kind in AUTHORITY_SETTINGS.items() if getattr(self, key.lower()))

    @property
    def redirect_path(self) -> str:
        return urlsplit(self.redirect_uri).path

    @property
    def site_origin(self) -> str:
        """The public origin of the site, from REDIRECT_URI (never from a request's Host header)."""
        parts = urlsplit(self.redirect_uri)
        return f"{parts.scheme}://{parts.netloc}"


def text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def boolean(value: Any) -> bool:
    if value is True or value is False:
        return value
    word = text(value).lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS or word == "":
        return False
    raise Invalid("must be true or false.")


def whole_number(value: Any) -> int:
    try:
        number = int(text(value))
    except ValueError:
        raise Invalid("must be a whole number.") from None
    if number < 0:
        raise Invalid("must not be negative.")
    return number


def positive_seconds(value: Any) -> int:
    number = whole_number(value) if text(value).isdigit() else -1
    if number <= 0:
        raise Invalid("must be a positive whole number of seconds.")
    return number


def positive_number(value: Any) -> float:
    try:
        number = float(text(value))
    except ValueError:
        number = -1.0
    if not number > 0:
        raise Invalid("must be a positive number of seconds.")
    return number


def _is_url(value: str, schemes: set[str]) -> bool:
    parts = urlsplit(value)
    return parts.scheme in schemes and bool(parts.hostname)


def _no_placeholder(value: str) -> str:
    if any(placeholder in value for placeholder in PLACEHOLDERS):
        raise Invalid("still holds the example value from .env.sample; use your registration's.")
    return value


def client_id(value: Any) -> str:
    value = text(value)
    if not value:
        raise Invalid(
            "is missing. Copy the Application (client) ID from the app's Overview page in the Entra admin center."
        )
    _no_placeholder(value)
    if not GUID.match(value):
        raise Invalid(
            "is not a GUID. It looks like 00001111-aaaa-2222-bbbb-3333cccc4444; "
            "use the Application (client) ID, not the app's name."
        )
    return value


def provider_client_id(value: Any) -> str:
    """CLIENT_ID for OIDC_AUTHORITY: whatever the provider issued (only Microsoft's are GUIDs)."""
    value = text(value)
    if not value or any(character.isspace() for character in value):
        raise Invalid("is missing: the client id your OpenID provider issued to this app (no spaces).")
    return _no_placeholder(value)


def optional_secret(value: Any) -> str:
    return _no_placeholder(text(value))


def optional_guid(value: Any) -> str:
    value = text(value)
    if value and not GUID.match(value):
        raise Invalid("must be a GUID (the identity's Client ID on its Overview page).")
    return value


def optional_file(value: Any) -> str:
    value = text(value)
    if value and not os.path.isfile(value):
        raise Invalid(f"names no readable file: {value}")
    return value


def _authority_url(value: str, tenant_required: bool = True) -> str:
    _no_placeholder(value)
    parts = urlsplit(value)
    if not _is_url(value, {"https"}):
        raise Invalid("must be an https URL, e.g. https://login.microsoftonline.com/<tenant id>.")
    # External ID's https://<subdomain>.ciamlogin.com/ names its tenant by its host.
    if tenant_required and not parts.path.strip("/") and not (parts.hostname or "").endswith(".ciamlogin.com"):
        raise Invalid("must be an https URL with a tenant segment, e.g. https://login.microsoftonline.com/<tenant id>.")
    if parts.query or parts.fragment or value.endswith(("?", "#")):
        raise Invalid("must not have a query or a fragment: MSAL appends its own paths to it.")
    return value.rstrip("/")


def authority(value: Any) -> str:
    value = text(value)
    return _authority_url(value) if value else ""


def oidc_authority(value: Any) -> str:
    """An issuer URL: its discovery document is at {issuer}/.well-known/openid-configuration."""
    value = text(value)
    if not value:
        return ""
    value = _authority_url(value, tenant_required=False)
    # msal 1.39 (authority.canonicalize) refuses an authority without a path segment, even as oidc_authority.
    if not urlsplit(value).path.strip("/") and not (urlsplit(value).hostname or "").endswith(".ciamlogin.com"):
        raise Invalid(
            "must have a path, e.g. https://login.example.com/oidc: MSAL cannot use an issuer that is a bare host."
        )
    return value


def b2c_instance(value: Any) -> str:
    """B2C's host (a custom domain, or <tenant>.b2clogin.com by default), as https://host[:port]."""
    value = text(value)
    if value and (not _is_url(value, {"https"}) or urlsplit(value).path.strip("/")):
        raise Invalid("must be https://<host> alone, e.g. https://login.contoso.example (a custom domain).")
    return value.rstrip("/")


def b2c_name(value: Any) -> str:
    value = text(value)
    if value and not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9-]*", value):
        raise Invalid("must be the B2C tenant's name alone (contoso for contoso.onmicrosoft.com).")
    return value


def user_flow(value: Any) -> str:
    value = text(value)
    if value and not re.fullmatch(r"[A-Za-z0-9_.-]+", value):
        raise Invalid("must be a user flow's name, e.g. B2C_1_signupsignin1.")
    return value


def redirect_uri(value: Any) -> str:
    value = text(value)
    if not _is_url(value, {"http", "https"}):
        raise Invalid(
            "must be an absolute URL such as http://localhost:5000/getAToken, exactly as registered in Entra."
        )
    parts = urlsplit(value)
    if parts.path in ("", "/"):
        raise Invalid(
            "must have its own path (e.g. /getAToken): the site's root page cannot also be the sign-in callback."
        )
    if parts.query or parts.fragment:
        raise Invalid("must not have a query or a fragment (Entra refuses them in a web redirect URI).")
    if "<" in parts.path or ">" in parts.path:
        raise Invalid("must be a plain path, without <converters>: Entra calls back exactly the registered URL.")
    if parts.path.rstrip("/") in SIGN_IN_PATHS:
        raise Invalid(f"cannot use {parts.path}: the app serves that page itself. Use e.g. /getAToken.")
    return value


def scopes(value: Any) -> tuple[str, ...]:
    items = tuple(text(value).split())
    reserved = sorted(RESERVED_SCOPES.intersection(items))
    if reserved:
        raise Invalid(f"must not list {', '.join(reserved)}: MSAL adds them itself.")
    return items


def https_url(value: Any) -> str:
    value = text(value)
    if not _is_url(value, {"https"}):
        raise Invalid("must be an https URL, e.g. https://graph.microsoft.com/v1.0/users.")
    return value


def optional_https_url(value: Any) -> str:
    return https_url(value) if text(value) else ""


def tenant_list(value: Any) -> tuple[str, ...]:
    items = tuple(item for item in re.split(r"[\s,]+", text(value)) if item)
    bad = [item for item in items if not GUID.match(item)]
    if bad:
        raise Invalid("must list tenant ids (GUIDs), not " + ", ".join(bad[:3]))
    return tuple(item.lower() for item in items)


def role_list(value: Any) -> tuple[str, ...]:
    """App role values (the manifest's appRoles[].value, which has no spaces), comma or space separated."""
    return tuple(dict.fromkeys(item for item in re.split(r"[\s,]+", text(value)) if item))


def group_list(value: Any) -> tuple[str, ...]:
    items = tuple(item for item in re.split(r"[\s,]+", text(value)) if item)
    bad = [item for item in items if not GUID.match(item)]
    if bad:
        raise Invalid("must list groups' object ids (GUIDs, from the group's Overview page), not " + ", ".join(bad[:3]))
    return tuple(dict.fromkeys(item.lower() for item in items))


def session_type(value: Any) -> Literal["filesystem", "redis"]:
    value = text(value)
    if value == "filesystem":
        return "filesystem"
    if value == "redis":
        return "redis"
    raise Invalid("must be filesystem or redis.")


def log_format(value: Any) -> Literal["text", "json"]:
    value = text(value).lower()
    if value == "text":
        return "text"
    if value == "json":
        return "json"
    raise Invalid("must be text or json.")


def signin_trace(value: Any) -> bool | None:
    """None for auto: on in the local demo (LOCAL_MOCK_AUTHORITY), off otherwise."""
    if text(value).lower() in ("", "auto"):
        return None
    try:
        return boolean(value)
    except Invalid:
        raise Invalid("must be auto, true or false.") from None


def metrics_port(value: Any) -> tuple[str, int] | None:
    """Empty or 0: none; a port (on 127.0.0.1); or host:port."""
    host, _, port = text(value).rpartition(":")
    if port in ("", "0") and not host:
        return None
    if not port.isdigit() or not 0 < int(port) <= 65535:
        raise Invalid("must be a port (served on 127.0.0.1), host:port, or empty for none.")
    return host.strip("[]") or "127.0.0.1", int(port)


def redis_url(value: Any) -> str:
    value = text(value)
    if urlsplit(value).scheme not in ("redis", "rediss", "unix"):
        raise Invalid("must be a redis://, rediss:// (TLS) or unix:// URL.")
    return value


def cookie_secure(value: Any) -> bool | None:
    """None for auto: decided by REDIRECT_URI's scheme."""
    if text(value).lower() == "auto":
        return None
    try:
        return boolean(value)
    except Invalid:
        raise Invalid("must be auto, true or false.") from None


def trusted_proxies(value: Any) -> int:
    try:
        return whole_number(value)
    except Invalid:
        raise Invalid(
            "must be a whole number: how many proxies in front of the app set X-Forwarded-* headers (0 if none)."
        ) from None


def sweep_interval(value: Any) -> int:
    try:
        return whole_number(value)
    except Invalid:
        raise Invalid("must be a whole number of seconds (0: no sweeper).") from None


def content_length(value: Any) -> int:
    number = whole_number(value)
    if number < 1024:
        raise Invalid("must be at least 1024 bytes.")
    return number


PARSERS: dict[str, Callable[[Any], Any]] = {
    "CLIENT_ID": client_id,
    "CLIENT_SECRET": optional_secret,
    "CLIENT_CERTIFICATE_PATH": optional_file,
    "CLIENT_CERTIFICATE_PASSWORD": text,
    "CLIENT_CERTIFICATE_SEND_X5C": boolean,
    "CLIENT_ASSERTION_FILE": optional_file,
    "MANAGED_IDENTITY_CLIENT_ID": optional_guid,
    "AUTHORITY": authority,
    "OIDC_AUTHORITY": oidc_authority,
    "B2C_TENANT_NAME": b2c_name,
    "B2C_INSTANCE": b2c_instance,
    "SIGNUPSIGNIN_USER_FLOW": user_flow,
    "EDITPROFILE_USER_FLOW": user_flow,
    "RESETPASSWORD_USER_FLOW": user_flow,
    "REDIRECT_URI": redirect_uri,
    "SCOPE": scopes,
    "ENDPOINT": optional_https_url,
    "ALLOWED_TENANTS": tenant_list,
    "REQUIRED_ROLES": role_list,
    "ALLOWED_GROUPS": group_list,
    "SECRET_KEY": text,
    "SESSION_TYPE": session_type,
    "SESSION_FILE_DIR": text,
    "REDIS_URL": redis_url,
    "SESSION_IDLE_TIMEOUT": positive_seconds,
    "SESSION_ABSOLUTE_TIMEOUT": positive_seconds,
    "SESSION_SWEEP_INTERVAL": sweep_interval,
    "TRUSTED_PROXIES": trusted_proxies,
    "COOKIE_SECURE": cookie_secure,
    "HTTP_CONNECT_TIMEOUT": positive_number,
    "HTTP_READ_TIMEOUT": positive_number,
    "HTTP_TOTAL_TIMEOUT": positive_number,
    "REQUESTS_CA_BUNDLE": text,
    "MAX_CONTENT_LENGTH": content_length,
    "SIGNIN_TRACE": signin_trace,
    "LOCAL_MOCK_AUTHORITY": boolean,
    "LOG_FORMAT": log_format,
    "METRICS": boolean,
    "METRICS_PORT": metrics_port,
}
FIELD_OF = {"SCOPE": "scopes"}


CREDENTIAL_HELP = (
    "The app needs exactly one credential: CLIENT_SECRET (a secret's Value from Certificates & secrets), "
    "CLIENT_CERTIFICATE_PATH (a PEM or PFX whose certificate is uploaded there), CLIENT_ASSERTION_FILE "
    "(a federated token file; AKS sets AZURE_FEDERATED_TOKEN_FILE) or MANAGED_IDENTITY_CLIENT_ID."
)
AUTHORITY_HELP = (
    "The app needs exactly one authority: AUTHORITY (https://login.microsoftonline.com/<tenant id>, or "
    ".../organizations for a multi-tenant app), OIDC_AUTHORITY (an OpenID provider's issuer URL) or "
    "B2C_TENANT_NAME with SIGNUPSIGNIN_USER_FLOW."
)


def _with_alias(config: Mapping[str, Any], key: str, alias: str) -> Mapping[str, Any]:
    if text(config.get(key)) or not text(config.get(alias)):
        return config
    return {**config, key: config[alias]}


def _exactly_one(
    values: dict[str, Any], problems: list[Problem], group: Mapping[str, str], help_text: str
) -> list[Problem]:
    """A problem unless exactly one setting of the group is set (none found if one of them is already wrong)."""
    if any(problem.setting in group for problem in problems):
        return []
    chosen = [key for key in group if values.get(key.lower())]
    first = next(iter(group))
    if not chosen:
        return [Problem(first, f"is missing. {help_text}")]
    if len(chosen) > 1:
        return [Problem(chosen[1], f"is set as well as {chosen[0]}: keep exactly one. {help_text}")]
    return []


def default_endpoint(authority: str) -> str:
    """The Graph users endpoint of the authority's cloud (national clouds have their own Graph host)."""
    return f"https://{graph_host_for(urlsplit(authority).hostname or '')}/v1.0/users"


def parse(config: Mapping[str, Any], defaults: Mapping[str, str] = DEFAULTS) -> tuple[Settings | None, list[Problem]]:
    """Settings from config (missing keys take defaults), or None and every problem found."""
    values: dict[str, Any] = {}
    problems: list[Problem] = []
    config = _with_alias(config, "CLIENT_ASSERTION_FILE", ASSERTION_FILE_ALIAS)
    generic_provider = bool(text(config.get("OIDC_AUTHORITY")))
    for key, parser in PARSERS.items():
        if key == "CLIENT_ID" and generic_provider:
            parser = provider_client_id
        try:
            value = config.get(key)  # None: unset (Flask's own config holds None for e.g. MAX_CONTENT_LENGTH)
            values[FIELD_OF.get(key, key.lower())] = parser(defaults.get(key, "") if value is None else value)
        except Invalid as invalid:
            problems.append(Problem(key, str(invalid)))
    problems += _exactly_one(values, problems, CREDENTIAL_SETTINGS, CREDENTIAL_HELP)
    problems += _exactly_one(values, problems, AUTHORITY_SETTINGS, AUTHORITY_HELP)
    if values.get("b2c_tenant_name") and not values.get("signupsignin_user_flow"):
        problems.append(
            Problem("SIGNUPSIGNIN_USER_FLOW", "is missing: B2C_TENANT_NAME needs its sign-up and sign-in user flow.")
        )
    if values.get("allowed_tenants") and (values.get("oidc_authority") or values.get("b2c_tenant_name")):
        problems.append(
            Problem("ALLOWED_TENANTS", "applies to AUTHORITY only: B2C and other OpenID providers have no tenants.")
        )
    if (values.get("required_roles") or values.get("allowed_groups")) and values.get("b2c_tenant_name"):
        problems.append(
            Problem(
                "REQUIRED_ROLES" if values.get("required_roles") else "ALLOWED_GROUPS",
                "cannot apply to B2C: its tokens carry no app roles or groups.",
            )
        )
    if values.get("endpoint") == "":
        values["endpoint"] = default_endpoint(values.get("authority", ""))
    idle, absolute = values.get("session_idle_timeout"), values.get("session_absolute_timeout")
    if idle and absolute and idle > absolute:
        problems.append(Problem("SESSION_IDLE_TIMEOUT", "must not be longer than SESSION_ABSOLUTE_TIMEOUT."))
    if problems:
        return None, problems
    if values["cookie_secure"] is None:
        values["cookie_secure"] = urlsplit(values["redirect_uri"]).scheme == "https"
    if values["signin_trace"] is None:
        values["signin_trace"] = values["local_mock_authority"]
    assert {field.name for field in fields(Settings)} == set(values), "every setting has a parser"
    return Settings(**values), []
