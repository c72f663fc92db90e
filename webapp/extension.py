"""`EntraSignIn`: Sign in with Microsoft for any Flask app, in a few lines.

    entra = EntraSignIn(app)            # reads CLIENT_ID, CLIENT_SECRET, AUTHORITY, REDIRECT_URI, ... from app.config

    @app.get("/profile")
    @login_required
    def profile():
        return {"name": current_user["name"], "me": entra.graph_get("https://graph.microsoft.com/v1.0/me")}

It registers the `entra` blueprint (/login, the redirect URI's path, /logout, /logout/frontchannel), encrypted
server-side sessions, the security headers, the error pages and the `flask sessions` commands.
"""

import functools
import io
import logging
from collections.abc import Callable
from typing import Any, TypeVar, cast

from flask import Flask, abort, current_app, g, redirect, render_template, request, url_for
from werkzeug.local import LocalProxy
from werkzeug.middleware.proxy_fix import ProxyFix

from . import auth_views, challenges, doctor, metrics, probes, request_log, session_cli
from .authorities import Authority, FlowName, resolve
from .authority_cache import AuthorityHttpCache
from .authorization import GROUPS_KEY, Admission, GroupResolver, Memberships, Requirement, graph_base, register_pages
from .credentials import ClientCredential, client_credential, credential_problems
from .discovery import AuthorityMetadata
from .errors import NeedsSignIn, SignInFailure, register_error_pages
from .graph import GraphClient
from .id_token import IdTokenValidator
from .identity_seam import Auth
from .log_hygiene import redact_logs
from .outbound import TimeoutSession
from .pending_sign_in import PendingSignIns
from .redirects import safe_next
from .refresh_coalescing import CoalescingHttpClient
from .sealing import DerivedKeys
from .security import install_security_headers, origin_of
from .session_store import StoreUnavailable, open_store
from .sessions import EncryptedSessions, current_session
from .settings import DEFAULTS, Problem, Settings, parse
from .signin import FlowAuth, SignIn

log = logging.getLogger(__name__)
View = TypeVar("View", bound=Callable[..., Any])
EXTENSION_KEY = "entra_signin"
_UNREAD = object()  # g holds no user yet (None is a user-less answer)


class EntraSignIn:
    """The sign-in core: settings, sessions, identity, Graph, and the sign-in pages."""

    settings: Settings
    credential: ClientCredential
    authority: Authority
    sign_in: SignIn
    graph: GraphClient
    metadata: AuthorityMetadata

    def __init__(
        self, app: Flask | None = None, settings: Settings | None = None, problems: list[Problem] | None = None
    ):
        self.problems: list[Problem] = []
        if app is not None:
            self.init_app(app, settings, problems)

    def init_app(self, app: Flask, settings: Settings | None = None, problems: list[Problem] | None = None) -> None:
        """Wire everything into app. Without settings or problems, settings are parsed from app.config (over
        DEFAULTS); with problems, every page lists them."""
        if settings is None and not problems:
            parsed, self.problems = parse(app.config, DEFAULTS)
        else:
            parsed, self.problems = settings, list(problems or [])
        if parsed is not None and (unusable := credential_problems(parsed)):
            self.problems, parsed = self.problems + unusable, None  # a certificate that cannot sign: a setting to fix
        app.extensions[EXTENSION_KEY] = self
        redact_logs()
        register_error_pages(app)
        challenges.register_pages(app)
        app.cli.add_command(doctor.command(self))  # also, and above all, with settings to fix
        app.jinja_env.globals.setdefault("mock_authority", False)
        if parsed is None:
            log.warning("configuration incomplete: %s", ", ".join(p.setting for p in self.problems))
            install_security_headers(app)
            app.before_request(self._configuration_page)
            app.register_blueprint(probes.blueprint(None))  # /healthz answers; /readyz says "not configured"
            request_log.install(app, lambda: None)
            return
        self.settings = settings = parsed
        app.config.update(
            SECRET_KEY=settings.secret_key or app.config.get("SECRET_KEY"),
            MAX_CONTENT_LENGTH=settings.max_content_length,
            MAX_FORM_MEMORY_SIZE=settings.max_content_length,
        )
        if not app.config.get("SECRET_KEY"):
            raise RuntimeError("SECRET_KEY is not set")
        keys = DerivedKeys(app.config["SECRET_KEY"])
        store = open_store(settings, app.instance_path, app)
        counted = metrics.CountedStore(store, settings.session_type)
        metrics.install(app, counted, settings.metrics, settings.metrics_port)
        sessions = EncryptedSessions(
            counted, keys, settings.session_idle_timeout, settings.session_absolute_timeout, settings.cookie_secure
        )
        app.session_interface = sessions
        app.config["SESSION_COOKIE_NAME"] = sessions.cookie_name
        if settings.trusted_proxies:
            hops = settings.trusted_proxies
            app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops)  # type: ignore[method-assign]
        http = TimeoutSession(
            settings.http_connect_timeout,
            settings.http_read_timeout,
            settings.requests_ca_bundle,
            total_timeout=settings.http_total_timeout,
        )
        request_log.note_client_request_ids(http)
        self.authority = authority = resolve(settings)
        self.credential = client_credential(settings, http)
        token_client = CoalescingHttpClient(http, wait_seconds=settings.http_total_timeout + 1)
        http_cache = AuthorityHttpCache()
        flows: dict[FlowName, FlowAuth] = {}
        for name, flow in authority.flows.items():  # B2C: one per user flow; any other authority: just "signin"
            metadata = AuthorityMetadata(flow.discovery_url, http)
            validator = IdTokenValidator(metadata, settings.client_id, settings.allowed_tenants, authority=authority)
            auth = Auth(
                session={},
                **flow.msal_authority,
                client_id=settings.client_id,
                client_credential=self.credential,
                http_cache=http_cache,
                http_client=token_client,
                validator=validator,
                client_capabilities=authority.client_capabilities,
            )
            flows[name] = FlowAuth(auth, metadata)
        self.metadata = flows["signin"].metadata
        pending = PendingSignIns(keys.pending, settings.cookie_secure)
        self.graph = GraphClient(http)
        # Entra and External ID report more than 200 groups as an overage, which Graph resolves.
        resolver = GroupResolver(self.graph, graph_base(settings)) if authority.microsoft_tenant_claims else None
        admission = Admission(Requirement(settings.required_roles, settings.allowed_groups), resolver)
        self.sign_in = SignIn(flows, authority, sessions, pending, settings.scopes, settings.redirect_uri, admission)
        register_pages(app, settings.client_id)
        app.jinja_env.globals["current_memberships"] = self.memberships
        app.register_blueprint(auth_views.blueprint(self))
        app.cli.add_command(session_cli.command(sessions, store))
        readiness = {
            "session store": probes.store_check(store),
            "authority metadata": probes.authority_check(self.metadata),
        }
        app.register_blueprint(probes.blueprint(readiness))
        request_log.install(app, self._user_ids, settings.log_format)

        app.before_request(functools.partial(_bounded_chunked_body, settings.max_content_length))

        account_flows = frozenset(authority.flows.keys() - {"signin"})

        @app.context_processor
        def navigation() -> dict[str, Any]:
            return {"signed_in": _signed_in(), "account_flows": account_flows}

        # Forms may post to the authority's end-session endpoint (through /logout's redirect), and the authority
        # may frame the front-channel logout page.
        install_security_headers(app, authority_origin=lambda: origin_of(self.metadata.end_session_endpoint()))

    def _configuration_page(self) -> Any:
        """Answer every page with the list of settings to fix, so a half-configured app still starts."""
        if request.endpoint != "static" and request.blueprint != probes.BLUEPRINT:
            return render_template("errors/config.html", problems=self.problems), 503
        return None

    # The public API

    def user(self) -> dict[str, Any] | None:
        user = g.get("entra_user", _UNREAD)
        if user is _UNREAD:
            user = g.entra_user = self.sign_in.user()
        return cast("dict[str, Any] | None", user)

    def _user_ids(self) -> tuple[str | None, str | None] | None:
        """The signed-in user's oid and tid, for the request's log line: only when the request read its session."""
        session = current_session()
        if "entra_user" not in g and not (session.loaded and session.ticket is not None and not session.ended):
            return None
        try:
            user = self.user()
        except (SignInFailure, StoreUnavailable):
            return None
        return (_text_claim(user, "oid"), _text_claim(user, "tid")) if user else None

    def memberships(self) -> Memberships | None:
        """The signed-in user's app roles and groups (an overage's as Graph resolved them at sign-in), or None."""
        user = self.user()
        return Memberships.of(user, current_session().get(GROUPS_KEY)) if user else None

    def access_token(self, scopes: list[str] | None = None) -> str:
        return self.sign_in.access_token(scopes)

    def graph_get(self, url: str, scopes: list[str] | None = None) -> Any:
        """GET a Graph URL as the signed-in user (NeedsSignIn if there is none, or if a claims challenge needs
        the user at the authority; GraphFailure on errors). A claims challenge is answered by a token with those
        claims, silently if the authority allows, and the call retried once."""
        try:
            data = self.graph.get(url, self.access_token(scopes))
        except challenges.ClaimsChallenge as challenge:
            token = self.sign_in.access_token(scopes, claims_challenge=challenge.claims)
            try:
                data = self.graph.get(url, token)
            except challenges.ClaimsChallenge as again:
                raise NeedsSignIn("insufficient_claims", claims=again.claims) from None
        challenges.page_answered(current_session(), safe_next(request.full_path.rstrip("?")))
        return data

    def redirect_to_sign_in(
        self,
        next_path: str,
        scopes: list[str] | None = None,
        claims: str | None = None,
        purpose: str = "",
    ) -> Any:
        """Straight to the authority (asking for these scopes and claims); the browser comes back to next_path
        once signed in. A page that keeps needing that is a page saying why (challenges.TooManySignIns)."""
        next_path = safe_next(next_path)
        remember = {
            challenges.ROUNDS_KEY: challenges.next_round(
                current_session(),
                next_path,
                "claims" if claims else "consent" if scopes else "sign-in",
                tuple(scopes or ()),
            )
        }
        if scopes:
            remember[challenges.PURPOSE_KEY] = challenges.purpose(scopes, purpose)
        response = redirect("/", 302)
        response.location = self.sign_in.start(
            request, response, next_path, scopes, claims_challenge=claims, remember=remember
        )
        return response


def _bounded_chunked_body(limit: int) -> None:
    """A 413 for a chunked body over the limit, as for a declared one. Werkzeug reads a chunked body only up to
    MAX_CONTENT_LENGTH and silently drops the rest: a form would be parsed from a truncated body."""
    environ = request.environ
    if "chunked" not in environ.get("HTTP_TRANSFER_ENCODING", "").lower() or request.content_length is not None:
        return
    body = environ["wsgi.input"].read(limit + 1)
    if len(body) > limit:
        abort(413)
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))


def _text_claim(claims: dict[str, Any], name: str) -> str | None:
    value = claims.get(name)
    return value[:64] if isinstance(value, str) else None


def _signed_in() -> bool:
    return current_session().signed_in_or_false()


def extension() -> EntraSignIn:
    return cast(EntraSignIn, current_app.extensions[EXTENSION_KEY])


current_user: Any = LocalProxy(lambda: extension().user())


def login_required(view: View | None = None, *, scopes: list[str] | None = None, purpose: str = "") -> Any:
    """Views for signed-in users only: others go through sign-in and come back. With scopes, the user must also
    be able to get a token for them (new permissions are consented to on the way; purpose says what for, on the
    page shown if they are declined)."""

    def decorate(view: View) -> View:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            entra = extension()
            if not entra.user():
                return redirect(url_for("entra.login", next=request.full_path.rstrip("?")))
            if scopes:
                try:
                    g.access_token = entra.access_token(scopes)
                except NeedsSignIn as needed:
                    return entra.redirect_to_sign_in(request.full_path.rstrip("?"), scopes, needed.claims, purpose)
            return view(*args, **kwargs)

        return cast(View, wrapper)

    return decorate(view) if view is not None else decorate


def requires_role(*values: str) -> Callable[[View], View]:
    """Views for users holding one of these app roles (their value, as in the registration's App roles): others
    get a 403 page naming them; signed-out users go through sign-in first."""
    return _requiring(Requirement.for_roles(values))


def requires_group(*ids: str) -> Callable[[View], View]:
    """Views for members (direct or nested) of one of these groups (object ids): others get a 403 page naming
    them; signed-out users go through sign-in first."""
    return _requiring(Requirement.for_groups(ids))


def _requiring(requirement: Requirement) -> Callable[[View], View]:
    def decorate(view: View) -> View:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            held = extension().memberships()
            if held is None:
                return redirect(url_for("entra.login", next=request.full_path.rstrip("?")))
            requirement.check(held, at_sign_in=False)
            return view(*args, **kwargs)

        return cast(View, wrapper)

    return decorate
