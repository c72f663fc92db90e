"""Mutable state of a running mock and its Python control API: users, apps, codes and refresh tokens (grants.py),
browser sessions (sso.py), faults, request log, clock."""

from __future__ import annotations

import collections
import dataclasses
import secrets
import threading
import time
import uuid
from collections.abc import Iterable
from typing import Any

from . import scopes
from .config import MockConfig, ResolvedConfig
from .consent import ConsentGrants
from .credentials import (
    TOKEN_EXCHANGE_AUDIENCE,
    WORKLOAD_ISSUER_PATH,
    CredentialRegistry,
    FederatedCredential,
    ManagedIdentity,
    RegisteredCertificate,
    new_identity_header,
    workload_token_claims,
)
from .errors import EntraError
from .faults import FAULT_KINDS, DripProgress, Fault, make_fault
from .grants import SignInGrants
from .keys import SigningKey
from .memberships import GROUP_MEMBERSHIP_CLAIMS, Group, Memberships, seed_demo
from .models import Client, RequestRecord
from .policies import SignInPolicies
from .sso import BrowserSessions, EndSession, FrontChannelCall
from .tenants import MULTIPLE_ORGS, SIGN_IN_AUDIENCES
from .users import DemoUser, make_user

__all__ = ["FAULT_KINDS", "MockState", "RequestRecord"]

RUNTIME_SETTINGS = (
    "access_token_lifetime",
    "id_token_lifetime",
    "refresh_token_lifetime",
    "code_lifetime",
    "graph_latency",
)


class MockState:
    """Thread-safe state and control API of one mock (the object tests get as mock.state)."""

    def __init__(self, config: MockConfig) -> None:
        self.config: ResolvedConfig = config.resolved()
        self.keys = SigningKey()
        self.retired_keys: list[SigningKey] = []  # still published after a rotation, as Entra does
        self._rogue_key: SigningKey | None = None
        self._configured_client = Client(
            self.config.client_id,
            self.config.client_secret,
            tuple(self.config.redirect_uris),
            self.config.frontchannel_logout_uri,
            self.config.sign_in_audience,
            group_membership_claims="SecurityGroup",  # the demo shows group claims
        )
        # Credentials other than the secret (credentials.py): what the configuration registers survives resets.
        self.identity_header = new_identity_header()
        self.workload_issuer_key = SigningKey()
        self._configured_certificate = self._read(self.config.client_certificate)
        self._configured_identity = (
            ManagedIdentity(str(uuid.uuid4()), str(uuid.uuid4()), self.identity_header)
            if self.config.managed_identity
            else None
        )
        self._lock = threading.RLock()
        self._drip_stop = threading.Event()
        self.reset()

    @staticmethod
    def _read(path: str | None) -> bytes | None:
        if path is None:
            return None
        with open(path, "rb") as handle:
            return handle.read()

    # -- lifecycle -------------------------------------------------------

    def reset(self) -> None:
        """Forget codes, tokens, faults, log, connection counts, clock, browser sessions, sign-out records, apps
        registered at run time and settings; end running drips; re-seed users."""
        with self._lock:
            self._drip_stop.set()
            self._drip_stop = threading.Event()
            self._drips: list[DripProgress] = []
            self.clients: dict[str, Client] = {self._configured_client.client_id: self._configured_client}
            self.sessions = BrowserSessions()
            self._users: list[DemoUser] = list(self.config.users or ())
            self.grants = SignInGrants(self.now)  # pending authorize requests, codes, refresh tokens
            self.policies = SignInPolicies()  # Conditional Access and revocations (conditional_access.py)
            self._memberships: Memberships | None = None  # seeded on first use: resets stay cheap
            self.consents = ConsentGrants()
            configured = self._permissions(self.config.admin_consented_scopes)
            self.consents.grant_admin(None, self.config.client_id, configured)
            self._faults: dict[str, collections.deque[Fault]] = collections.defaultdict(collections.deque)
            self._requests: list[RequestRecord] = []
            self._connections: collections.Counter[str] = collections.Counter()
            self._offset = 0.0
            self._settings: dict[str, float] = {name: getattr(self.config, name) for name in RUNTIME_SETTINGS}
            self.credentials = CredentialRegistry(self.identity_header)
            if self._configured_certificate is not None:
                self.credentials.add_certificate(self.config.client_id, self._configured_certificate)
            if self._configured_identity is not None:
                self.credentials.add_managed_identity(self._configured_identity)

    @property
    def memberships(self) -> Memberships:
        """Groups, app roles and managers: the demo's, seeded from the directory when first used after a reset."""
        with self._lock:
            if self._memberships is None:
                self._memberships = seed_demo(self.config.tenant_id, self._users, self.config.client_id)
            return self._memberships

    # -- clock and settings ---------------------------------------------

    def now(self) -> float:
        """Current time as the mock sees it (real time plus the injected offset)."""
        with self._lock:
            return time.time() + self._offset

    def advance_clock(self, seconds: float) -> float:
        """Move the mock's clock forward (or back, if negative); returns the total offset."""
        with self._lock:
            self._offset += float(seconds)
            return self._offset

    @property
    def clock_offset(self) -> float:
        """Seconds added to real time."""
        with self._lock:
            return self._offset

    def configure(self, **settings: float | str) -> dict[str, float]:
        """Change lifetimes or graph_latency at run time; returns the settings in force."""
        unknown = set(settings) - set(RUNTIME_SETTINGS)
        if unknown:
            raise ValueError(f"unknown setting(s): {', '.join(sorted(unknown))}")
        with self._lock:
            for name, value in settings.items():
                self._settings[name] = float(value) if name == "graph_latency" else int(value)
            return dict(self._settings)

    @property
    def settings(self) -> dict[str, float]:
        """Runtime settings in force."""
        with self._lock:
            return dict(self._settings)

    def setting(self, name: str) -> float:
        """One runtime setting (the lifetimes are whole seconds, graph_latency may be a fraction)."""
        with self._lock:
            return self._settings[name]

    # -- users -----------------------------------------------------------

    @property
    def users(self) -> list[DemoUser]:
        """A copy of the directory."""
        with self._lock:
            return list(self._users)

    def add_user(self, user: DemoUser | None = None, **fields: Any) -> DemoUser:
        """Add a user (a DemoUser, or fields: name, upn and optional DemoUser fields)."""
        if user is None:
            user = make_user(**fields)
        with self._lock:
            if self.find_user(user.oid) or self.find_user(user.upn):
                raise ValueError(f"a user with oid {user.oid} or UPN {user.upn} already exists")
            self._users.append(user)
        return user

    def update_user(self, oid: str, **fields: Any) -> DemoUser:
        """Change a user's properties (e.g. a B2C profile edit renames them); returns the updated user."""
        with self._lock:
            for index, user in enumerate(self._users):
                if user.oid == oid:
                    self._users[index] = user._replace(**fields)
                    return self._users[index]
        raise ValueError(f"no user with oid {oid}")

    def find_user(self, key: str) -> DemoUser | None:
        """Look a user up by object id or (case-insensitive) UPN, as Graph does."""
        with self._lock:
            for user in self._users:
                if user.oid.lower() == key.lower() or user.upn.lower() == key.lower():
                    return user
        return None

    # -- faults ----------------------------------------------------------

    def enqueue_fault(self, endpoint: str, kind: str, **params: Any) -> Fault:
        """Queue a one-shot fault; FIFO per endpoint, consumed by the next matching request (see faults.py)."""
        fault = make_fault(endpoint, kind, params)
        with self._lock:
            self._faults[endpoint].append(fault)
        return fault

    def take_fault(self, endpoint: str) -> Fault | None:
        """Pop the oldest queued fault for an endpoint, if any."""
        with self._lock:
            queue = self._faults.get(endpoint)
            return queue.popleft() if queue else None

    @property
    def faults(self) -> list[Fault]:
        """Faults still queued, all endpoints."""
        with self._lock:
            return [f for queue in self._faults.values() for f in queue]

    # -- request log -----------------------------------------------------

    def record(self, record: RequestRecord) -> None:
        """Append to the request log."""
        with self._lock:
            self._requests.append(record)

    @property
    def requests(self) -> list[RequestRecord]:
        """A copy of the request log, oldest first."""
        with self._lock:
            return list(self._requests)

    def requests_to(self, endpoint: str) -> list[RequestRecord]:
        """Logged requests to one endpoint name (e.g. "token", "graph_users")."""
        return [r for r in self.requests if r.endpoint == endpoint]

    def clear_requests(self) -> None:
        """Empty the request log."""
        with self._lock:
            self._requests.clear()

    def count_connection(self, listener: str) -> None:
        """Note a new TCP connection (after its TLS handshake) accepted by a listener: "back" or "front"."""
        with self._lock:
            self._connections[listener] += 1

    def connections_opened(self, listener: str = "back") -> int:
        """New connections a listener accepted since the last reset or clear_connections.

        The back channel serves discovery, JWKS, token and Graph on one port: a client that pools its
        connections opens one per concurrent request, then reuses it."""
        with self._lock:
            return self._connections[listener]

    def clear_connections(self) -> None:
        """Start counting connections from zero."""
        with self._lock:
            self._connections.clear()

    def token_redemptions(self) -> collections.Counter[str | None]:
        """Token requests counted by grant type."""
        return collections.Counter(r.grant_type for r in self.requests_to("token"))

    # -- apps, sign-outs, drips -------------------------------------------

    def register_client(
        self,
        client_id: str | None = None,
        client_secret: str | None = None,
        redirect_uris: str | Iterable[str] = (),
        frontchannel_logout_uri: str | None = None,
        sign_in_audience: str = MULTIPLE_ORGS,
        group_membership_claims: str | None = None,
    ) -> Client:
        """Register another app (until the next reset); ids and secret are generated when not given.

        sign_in_audience: AzureADMyOrg, AzureADMultipleOrgs, AzureADandPersonalMicrosoftAccount or
        PersonalMicrosoftAccount (tenants.py). group_membership_claims: SecurityGroup or All (groups in ID
        tokens)."""
        if isinstance(redirect_uris, str):
            redirect_uris = (redirect_uris,)
        if sign_in_audience not in SIGN_IN_AUDIENCES:
            raise ValueError(f"unknown sign_in_audience {sign_in_audience!r}")
        if group_membership_claims not in (None, *GROUP_MEMBERSHIP_CLAIMS):
            raise ValueError(f"unknown group_membership_claims {group_membership_claims!r}")
        client = Client(
            client_id or str(uuid.uuid4()),
            client_secret or secrets.token_urlsafe(32),
            tuple(str(u) for u in redirect_uris),
            frontchannel_logout_uri or None,
            sign_in_audience,
            group_membership_claims=group_membership_claims,
        )
        with self._lock:
            if client.client_id in self.clients:
                raise ValueError(f"an app with client id {client.client_id} is already registered")
            self.clients = {**self.clients, client.client_id: client}
        return client

    @property
    def logouts(self) -> list[EndSession]:
        """Each end-session request, oldest first: logout_hint, target, sids ended, front-channel calls."""
        return self.sessions.end_sessions

    @property
    def frontchannel_calls(self) -> list[FrontChannelCall]:
        """Every front-channel logout URL the sign-out page asked the browser to load, oldest first."""
        return [call for logout in self.logouts for call in logout.frontchannel]

    def start_drip(self, endpoint: str, total: int) -> tuple[DripProgress, threading.Event]:
        """Note a drip starting; returns its progress record and the event that ends it early (reset)."""
        progress = DripProgress(endpoint, total)
        with self._lock:
            self._drips.append(progress)
            return progress, self._drip_stop

    @property
    def drips(self) -> list[DripProgress]:
        """Copies of the drips since the last reset."""
        with self._lock:
            return [dataclasses.replace(d) for d in self._drips]

    def stop_drips(self) -> None:
        """End every running drip (the server is stopping)."""
        with self._lock:
            self._drip_stop.set()

    def rotate_keys(self) -> SigningKey:
        """Sign with a new key from now on; the old one stays in JWKS (and valid at Graph)."""
        with self._lock:
            self.retired_keys.insert(0, self.keys)
            self.keys = SigningKey()
            return self.keys

    def published_keys(self) -> list[SigningKey]:
        """The keys JWKS lists: the current one first."""
        with self._lock:
            return [self.keys, *self.retired_keys]

    @property
    def rogue_key(self) -> SigningKey:
        """A key that is never published in JWKS (for the id_token_unknown_kid fault)."""
        with self._lock:
            if self._rogue_key is None:
                self._rogue_key = SigningKey()
            return self._rogue_key

    # -- consent (consent.py) ----------------------------------------------

    @staticmethod
    def _permissions(requested: str | Iterable[str]) -> frozenset[str]:
        """Graph permissions (short or full-URI names, any case) as canonical names; ValueError if unknown."""
        values = requested.split() if isinstance(requested, str) else list(requested)
        try:
            parsed = scopes.parse(values)
        except EntraError as exc:  # the same scopes would be refused at authorize
            raise ValueError(str(exc)) from None
        if parsed.default:
            raise ValueError("consent names permissions, not .default")
        return parsed.requested

    def grant_admin_consent(
        self, client_id: str, permissions: str | Iterable[str], tenant_id: str | None = None
    ) -> frozenset[str]:
        """An admin consents for every user of a tenant (None: of every tenant); returns the permissions granted."""
        granted = self._permissions(permissions)
        self.consents.grant_admin(tenant_id, self._known_client(client_id), granted)
        return granted

    def grant_user_consent(self, user: str, client_id: str, permissions: str | Iterable[str]) -> frozenset[str]:
        """A user (oid or UPN) consents for themself, in their home tenant; returns the permissions granted."""
        found = self.find_user(user)
        if found is None:
            raise ValueError(f"no user {user}")
        granted = self._permissions(permissions)
        tenant = found.home_tenant(self.config.tenant_id)
        self.consents.grant_user(tenant, found.oid, self._known_client(client_id), granted)
        return granted

    def granted_permissions(self, user: str, client_id: str) -> frozenset[str]:
        """Graph permissions the app holds for a user (theirs and their tenant's admin grants)."""
        found = self.find_user(user)
        if found is None:
            raise ValueError(f"no user {user}")
        return self.consents.granted(found.home_tenant(self.config.tenant_id), found.oid, client_id)

    # -- credentials other than a secret (credentials.py) ------------------

    def _known_client(self, client_id: str) -> str:
        if client_id not in self.clients:
            raise ValueError(f"no app with client id {client_id} is registered")
        return client_id

    def add_certificate(
        self, client_id: str, cert_pem: bytes, subject_name_issuer: bool = False
    ) -> RegisteredCertificate:
        """Upload a certificate (PEM) to an app; subject_name_issuer also trusts same-subject/issuer certs in x5c."""
        return self.credentials.add_certificate(self._known_client(client_id), cert_pem, subject_name_issuer)

    def add_federated_credential(
        self, client_id: str, issuer: str, subject: str, audience: str = TOKEN_EXCHANGE_AUDIENCE
    ) -> FederatedCredential:
        """Trust tokens from issuer about subject (matched case-sensitively, as Entra does) as the app's credential."""
        credential = FederatedCredential(self._known_client(client_id), issuer, subject, audience)
        return self.credentials.add_federated_credential(credential)

    def allow_client_secret(self, client_id: str, allowed: bool) -> None:
        """allowed=False: the app has no secret, so any client_secret fails as a wrong one does (7000215)."""
        self.credentials.allow_client_secret(self._known_client(client_id), allowed)

    def add_managed_identity(self, client_id: str | None = None) -> ManagedIdentity:
        """A user-assigned managed identity served at the App Service endpoint (ids generated when not given)."""
        return self.credentials.add_managed_identity(client_id=client_id)

    @property
    def managed_identities(self) -> list[ManagedIdentity]:
        """The configured identity (if any) and those added since the last reset."""
        return self.credentials.managed_identities

    def workload_issuer(self) -> str:
        """The iss of the mock's workload-identity tokens (needs the back channel's port)."""
        from .runtime import urls_for

        if not self.config.port:
            raise ValueError("the workload issuer's URL is known once the mock listens on a port")
        return urls_for(self.config.host, self.config.port, self.config.front_port, self.config.tenant_id).base_url + (
            WORKLOAD_ISSUER_PATH
        )

    def mint_workload_token(self, subject: str, audience: str = TOKEN_EXCHANGE_AUDIENCE, lifetime: int = 3600) -> str:
        """A token from the mock's workload-identity issuer, as a pod reads from AZURE_FEDERATED_TOKEN_FILE."""
        claims = workload_token_claims(
            issuer=self.workload_issuer(), subject=subject, audience=audience, now=self.now(), lifetime=lifetime
        )
        return self.workload_issuer_key.sign(claims)

    # -- Conditional Access, CAE (conditional_access.py) -----------------------

    def revoke_user_sessions(self, oid: str) -> float:
        """Revoke the user's sessions and refresh tokens (Graph's revokeSignInSessions); returns the revocation time.

        Afterwards refresh tokens issued before are refused (AADSTS50173) and Graph answers CAE tokens (of cp1
        clients) issued before with a claims challenge; other access tokens stay valid until they expire."""
        return self.policies.revoke(self._known_user(oid), self.now())

    def require_mfa(self, oid: str, code: int = 50076) -> str:
        """A Conditional Access policy requires MFA of the user (code 50079: MFA registration); returns its id."""
        return self.policies.require_mfa(self._known_user(oid), code).policy_id

    def lift_mfa(self, oid: str) -> None:
        """No policy requires MFA of the user any more."""
        self.policies.lift_mfa(self._known_user(oid))

    def block_user(self, oid: str, blocked: bool = True) -> None:
        """A Conditional Access policy blocks the user (AADSTS53003), or (blocked=False) no longer does."""
        self.policies.block(self._known_user(oid), blocked)

    def _known_user(self, oid: str) -> str:
        user = self.find_user(oid)
        if user is None:
            raise ValueError(f"no user with oid or UPN {oid}")
        return user.oid

    # -- groups, app roles, managers (memberships.py) ---------------------------

    def add_group(self, name: str, security_enabled: bool = True, description: str | None = None) -> Group:
        """A new group (security group unless security_enabled=False)."""
        return self.memberships.add_group(name, security_enabled, description)

    def add_member(self, group_id: str, member_id: str) -> None:
        """Add a user (oid or UPN) or a group (id) to a group."""
        user = self.find_user(member_id)
        member = user.oid if user is not None else member_id
        if user is None and self.memberships.find_group(member_id) is None:
            raise ValueError(f"no user or group {member_id}")
        self.memberships.add_member(group_id, member)

    def assign_role(self, client_id: str, principal_id: str, value: str) -> None:
        """Assign one of the app's roles (its value) to a user (oid or UPN) or a group (id)."""
        user = self.find_user(principal_id)
        principal = user.oid if user is not None else principal_id
        if user is None and self.memberships.find_group(principal_id) is None:
            raise ValueError(f"no user or group {principal_id}")
        self.memberships.assign_role(self._known_client(client_id), principal, value)

    def set_manager(self, oid: str, manager: str | None) -> None:
        """Set (or, with None, remove) a user's manager (oid or UPN)."""
        self.memberships.set_manager(self._known_user(oid), self._known_user(manager) if manager else None)

    def set_group_membership_claims(self, client_id: str, value: str | None) -> Client:
        """Change an app's groupMembershipClaims (None, SecurityGroup or All) until the next reset."""
        if value not in (None, *GROUP_MEMBERSHIP_CLAIMS):
            raise ValueError(f"unknown group_membership_claims {value!r}")
        with self._lock:
            client = dataclasses.replace(self.clients[self._known_client(client_id)], group_membership_claims=value)
            self.clients = {**self.clients, client_id: client}
            return client
