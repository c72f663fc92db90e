"""Fake DNS for the mock's other host names (contoso.ciamlogin.com, login.microsoftonline.us, ...).

`fake_dns(*names)` makes `socket.getaddrinfo` in this process (every thread: requests, msal, the app) resolve
exactly those names to 127.0.0.1; while it is active any other name that is not loopback raises
`socket.gaierror`, so a test can never reach the real host it pretends to be. Browsers get the same mapping
from `chromium_host_rules(*names)`:

    with fake_dns("contoso.ciamlogin.com"):
        requests.get("https://contoso.ciamlogin.com:%d/..." % port, verify=mock.ca_bundle)
    browser = playwright.chromium.launch(args=[chromium_host_rules("contoso.ciamlogin.com")])
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import threading
from collections.abc import Iterator
from typing import Any

LOOPBACK = "127.0.0.1"
_LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})
_lock = threading.Lock()


def _is_loopback(host: str) -> bool:
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@contextlib.contextmanager
def fake_dns(*names: str) -> Iterator[None]:
    """Resolve `names` to 127.0.0.1 and refuse every other non-loopback name until the block ends."""
    mapped = frozenset(name.lower().rstrip(".") for name in names)
    with _lock:
        original = socket.getaddrinfo

        def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> list:
            name = host.decode() if isinstance(host, bytes) else host
            if name is None or _is_loopback(str(name)):
                return original(host, port, *args, **kwargs)
            if str(name).lower().rstrip(".") in mapped:
                return original(LOOPBACK, port, *args, **kwargs)
            raise socket.gaierror(socket.EAI_NONAME, f"fake_dns: {name} is not a name this test may resolve")

        socket.getaddrinfo = getaddrinfo
    try:
        yield
    finally:
        with _lock:
            socket.getaddrinfo = original


def chromium_host_rules(*names: str) -> str:
    """Chromium's flag mapping the names to 127.0.0.1 (ports stay as the URL says)."""
    rules = ", ".join(f"MAP {name} {LOOPBACK}" for name in names)
    return f"--host-resolver-rules={rules}"
