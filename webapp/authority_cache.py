"""The http_cache MSAL gets: discovery answers shared by every user of the process, no throttling state.

msal 1.39 replays a token-endpoint 5xx or 429 to identical requests for seconds, keyed on URL, client, scope
and the "account". For auth-code redemptions that account part is always empty (throttled_http_client's
_extract_data ignores its default), so one user's failed sign-in would refuse every other user's sign-in in
the process without asking Entra. identity shares one http_cache across all users, so it spreads. Keeping no
POST entries confines a failure to the request it happened in; discovery (GET) stays cached.
"""

import copy
import heapq
import threading
from collections.abc import MutableMapping

INDEX = "_index_"  # msal's _ExpiringMapping keeps its expiry index under this key


def _is_throttle_key(key: object) -> bool:
    return isinstance(key, str) and key.startswith("POST ")


class AuthorityHttpCache(MutableMapping):
    """A thread-safe dict for msal's http_cache that never stores throttled POST answers."""

    def __init__(self):
        self._data = {}
        self._lock = threading.Lock()

    def __getitem__(self, key):
        with self._lock:
            value = self._data[key]
            # Each msal app mutates the index it read under its own lock: hand out a copy.
            return copy.deepcopy(value) if key == INDEX else value

    def __setitem__(self, key, value):
        if _is_throttle_key(key):
            return
        if key == INDEX:
            value = _without_throttle_entries(value)
        with self._lock:
            self._data[key] = value

    def __delitem__(self, key):
        with self._lock:
            self._data.pop(key, None)

    def __iter__(self):
        with self._lock:
            return iter(list(self._data))

    def __len__(self):
        with self._lock:
            return len(self._data)


def _without_throttle_entries(index):
    sequence, timestamps = copy.deepcopy(index)
    sequence = [entry for entry in sequence if not _is_throttle_key(entry[2])]
    heapq.heapify(sequence)
    return sequence, {key: value for key, value in timestamps.items() if not _is_throttle_key(key)}
