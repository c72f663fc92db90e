"""Command line: run the mock in the foreground and print the .env lines an app needs."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading

from .b2c import PASSWORD_RESET, PROFILE_EDITING, SIGN_UP_SIGN_IN
from .config import MockConfig
from .server import MockAuthority
from .shapes import SHAPES
from .tenants import SIGN_IN_AUDIENCES
from .users import make_user

DEMO_SCOPE = "User.ReadBasic.All"


def build_parser() -> argparse.ArgumentParser:
    """Options map 1:1 onto MockConfig fields (dest = field name; a test checks it)."""
    defaults = MockConfig()
    parser = argparse.ArgumentParser(prog="python -m mock_authority", description=__doc__)
    parser.add_argument("--client-id", dest="client_id", help="app's client id (default: a new GUID)")
    parser.add_argument("--client-secret", dest="client_secret", help="app's secret (default: generated)")
    parser.add_argument(
        "--redirect-uri",
        dest="redirect_uris",
        action="append",
        metavar="URI",
        help=f"registered redirect URI, repeatable (default: {' '.join(MockConfig.redirect_uris)})",
    )
    parser.add_argument(
        "--frontchannel-logout-uri",
        dest="frontchannel_logout_uri",
        metavar="URL",
        help="the app's front-channel logout URL, loaded in an iframe with ?sid= when a user signs out",
    )
    parser.add_argument("--tenant-id", dest="tenant_id", help="tenant id (default: a new GUID)")
    parser.add_argument("--host", dest="host", default=defaults.host, help="host name used in URLs")
    parser.add_argument(
        "--port", dest="port", type=int, default=defaults.port, help="https back-channel port (0 = free port)"
    )
    parser.add_argument(
        "--front-port",
        dest="front_port",
        type=int,
        default=defaults.front_port,
        help="plain-http browser port (0 = free port)",
    )
    parser.add_argument(
        "--users",
        dest="users",
        metavar="JSON_FILE",
        help="JSON list of users ({name, upn, ...}); default: seeded demo users",
    )
    for field in ("access_token_lifetime", "id_token_lifetime", "refresh_token_lifetime", "code_lifetime"):
        parser.add_argument(
            f"--{field.replace('_', '-')}", dest=field, type=int, default=getattr(defaults, field), help="seconds"
        )
    parser.add_argument(
        "--graph-latency",
        dest="graph_latency",
        type=float,
        default=defaults.graph_latency,
        help="seconds added to every Graph call",
    )
    parser.add_argument(
        "--client-certificate",
        dest="client_certificate",
        metavar="PEM_PATH",
        help="register this certificate (PEM) on the configured app, for private_key_jwt client authentication",
    )
    parser.add_argument(
        "--managed-identity",
        dest="managed_identity",
        action="store_true",
        help="create a user-assigned managed identity and print IDENTITY_ENDPOINT/IDENTITY_HEADER for it",
    )
    parser.add_argument(
        "--shape",
        dest="shape",
        choices=sorted(SHAPES),
        default=defaults.shape,
        help="the authority the app is given (host name, app's sign-in audience, printed settings)",
    )
    parser.add_argument(
        "--tenant-domain",
        dest="tenant_domain",
        metavar="NAME.onmicrosoft.com",
        help="the tenant's domain name, also accepted in authority paths (default: a fake one)",
    )
    parser.add_argument(
        "--sign-in-audience",
        dest="sign_in_audience",
        choices=SIGN_IN_AUDIENCES,
        help="the configured app's signInAudience (default: the shape's)",
    )
    parser.add_argument(
        "--admin-consent",
        dest="admin_consented_scopes",
        metavar="PERMISSIONS",
        default=" ".join(defaults.admin_consented_scopes),
        help="Graph permissions an admin consented to for the configured app in every tenant (space-separated)",
    )
    return parser


def config_from_args(args: argparse.Namespace) -> MockConfig:
    """Turn parsed options into a MockConfig."""
    values = dict(vars(args))
    values["redirect_uris"] = tuple(values["redirect_uris"] or MockConfig.redirect_uris)
    values["admin_consented_scopes"] = tuple(values["admin_consented_scopes"].split())
    if values["users"]:
        with open(values["users"], encoding="utf-8") as handle:
            values["users"] = tuple(make_user(**entry) for entry in json.load(handle))
    return MockConfig(**values)


def env_lines(mock: MockAuthority) -> list[str]:
    """The settings an app needs, as .env lines."""
    config = mock.config
    return [
        *authority_lines(mock),
        f"CLIENT_ID={config.client_id}",
        f"CLIENT_SECRET={config.client_secret}",
        f"REDIRECT_URI={config.redirect_uris[0]}",
        *api_lines(mock),
        f"REQUESTS_CA_BUNDLE={mock.ca_bundle}",
        *managed_identity_lines(mock),
    ]


def authority_lines(mock: MockAuthority) -> list[str]:
    """How the app names the authority in this shape: AUTHORITY, or B2C's tenant name and user flows."""
    shape = mock.config.shape
    if shape == "b2c":
        return [
            f"B2C_TENANT_NAME={mock.b2c_tenant_name}",
            f"SIGNUPSIGNIN_USER_FLOW={SIGN_UP_SIGN_IN.name}",
            f"EDITPROFILE_USER_FLOW={PROFILE_EDITING.name}",
            f"RESETPASSWORD_USER_FLOW={PASSWORD_RESET.name}",
            # identity alone would build https://<name>.b2clogin.com/…; the mock listens on its own host and port.
            f"B2C_INSTANCE={mock.base_url}",
        ]
    if shape == "ciam":
        return [f"AUTHORITY={mock.ciam_authority}", f"# resolve {mock.config.host} to 127.0.0.1 (fake DNS)"]
    tenant = {"multi-tenant": "organizations", "consumers": "consumers"}.get(shape)
    lines = [f"AUTHORITY={mock.authority_for(tenant) if tenant else mock.authority}"]
    if shape.startswith("national-"):
        lines.append(f"# resolve {mock.config.host} to 127.0.0.1 (fake DNS)")
    return lines


def api_lines(mock: MockAuthority) -> list[str]:
    """What the app calls and with which scope: Graph, or in the B2C shape (Graph takes no B2C token) the demo API
    registered in the B2C tenant."""
    if mock.config.shape == "b2c":
        return [f"ENDPOINT={mock.b2c_api_endpoint}", f"SCOPE={mock.b2c_api_scope}"]
    return [f"ENDPOINT={mock.graph_endpoint}", f"SCOPE={DEMO_SCOPE}"]


def managed_identity_lines(mock: MockAuthority) -> list[str]:
    """What an app using the configured managed identity needs (msal's ManagedIdentityClient reads the first two)."""
    identities = mock.state.managed_identities
    if not mock.config.managed_identity or not identities:
        return []
    return [
        f"IDENTITY_ENDPOINT={mock.identity_endpoint}",
        f"IDENTITY_HEADER={mock.identity_header}",
        f"MANAGED_IDENTITY_CLIENT_ID={identities[0].client_id}",
    ]


def main(argv: list[str] | None = None) -> int:
    """Run until Ctrl-C or SIGTERM, then stop cleanly (the CA bundle is deleted)."""
    config = config_from_args(build_parser().parse_args(argv))
    stop = threading.Event()
    # SIGTERM takes the same clean path as Ctrl-C.
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with MockAuthority(config, log_requests=True) as mock:
        print("# Mock identity platform running; paste into .env (Ctrl-C stops):", flush=True)
        for line in env_lines(mock):
            print(line, flush=True)
        print(f"# Browser pages: {mock.front_url}   Control API: {mock.front_url}/_mock/", flush=True)
        try:
            while not stop.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
