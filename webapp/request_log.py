"""One log line per request, and the request's id on every line logged while it runs.

The line says: request id, method, route (the URL rule, never the path with its query), status, duration, and
the signed-in user's oid and tid (ids only: never a name or an email). The id is the caller's X-Request-ID when
it is a sane token, else a new one, and is echoed in the response. LOG_FORMAT=json makes each record one JSON
object with these fields and the failure ids support asks for (Entra's trace_id, correlation_id and the
client-request-id msal sent; Graph's request-id and client-request-id).
"""

import json
import logging
import re
import secrets
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Literal

import requests
from flask import Flask, Response, g, has_request_context, request, request_finished

from . import probes

log = logging.getLogger(__name__)

HEADER = "X-Request-ID"
_ENVIRON_KEY = "HTTP_X_REQUEST_ID"  # the header, as WSGI names it
_SANE_ID = re.compile(r"[A-Za-z0-9._-]{1,128}")
# Extra fields a record may carry, in the order a line shows them (what LOG_FORMAT=json adds to each object).
FIELDS = (
    "request_id",
    "method",
    "route",
    "status",
    "duration_ms",
    "oid",
    "tid",
    "error",
    "aadsts",
    "trace_id",
    "correlation_id",
    "client_request_id",
    "graph_request_id",
    "graph_client_request_id",
)
UserIds = Callable[[], tuple[str | None, str | None] | None]


def request_id() -> str | None:
    """This request's id (None outside a request)."""
    return g.get("request_id") if has_request_context() else None


def client_request_id() -> str | None:
    """The client-request-id of this request's latest call to the authority (msal sends a new one per call)."""
    return g.get("client_request_id") if has_request_context() else None


def note_client_request_ids(http: requests.Session) -> None:
    """Remember, for this request's log lines, the client-request-id header each call on http sent."""

    def remember(response: requests.Response, *args: Any, **kwargs: Any) -> None:
        sent = response.request.headers.get("client-request-id")
        if sent and has_request_context():
            g.client_request_id = str(sent)[:128]

    http.hooks["response"].append(remember)


def install(app: Flask, user_ids: UserIds, log_format: Literal["text", "json"] | None = None) -> None:
    """Log one line per request of app (except the probes' endpoints) and configure the output format (None:
    as it is, text when new)."""
    configure_output(log_format)
    app.before_request_funcs.setdefault(None, []).insert(0, _begin)  # first: before any hook may answer

    @app.after_request
    def echo_id(response: Response) -> Response:
        if rid := g.get("request_id"):
            response.headers[HEADER] = rid
        return response

    def finished(sender: Flask, response: Response, **extra: Any) -> None:
        started = g.get("request_started_at")
        if started is None or request.blueprint == probes.BLUEPRINT:  # probes: not logged
            return
        rule = request.url_rule
        ids = user_ids() or (None, None)
        fields = {
            "method": request.method,
            "route": rule.rule if rule is not None else "(no route)",
            "status": response.status_code,
            "duration_ms": round((time.perf_counter() - started) * 1000, 1),
            "oid": ids[0],
            "tid": ids[1],
        }
        log.info(
            "%s %s %s %.1f ms", fields["method"], fields["route"], fields["status"], fields["duration_ms"], extra=fields
        )

    request_finished.connect(finished, app, weak=False)  # after the session is saved: the whole request's time


def _begin() -> None:
    incoming = request.environ.get(_ENVIRON_KEY, "")
    g.request_id = incoming if _SANE_ID.fullmatch(incoming) else secrets.token_hex(16)
    g.request_started_at = time.perf_counter()


class RequestFields(logging.Filter):
    """Adds the request id to every record logged during a request, and None for each field a record lacks."""

    def filter(self, record: logging.LogRecord) -> bool:
        fields = record.__dict__  # a record's attributes (these names are neither properties nor slots)
        if fields.get(_FILLED):  # another handler's filter, or the formatter, did it already
            return True
        if fields.get("request_id") is None:
            fields["request_id"] = request_id()
        for name in FIELDS:
            fields.setdefault(name, None)
        fields[_FILLED] = True
        return True


_FILLED = "_webapp_fields"
_REQUEST_FIELDS = RequestFields()


class JsonFormatter(logging.Formatter):
    """One JSON object per record: timestamp, level, logger, message, and the FIELDS it carries."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "timestamp": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update({name: value for name in FIELDS if (value := getattr(record, name, None)) is not None})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


class TextFormatter(logging.Formatter):
    """A readable line: time, level, logger, [request id], message, then the user's and the failure's ids."""

    SHOWN = tuple(name for name in FIELDS if name not in ("request_id", "method", "route", "status", "duration_ms"))

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s")
        self._second: tuple[int, str] = (-1, "")  # the last second formatted, and its text

    def format(self, record: logging.LogRecord) -> str:
        _REQUEST_FIELDS.filter(record)  # also when this formatter serves a handler without the filter
        line = super().format(record)
        shown = " ".join(f"{name}={value}" for name in self.SHOWN if (value := getattr(record, name)) is not None)
        return f"{line} {shown}" if shown else line

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        """As logging's, with the date and time of day formatted once per second, not once per record."""
        if datefmt:
            return super().formatTime(record, datefmt)
        second = int(record.created)
        formatted, text = self._second
        if formatted != second:
            text = time.strftime(self.default_time_format, self.converter(record.created))
            self._second = (second, text)
        return self.default_msec_format % (text, record.msecs) if self.default_msec_format else text


def formatter(log_format: Literal["text", "json"]) -> logging.Formatter:
    return JsonFormatter() if log_format == "json" else TextFormatter()


def configure_output(log_format: Literal["text", "json"] | None) -> None:
    """Unless the host application configured logging itself: a handler on the root logger in this format, and
    the app's own loggers at INFO (the request lines). Either way, the request id filter on every root handler."""
    root = logging.getLogger()
    if not root.handlers:
        handler = logging.StreamHandler()
        handler.webapp_request_log = True  # type: ignore[attr-defined]
        handler.setFormatter(formatter("text"))
        root.addHandler(handler)
        package = logging.getLogger(__name__.partition(".")[0])
        if package.level == logging.NOTSET:
            package.setLevel(logging.INFO)
    for existing in root.handlers:
        if log_format is not None and getattr(existing, "webapp_request_log", False):
            existing.setFormatter(formatter(log_format))
        if not any(isinstance(kind, RequestFields) for kind in existing.filters):
            existing.addFilter(RequestFields())
