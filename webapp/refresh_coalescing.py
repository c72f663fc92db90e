"""Requests that redeem the same refresh token at once share one token request (per process).

Once a user's access token is stale, every request of that session that starts before the first refresh is
saved holds the same refresh token, and each would redeem it: 32 concurrent API calls made up to 32 token
requests (measured), the repeated identical requests Entra may answer with AADSTS50196 (client loop
detected). Here the first request posts; the others wait for its answer and share it, and a successful
answer is reused for REUSE_SECONDS by late requests still holding the old refresh token, unless the app
rejected it (forget()).
"""

import hashlib
import threading
import time
from typing import Any

import requests

from . import metrics

REUSE_SECONDS = 30


class _Flight:
    def __init__(self, token_hash: str):
        self.token_hash = token_hash
        self.done = threading.Event()
        self.response: requests.Response | None = None
        self.finished_at: float | None = None


class CoalescingHttpClient:
    """MSAL's http_client: refresh-token POSTs coalesced by refresh token; every other call passes through."""

    def __init__(self, http: requests.Session, wait_seconds: float):
        self._http = http
        self._wait_seconds = wait_seconds  # a waiter gives up (and posts itself) after the leader's timeouts
        self._lock = threading.Lock()
        self._flights: dict[str, _Flight] = {}

    def get(self, *args: Any, **kwargs: Any) -> requests.Response:
        return self._http.get(*args, **kwargs)

    def post(self, url: str, data: Any = None, **kwargs: Any) -> requests.Response:
        if not (isinstance(data, dict) and data.get("grant_type") == "refresh_token" and data.get("refresh_token")):
            return self._http.post(url, data=data, **kwargs)
        token_hash = _hash(data["refresh_token"])
        # A claims challenge asks for a token the plain refresh would not give: it must never share that answer.
        key = _hash(repr((url, data.get("client_id"), data.get("scope"), data.get("claims"), token_hash)))
        with self._lock:
            self._forget_finished(time.monotonic())
            existing = self._flights.get(key)
            if existing is None:
                flight = self._flights[key] = _Flight(token_hash)
        if existing is None:
            return self._lead(key, flight, url, data, kwargs)
        flight = existing
        if flight.done.wait(self._wait_seconds) and flight.response is not None:
            metrics.TOKEN_REFRESHES.labels("coalesced").inc()
            return flight.response
        return self._counted_post(url, data, kwargs)  # the leader failed to get any answer: try ourselves

    def _counted_post(self, url: str, data: Any, kwargs: dict[str, Any]) -> requests.Response:
        response = None
        try:
            response = self._http.post(url, data=data, **kwargs)
            return response
        finally:
            metrics.count_refresh(response)

    def _lead(self, key: str, flight: _Flight, url: str, data: Any, kwargs: dict[str, Any]) -> requests.Response:
        try:
            flight.response = self._counted_post(url, data, kwargs)
            return flight.response
        finally:
            flight.finished_at = time.monotonic()
            if flight.response is None or flight.response.status_code != 200:
                with self._lock:  # only successes are reused by late requests
                    self._flights.pop(key, None)
            flight.done.set()

    def forget(self, refresh_token: str) -> None:
        """Stop reusing answers to this refresh token (the app rejected what came back)."""
        token_hash = _hash(refresh_token)
        with self._lock:
            for key in [key for key, flight in self._flights.items() if flight.token_hash == token_hash]:
                del self._flights[key]

    def _forget_finished(self, now: float) -> None:
        stale = [
            key
            for key, flight in self._flights.items()
            if flight.finished_at is not None and now - flight.finished_at > REUSE_SECONDS
        ]
        for key in stale:
            del self._flights[key]


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()
