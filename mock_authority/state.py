"""Mutable state of a running mock: users, clients, codes, refresh tokens, SSO, faults, request log, clock."""

from __future__ import annotations

import collections
import dataclasses
import hmac
import secrets
import threading
import time
import uuid
from dataclasses import dataclass, field

from .config import MockConfig
from .keys import SigningKey
from .users import DemoUser, make_user

# Which one-shot faults each endpoint family understands.
FAULT_KINDS: dict[str, frozenset[str]] = {
    "token": frozenset(
        {
            "invalid_grant",
            "interaction_required",
            "invalid_client",
            "server_error",
            "temporarily_unavailable",
            "slow",
            "id_token_wrong_aud",
            "id_token_wrong_iss",
            "id_token_expired",
            "id_token_not_yet_valid",
            "id_token_bad_signature",
            "id_token_unknown_kid",
            "id_token_wrong_nonce",
            "id_token_missing",
        }
    ),
    "authorize": frozenset({"access_denied", "server_error", "interaction_required"}),
    "graph": frozenset({"status", "slow"}),
    "discovery": frozenset({"status", "slow"}),
    "jwks": frozenset({"status", "slow"}),
    "logout": frozenset({"status", "slow"}),
}
GRAPH_FAULT_STATUSES = frozenset({401, 403, 404, 429, 500, 503})
RUNTIME_SETTINGS = (
    "access_token_lifetime",
    "id_token_lifetime",
    "refresh_token_lifetime",
    "code_lifetime",
    "graph_latency",
)
PENDING_LIFETIME = 900  # seconds a picker page (ctx) stays usable


@dataclass(frozen=True)
class RequestRecord:
    """One logged request; holds no secrets, codes, tokens or verifiers by construction."""

    endpoint: str
    method: str
    path: str
    status: int
    time: float
    grant_type: str | None = None
    client_id: str | None = None
    client_request_id: str | None = None


@dataclass(frozen=True)
class Fault:
    """A one-shot fault waiting for the next request to its endpoint."""

    endpoint: str
    kind: str
    params: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Client:
    """A registered app."""

    client_id: str
    client_secret: str
    redirect_uris: tuple[str, ...]

    def secret_matches(self, candidate: str) -> bool:
        """Constant-time secret comparison."""
        return hmac.compare_digest(candidate.encode(), self.client_secret.encode())


@dataclass(frozen=True)
class PendingAuthorization:
    """A validated authorize request waiting for the user to pick an account (Entra's ctx)."""

    client_id: str
    redirect_uri: str
    scopes: tuple[str, ...]
    state: str | None
    nonce: str | None
    code_challenge: str
    client_info: bool
    login_hint: str | None
    tenant: str
    expires_at: float


@dataclass
class AuthCode:
    """An issued authorization code; redeemed flips on first presentation."""

    client_id: str
    redirect_uri: str
    scopes: tuple[str, ...]
    nonce: str | None
    code_challenge: str
    user_oid: str
    sid: str
    expires_at: float
    redeemed: bool = False


@dataclass(frozen=True)
class RefreshGrant:
    """What a refresh token stands for: user, client, consented scopes, session, expiry."""

    user_oid: str
    client_id: str
    scopes: tuple[str, ...]
    sid: str
    expires_at: float


@dataclass(frozen=True)
class SsoSession:
    """The mock's browser session (cookie), used by prompt=none."""

    user_oid: str
    sid: str


class MockState:
    """Thread-safe state and control API of one mock (the object tests get as mock.state)."""

    def __init__(self, config: MockConfig) -> None:
        self.config = config.resolved()
        self.keys = SigningKey()
        self.retired_keys: list[SigningKey] = []  # still published after a rotation, as Entra does
        self._rogue_key: SigningKey | None = None
        self.clients = {
            self.config.client_id: Client(
                self.config.client_id, self.config.client_secret, tuple(self.config.redirect_uris)
            ),
        }
        self._lock = threading.RLock()
        self.reset()

    # -- lifecycle -------------------------------------------------------

    def reset(self) -> None:
        """Forget codes, tokens, faults, log, connection counts, clock, SSO sessions and settings; re-seed users."""
        with self._lock:
            self._users: list[DemoUser] = list(self.config.users or ())
            self._pending: dict[str, PendingAuthorization] = {}
            self._codes: dict[str, AuthCode] = {}
            self._refresh: dict[str, RefreshGrant] = {}
            self._sso: dict[str, SsoSession] = {}
            self._faults: dict[str, collections.deque[Fault]] = collections.defaultdict(collections.deque)
            self._requests: list[RequestRecord] = []
            self._connections: collections.Counter[str] = collections.Counter()
            self._offset = 0.0
            self._settings = {name: getattr(self.config, name) for name in RUNTIME_SETTINGS}

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

    def configure(self, **settings) -> dict:
        """Change lifetimes or graph_latency at run time; returns the settings in force."""
        unknown = set(settings) - set(RUNTIME_SETTINGS)
        if unknown:
            raise ValueError(f"unknown setting(s): {', '.join(sorted(unknown))}")
        with self._lock:
            for name, value in settings.items():
                self._settings[name] = float(value) if name == "graph_latency" else int(value)
            return dict(self._settings)

    @property
    def settings(self) -> dict:
        """Runtime settings in force."""
        with self._lock:
            return dict(self._settings)

    def setting(self, name: str):
        """One runtime setting."""
        with self._lock:
            return self._settings[name]

    # -- users -----------------------------------------------------------

    @property
    def users(self) -> list[DemoUser]:
        """A copy of the directory."""
        with self._lock:
            return list(self._users)

    def add_user(self, user: DemoUser | None = None, **fields) -> DemoUser:
        """Add a user (a DemoUser, or fields: name, upn and optional DemoUser fields)."""
        if user is None:
            user = make_user(**fields)
        with self._lock:
            if self.find_user(user.oid) or self.find_user(user.upn):
                raise ValueError(f"a user with oid {user.oid} or UPN {user.upn} already exists")
            self._users.append(user)
        return user

    def find_user(self, key: str) -> DemoUser | None:
        """Look a user up by object id or (case-insensitive) UPN, as Graph does."""
        with self._lock:
            for user in self._users:
                if user.oid.lower() == key.lower() or user.upn.lower() == key.lower():
                    return user
        return None

    # -- faults ----------------------------------------------------------

    def enqueue_fault(self, endpoint: str, kind: str, **params) -> Fault:
        """Queue a one-shot fault; FIFO per endpoint, consumed by the next matching request."""
        if endpoint not in FAULT_KINDS:
            raise ValueError(f"unknown fault endpoint {endpoint!r}; expected one of {sorted(FAULT_KINDS)}")
        if kind not in FAULT_KINDS[endpoint]:
            raise ValueError(f"unknown {endpoint} fault {kind!r}; expected one of {sorted(FAULT_KINDS[endpoint])}")
        if kind == "status":
            status = int(params.get("status", 0))
            allowed = GRAPH_FAULT_STATUSES if endpoint == "graph" else range(400, 600)
            if status not in allowed:
                raise ValueError(f"status {status} is not a supported {endpoint} fault status")
            params["status"] = status
        if kind == "slow":
            params["delay"] = float(params.get("delay", 1.0))
        fault = Fault(endpoint, kind, dict(params))
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

    def token_redemptions(self) -> collections.Counter:
        """Token requests counted by grant type."""
        return collections.Counter(r.grant_type for r in self.requests_to("token"))

    # -- authorize context, codes, refresh tokens, SSO --------------------

    def add_pending(self, pending: PendingAuthorization) -> str:
        """Store a validated authorize request; returns its ctx."""
        ctx = secrets.token_urlsafe(24)
        with self._lock:
            self._pending[ctx] = pending
        return ctx

    def take_pending(self, ctx: str) -> PendingAuthorization | None:
        """Pop a pending authorize request if it exists and has not expired."""
        with self._lock:
            pending = self._pending.pop(ctx, None)
        if pending is None or pending.expires_at < self.now():
            return None
        return pending

    def add_code(self, code: AuthCode) -> str:
        """Store an authorization code; returns the code string."""
        value = "1.A" + secrets.token_urlsafe(96)
        with self._lock:
            self._codes[value] = code
        return value

    def claim_code(self, value: str) -> tuple[AuthCode | None, bool]:
        """Look a code up and mark it redeemed atomically; returns (code, was_already_redeemed)."""
        with self._lock:
            code = self._codes.get(value)
            if code is None:
                return None, False
            already = code.redeemed
            code.redeemed = True
            return dataclasses.replace(code), already

    def add_refresh_token(self, grant: RefreshGrant) -> str:
        """Store a refresh grant; returns the opaque refresh token."""
        value = "1.A" + secrets.token_urlsafe(160)
        with self._lock:
            self._refresh[value] = grant
        return value

    def get_refresh_grant(self, value: str) -> RefreshGrant | None:
        """The grant behind a refresh token (Entra does not revoke old RTs on use)."""
        with self._lock:
            return self._refresh.get(value)

    def start_sso(self, user_oid: str) -> tuple[str, SsoSession]:
        """Begin a browser session; returns (cookie value, session)."""
        cookie = secrets.token_urlsafe(32)
        session = SsoSession(user_oid=user_oid, sid=str(uuid.uuid4()))
        with self._lock:
            self._sso[cookie] = session
        return cookie, session

    def get_sso(self, cookie: str | None) -> SsoSession | None:
        """The session behind a cookie, if still known."""
        if not cookie:
            return None
        with self._lock:
            return self._sso.get(cookie)

    def end_sso(self, cookie: str | None) -> None:
        """Forget a browser session."""
        with self._lock:
            self._sso.pop(cookie or "", None)

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
