"""Flask app factory: Sign in with Microsoft (OIDC auth code + PKCE via `identity`) and call Microsoft Graph.

`flask run` and `gunicorn app:app` both read the `app` attribute below, built (once) on first access.
"""

import functools
import logging

from flask import Flask, render_template, request
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

import app_config
from webapp.authority_cache import AuthorityHttpCache
from webapp.discovery import AuthorityMetadata
from webapp.failures import SignInFailure
from webapp.graph import GraphClient
from webapp.id_token import IdTokenValidator
from webapp.log_hygiene import redact_logs
from webapp.outbound import TimeoutSession
from webapp.refresh_coalescing import CoalescingHttpClient
from webapp.security import configure_cookies, install_security_headers, origin_of
from webapp.sessions import init_sessions, local_secret_key
from webapp.signin import SignIn
from webapp.views import make_views

__version__ = "0.1.0"
log = logging.getLogger(__name__)


def create_app(overrides=None) -> Flask:
    """Build the app from defaults, then the environment, then overrides (tests use these)."""
    app = Flask(__name__, instance_relative_config=True)
    app.config.update(app_config.settings_from_env())
    app.config.update(overrides or {})
    problems = app_config.find_problems(app.config)
    redact_logs()
    configure_cookies(app)
    app.config["SECRET_KEY"] = app.config["SECRET_KEY"] or local_secret_key(app.instance_path)
    init_sessions(app)
    _trust_proxies(app)
    app.jinja_env.globals.update(
        app_version=__version__, mock_authority=app_config.is_true(app.config["LOCAL_MOCK_AUTHORITY"])
    )
    _register_error_pages(app)
    metadata = None if problems else AuthorityMetadata(app.config["AUTHORITY"], _http_client(app.config))
    # The sign-out form posts to /logout, which redirects to the authority's end-session endpoint.
    install_security_headers(app, lambda: origin_of(metadata.end_session_endpoint()) if metadata else ())
    if problems:
        log.warning("configuration incomplete: %s", ", ".join(p.setting for p in problems))
        _serve_config_page(app, problems)
        return app

    http = metadata.http
    validator = IdTokenValidator(
        metadata, app.config["CLIENT_ID"], app_config.tenant_list(app.config["ALLOWED_TENANTS"])
    )
    token_client = CoalescingHttpClient(http, wait_seconds=sum(http.default_timeout) + 1)
    signin = SignIn(app.config, http_client=token_client, http_cache=AuthorityHttpCache(), validator=validator)
    app.register_blueprint(make_views(signin, GraphClient(http), metadata, app.config["ENDPOINT"]))
    return app


def _trust_proxies(app):
    """Behind TRUSTED_PROXIES proxies, read the client's address, scheme, host and port from their X-Forwarded-*
    headers, so that external URLs come out as the browser sees them (https behind a TLS-terminating proxy)."""
    hops = app_config.whole_number(app.config["TRUSTED_PROXIES"])
    if hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops)


def _http_client(config) -> TimeoutSession:
    return TimeoutSession(
        float(config["HTTP_CONNECT_TIMEOUT"]), float(config["HTTP_READ_TIMEOUT"]), config["REQUESTS_CA_BUNDLE"]
    )


def _serve_config_page(app, problems):
    """Answer every page with the list of settings to fix, so a half-configured app still starts."""

    @app.before_request
    def config_page():
        if request.endpoint != "static":
            return render_template("errors/config.html", problems=problems), 503


def _register_error_pages(app):
    @app.errorhandler(SignInFailure)
    def sign_in_failure(failure):
        log.warning("sign-in failed: %s", failure.log_fields())
        return render_template("errors/auth.html", failure=failure), failure.status

    @app.errorhandler(HTTPException)
    def http_error(error):
        return render_template("errors/http.html", error=error), error.code

    @app.errorhandler(Exception)
    def unexpected(error):
        log.exception("unexpected error on %s", request.path)
        return render_template("errors/http.html", error=None), 500


@functools.cache
def _app_for_servers():
    from dotenv import load_dotenv

    load_dotenv()  # gunicorn does not read .env itself (the Flask CLI already has; loading again is harmless)
    return create_app()


def __getattr__(name):
    # Building on first access, not at import, keeps `import app` free of side effects for tests.
    if name in ("app", "application"):
        return _app_for_servers()
    raise AttributeError(name)
