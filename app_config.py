"""Settings: read from the environment over the defaults; parsed into typed `Settings` by `webapp.settings`.

The names match Microsoft's quickstart (CLIENT_ID, CLIENT_SECRET, AUTHORITY, ...) so its docs map 1:1.
Nothing here holds a secret; secrets come from the environment or a git-ignored `.env`.
"""

import os
from collections.abc import Mapping
from typing import Any

from webapp.settings import DEFAULTS, Problem, Settings, parse

__all__ = ["DEFAULTS", "Problem", "Settings", "find_problems", "load", "parse_settings", "settings_from_env"]


def settings_from_env(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """Return every known setting, the environment's value winning over the default."""
    environ = os.environ if environ is None else environ
    return {key: environ.get(key, default).strip() for key, default in DEFAULTS.items()}


def load(overrides: Mapping[str, Any] | None = None) -> tuple[Settings | None, list[Problem]]:
    """Defaults, then the environment, then overrides, parsed into Settings (or the problems found)."""
    return parse({**settings_from_env(), **(overrides or {})}, DEFAULTS)


def parse_settings(config: Mapping[str, Any]) -> tuple[Settings | None, list[Problem]]:
    """Settings from config alone (missing keys take the defaults, the environment is not read)."""
    return parse(config, DEFAULTS)


def find_problems(config: Mapping[str, Any]) -> list[Problem]:
    """Name each missing or malformed setting, with how to fix it."""
    return parse_settings(config)[1]
