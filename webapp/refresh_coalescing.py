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

REUSE_SECONDS = 30


class _Flight:
    def __init__(self, token_hash):
        self.token_hash = token_hash
        self.done = threading.Event()
        self.response = None
        self.finished_at = None


class CoalescingHttpClient:
    """MSAL's http_client: refresh-token POSTs coalesced by refresh token; every other call passes through."""

    def __init__(self, http, wait_seconds: float):
        self._http = http
        self._wait_seconds = wait_seconds  # a waiter gives up (and posts itself) after the leader's timeouts
        self._lock = threading.Lock()
        self._flights = {}

    def get(self, *args, **kwargs):
        return self._http.get(*args, **kwargs)

    def post(self, url, data=None, **kwargs):
        if not (isinstance(data, dict) and data.get("grant_type") == "refresh_token" and data.get("refresh_token")):
            return self._http.post(url, data=data, **kwargs)
        token_hash = _hash(data["refresh_token"])
        key = _hash(repr((url, data.get("client_id"), data.get("scope"), token_hash)))
        with self._lock:
            self._forget_finished(time.monotonic())
            flight = self._flights.get(key)
            leading = flight is None
            if leading:
                flight = self._flights[key] = _Flight(token_hash)
        if leading:
            return self._lead(key, flight, url, data, kwargs)
        if flight.done.wait(self._wait_seconds) and flight.response is not None:
            return flight.response
        return self._http.post(url, data=data, **kwargs)  # the leader failed to get any answer: try ourselves

    def _lead(self, key, flight, url, data, kwargs):
        try:
            flight.response = self._http.post(url, data=data, **kwargs)
            return flight.response
        finally:
            flight.finished_at = time.monotonic()
            if flight.response is None or flight.response.status_code != 200:
                with self._lock:  # only successes are reused by late requests
                    self._flights.pop(key, None)
            flight.done.set()

    def forget(self, refresh_token: str):
        """Stop reusing answers to this refresh token (the app rejected what came back)."""
        token_hash = _hash(refresh_token)
        with self._lock:
            for key in [key for key, flight in self._flights.items() if flight.token_hash == token_hash]:
                del self._flights[key]

    def _forget_finished(self, now):
        stale = [
            key
            for key, flight in self._flights.items()
            if flight.finished_at is not None and now - flight.finished_at > REUSE_SECONDS
        ]
        for key in stale:
            del self._flights[key]


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()
