"""Keep authorization codes, verifiers and state out of the logs.

The callback carries the code in its query string (Werkzeug logs request lines), and msal's token cache logs
each token event at DEBUG with the code and PKCE verifier unmasked.
"""

import logging
import re

_QUERY = re.compile(r'(/[^\s?"]*)\?[^\s"]*')  # a path's query string, wherever the path stands


class DropQueryStrings(logging.Filter):
    """Rewrites 'GET /getAToken?code=…&state=… HTTP/1.1' as 'GET /getAToken?… HTTP/1.1' (Werkzeug's request lines,
    gunicorn's error lines about a failed request)."""

    def filter(self, record):
        if isinstance(record.args, tuple):
            record.args = tuple(_QUERY.sub(r"\1?…", arg) if isinstance(arg, str) else arg for arg in record.args)
        if isinstance(record.msg, str):
            record.msg = _QUERY.sub(r"\1?…", record.msg)
        return True


class DropTokenEvents(logging.Filter):
    """Replaces msal's 'event=<token request and response>' debug record with a placeholder."""

    def filter(self, record):
        if str(record.msg).startswith("event="):
            record.msg, record.args = "event=(token event not logged: it holds the code and verifier)", ()
        return True


def redact_logs():
    """Install the filters, once per process."""
    for name, kind in (("werkzeug", DropQueryStrings), ("msal.token_cache", DropTokenEvents)):
        logger = logging.getLogger(name)
        if not any(isinstance(existing, kind) for existing in logger.filters):
            logger.addFilter(kind())
