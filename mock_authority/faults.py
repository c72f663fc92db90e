"""One-shot faults: which kinds each endpoint family takes, and their parameters (validated when queued).

Kinds every family takes:
  status    an error answer in the endpoint's own shape (status=4xx/5xx, optional retry_after)
  slow      answer normally after delay seconds
  body      answer with exactly this body: body (str, bytes or a JSON value) or nested_depth=N (N nested
            JSON arrays), status (default 200), content_type (default JSON), headers (optional dict)
  drip      send the headers at once, then the body one byte every interval seconds (the real answer, or
            the body/nested_depth/status/content_type given); stops when the client goes away
JWKS also takes empty_array (the body `[]`) and null_keys (`{"keys": null}`); token and authorize take the
OAuth errors and ID-token defects listed in FAULT_KINDS.
"""

from __future__ import annotations

import json
from collections.abc import Container
from dataclasses import dataclass, field
from typing import Any

GENERIC_KINDS = frozenset({"status", "slow", "body", "drip"})
TOKEN_ERROR_KINDS = frozenset(
    {"invalid_grant", "interaction_required", "invalid_client", "server_error", "temporarily_unavailable"}
)
ID_TOKEN_DEFECTS = frozenset(
    {
        "id_token_wrong_aud",
        "id_token_wrong_iss",
        "id_token_expired",
        "id_token_not_yet_valid",
        "id_token_bad_signature",
        "id_token_unknown_kid",
        "id_token_wrong_nonce",
        "id_token_missing",
    }
)
AUTHORIZE_ERROR_KINDS = frozenset({"access_denied", "server_error", "interaction_required"})
JWKS_BODIES: dict[str, object] = {"empty_array": [], "null_keys": {"keys": None}}

# Which one-shot faults each endpoint family understands.
FAULT_KINDS: dict[str, frozenset[str]] = {
    "token": (GENERIC_KINDS - {"status"}) | TOKEN_ERROR_KINDS | ID_TOKEN_DEFECTS,
    "authorize": (GENERIC_KINDS - {"status"}) | AUTHORIZE_ERROR_KINDS,
    "graph": GENERIC_KINDS,
    "discovery": GENERIC_KINDS,
    "jwks": GENERIC_KINDS | frozenset(JWKS_BODIES),
    "logout": GENERIC_KINDS,
}
GRAPH_FAULT_STATUSES = frozenset({401, 403, 404, 429, 500, 503})
DEFAULT_CONTENT_TYPE = "application/json; charset=utf-8"


@dataclass(frozen=True)
class Fault:
    """A one-shot fault waiting for the next request to its endpoint."""

    endpoint: str
    kind: str
    params: dict[str, Any] = field(default_factory=dict)  # JSON-ish values, checked by make_fault

    @property
    def overrides_body(self) -> bool:
        """Whether this fault answers with its own body instead of the endpoint's."""
        return self.kind in ("body", *JWKS_BODIES) or (self.kind == "drip" and "body" in self.params)


def _encode(body: object) -> bytes:
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode("utf-8")
    return json.dumps(body).encode("utf-8")


def _check_status(value: str | float, allowed: Container[int]) -> int:
    status = int(value)
    if status not in allowed:
        raise ValueError(f"status {status} is not supported here")
    return status


def make_fault(endpoint: str, kind: str, params: dict[str, Any]) -> Fault:
    """Validate a fault request; raises ValueError (or TypeError) naming what is wrong."""
    if endpoint not in FAULT_KINDS:
        raise ValueError(f"unknown fault endpoint {endpoint!r}; expected one of {sorted(FAULT_KINDS)}")
    if kind not in FAULT_KINDS[endpoint]:
        raise ValueError(f"unknown {endpoint} fault {kind!r}; expected one of {sorted(FAULT_KINDS[endpoint])}")
    params = dict(params)
    if kind == "status":
        allowed: Container[int] = GRAPH_FAULT_STATUSES if endpoint == "graph" else range(400, 600)
        params["status"] = _check_status(params.get("status", 0), allowed)
    elif kind == "slow":
        params["delay"] = float(params.get("delay", 1.0))
    elif kind in JWKS_BODIES:
        params = {"body": _encode(JWKS_BODIES[kind]), "status": 200, "content_type": DEFAULT_CONTENT_TYPE}
    elif kind in ("body", "drip"):
        if kind == "drip":
            params["interval"] = float(params.get("interval", 1.0))
            if not params["interval"] > 0:
                raise ValueError("a drip's interval must be more than 0 seconds")
        depth = params.pop("nested_depth", None)
        if depth is not None:
            params["body"] = "[" * int(depth) + "]" * int(depth)
        if kind == "body" and "body" not in params:
            raise ValueError("a body fault needs body or nested_depth")
        if "body" in params:
            params["body"] = _encode(params["body"])
            params["status"] = _check_status(params.get("status", 200), range(100, 600))
            params["content_type"] = str(params.get("content_type", DEFAULT_CONTENT_TYPE))
            headers = params.get("headers") or {}
            if not isinstance(headers, dict):
                raise TypeError("headers must be an object of header names and values")
            params["headers"] = {str(k): str(v) for k, v in headers.items()}
    return Fault(endpoint, kind, params)


def describe(fault: Fault) -> dict[str, object]:
    """A fault as JSON for the control API (a body is shown by its length, not its bytes)."""
    params = dict(fault.params)
    if "body" in params:
        params["body_length"] = len(params.pop("body"))
    return {"endpoint": fault.endpoint, "kind": fault.kind, "params": params}


@dataclass
class DripProgress:
    """How far one drip got: bytes sent of total, and whether it ended (finished, client gone, or reset)."""

    endpoint: str
    total: int
    sent: int = 0
    ended: bool = False
