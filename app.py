"""The app: Sign in with Microsoft (OIDC auth code + PKCE via `identity`) and a page that calls Microsoft Graph.

Settings and wiring only; the sign-in core is the `webapp.EntraSignIn` extension, and this app is its first user.
`flask run` finds create_app; `gunicorn app:app` reads the `app` attribute, built on first access.
"""

import functools
from collections.abc import Mapping
from typing import Any

from flask import Flask

import app_config
from webapp import EntraSignIn, pages
from webapp.local_secret import local_secret_key
from webapp.settings import Problem

__version__ = "0.2.0"
APP_PATHS = ("/call_api",)  # besides "/", which REDIRECT_URI can never be


def create_app(overrides: Mapping[str, Any] | None = None) -> Flask:
    """Build the app from defaults, then the environment, then overrides (tests use these)."""
    app = Flask(__name__, instance_relative_config=True)
    settings, problems = app_config.load(overrides)
    if settings and settings.redirect_path.rstrip("/") in APP_PATHS:
        problems = [Problem("REDIRECT_URI", f"cannot use {settings.redirect_path}: the app serves that page itself.")]
        settings = None
    app.config["SECRET_KEY"] = (settings and settings.secret_key) or local_secret_key(app.instance_path)
    app.jinja_env.globals.update(
        app_version=__version__, mock_authority=bool(settings and settings.local_mock_authority)
    )
    entra = EntraSignIn(app, settings, problems)
    if settings:
        app.register_blueprint(pages.blueprint(entra, settings.endpoint))
    return app


@functools.cache
def _app_for_servers() -> Flask:
    from dotenv import load_dotenv

    load_dotenv()  # gunicorn does not read .env itself (the Flask CLI already has; loading again is harmless)
    return create_app()


def __getattr__(name: str) -> Flask:
    # Building on first access, not at import, keeps `import app` free of side effects for tests.
    if name == "app":
        return _app_for_servers()
    raise AttributeError(name)
