"""One pooled HTTP session per app for every outbound call, each bounded by a total deadline and a body size cap.

requests' timeouts are per socket operation: an answer dripped one byte at a time never trips a read timeout.
Here each call (connect, TLS handshake, request, headers and the whole body, redirects included) also has a
total deadline: every socket operation of the call waits at most for what is left of it, and the call raises
DeadlineExceeded (a requests.Timeout) once it has passed. The body is read in full, at most max_body_bytes of
it (after decoding), else ResponseTooLarge. Connections stay pooled and kept alive.
"""

from __future__ import annotations

import io
import socket
import threading
import time
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError
from urllib3.poolmanager import PoolManager

TOTAL_TIMEOUT = 10.0  # seconds for a whole call, whatever the server's pace
MAX_BODY_BYTES = 2 * 1024 * 1024  # discovery, JWKS, token answers and Graph pages are all far smaller
HEADER_ALLOWANCE = 256 * 1024  # raw bytes beyond the body cap a call may receive (status line, headers, framing)
CHUNK = 64 * 1024


class DeadlineExceeded(requests.Timeout):
    """The call did not finish within its total deadline."""


class ResponseTooLarge(requests.RequestException):
    """The answer's body is larger than this app accepts."""


class _Call:
    """The deadline and byte budget of the outbound call running in this thread."""

    def __init__(self, total_timeout: float, max_raw_bytes: int):
        self.total_timeout = total_timeout
        self.deadline = time.monotonic() + total_timeout
        self.max_raw_bytes = max_raw_bytes
        self.received = 0

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def expired(self) -> bool:
        return self.remaining() <= 0.01  # socket timeouts may fire a hair early


_current = threading.local()


def _call() -> _Call | None:
    return getattr(_current, "call", None)


class _DeadlineSocket:
    """A connection's socket whose every operation waits at most until the current call's deadline.

    Only the thread running a call uses its connection, so a per-thread deadline is enough.
    """

    def __init__(self, sock: socket.socket):
        self._sock = sock
        self._timeout = sock.gettimeout()  # what urllib3 asked for (connect or read timeout)

    def settimeout(self, value: float | None) -> None:
        self._timeout = value
        self._sock.settimeout(value)

    def gettimeout(self) -> float | None:
        return self._timeout

    def _arm(self) -> _Call | None:
        call = _call()
        if call is None:
            self._sock.settimeout(self._timeout)
            return None
        remaining = call.remaining()
        if remaining <= 0:
            raise TimeoutError(f"total deadline of {call.total_timeout} s passed")
        self._sock.settimeout(remaining if self._timeout is None else min(self._timeout, remaining))
        return call

    def _count(self, call: _Call | None, received: int) -> None:
        if call is not None:
            call.received += received
            if call.received > call.max_raw_bytes:
                raise ResponseTooLarge(f"the answer exceeded {call.max_raw_bytes} bytes")

    def recv_into(self, buffer: Any, nbytes: int = 0, flags: int = 0) -> int:
        call = self._arm()
        received = self._sock.recv_into(buffer, nbytes, flags)
        self._count(call, received)
        return received

    def recv(self, bufsize: int, flags: int = 0) -> bytes:
        call = self._arm()
        data = self._sock.recv(bufsize, flags)
        self._count(call, len(data))
        return data

    def send(self, data: Any, flags: int = 0) -> int:
        self._arm()
        return self._sock.send(data, flags)

    def sendall(self, data: Any, flags: int = 0) -> None:
        self._arm()
        self._sock.sendall(data, flags)

    def makefile(self, mode: str = "r", buffering: int | None = None, **kwargs: Any) -> Any:
        if mode != "rb" or kwargs:  # http.client only reads responses through makefile("rb")
            return self._sock.makefile(mode, -1 if buffering is None else buffering, **kwargs)  # type: ignore[call-overload]
        raw = socket.SocketIO(self, "rb")  # type: ignore[arg-type]  # reads come back through recv_into above
        self._sock._io_refs += 1  # type: ignore[attr-defined]
        return io.BufferedReader(raw, io.DEFAULT_BUFFER_SIZE if buffering in (None, -1) else buffering)

    def _decref_socketios(self) -> None:
        self._sock._decref_socketios()  # type: ignore[attr-defined]

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


class _DeadlineConnectionMixin:
    """Connect within the deadline, then hand http.client a _DeadlineSocket."""

    timeout: Any
    sock: Any

    def _new_conn(self) -> socket.socket:
        call = _call()
        if call is not None:
            remaining = call.remaining()
            if remaining <= 0:
                raise ConnectTimeoutError(self, f"total deadline of {call.total_timeout} s passed before connecting")
            self.timeout = remaining if self.timeout is None else min(self.timeout, remaining)
        sock: socket.socket = super()._new_conn()  # type: ignore[misc]
        if call is not None:  # the TLS handshake waits at most for what is left
            remaining = max(call.remaining(), 0.001)
            timeout = sock.gettimeout()
            sock.settimeout(remaining if timeout is None else min(timeout, remaining))
        return sock

    def connect(self) -> None:
        super().connect()  # type: ignore[misc]
        if self.sock is not None and not isinstance(self.sock, _DeadlineSocket):
            self.sock = _DeadlineSocket(self.sock)


class _DeadlineHTTPConnection(_DeadlineConnectionMixin, HTTPConnection):
    pass


class _DeadlineHTTPSConnection(_DeadlineConnectionMixin, HTTPSConnection):
    pass


class _DeadlineHTTPConnectionPool(HTTPConnectionPool):
    ConnectionCls = _DeadlineHTTPConnection


class _DeadlineHTTPSConnectionPool(HTTPSConnectionPool):
    ConnectionCls = _DeadlineHTTPSConnection


_POOL_CLASSES = {"http": _DeadlineHTTPConnectionPool, "https": _DeadlineHTTPSConnectionPool}


class _DeadlineAdapter(HTTPAdapter):
    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _POOL_CLASSES

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> PoolManager:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        if isinstance(manager, PoolManager):  # not SOCKS
            manager.pool_classes_by_scheme = _POOL_CLASSES
        return manager


class TimeoutSession(requests.Session):
    """A requests.Session that keeps connections alive and bounds every call by a total deadline and a size cap."""

    def __init__(
        self,
        connect_timeout: float,
        read_timeout: float,
        ca_bundle: str = "",
        total_timeout: float = TOTAL_TIMEOUT,
        max_body_bytes: int = MAX_BODY_BYTES,
    ):
        super().__init__()
        self.default_timeout = (connect_timeout, read_timeout)
        self.ca_bundle = ca_bundle
        self.total_timeout = float(total_timeout)
        self.max_body_bytes = int(max_body_bytes)
        adapter = _DeadlineAdapter()
        self.mount("https://", adapter)
        self.mount("http://", adapter)

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        """As requests.Session.request, with the body always read in full (stream is ignored)."""
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.default_timeout
        if self.ca_bundle and kwargs.get("verify") is None:
            # Per request, because requests lets the environment's bundle override session.verify.
            kwargs["verify"] = self.ca_bundle
        kwargs["stream"] = True
        call = _Call(self.total_timeout, self.max_body_bytes + HEADER_ALLOWANCE)
        outer, _current.call = _call(), call
        try:
            response = super().request(method, url, *args, **kwargs)
            try:
                self._read_body(response)
            except BaseException:
                response.close()
                raise
            return response
        except (requests.RequestException, OSError) as exc:
            if isinstance(exc, (DeadlineExceeded, ResponseTooLarge)):
                raise
            if call.received > call.max_raw_bytes:  # urllib3 reports what recv raised as a broken connection
                raise ResponseTooLarge(f"the answer exceeded {call.max_raw_bytes} bytes") from exc
            if call.expired():
                raise DeadlineExceeded(f"no complete answer within {self.total_timeout} s") from exc
            raise
        finally:
            _current.call = outer

    def _read_body(self, response: requests.Response) -> None:
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > self.max_body_bytes:
            raise ResponseTooLarge(f"the answer declares {declared} bytes, more than {self.max_body_bytes}")
        body = bytearray()
        for chunk in response.iter_content(CHUNK):
            body += chunk
            if len(body) > self.max_body_bytes:
                raise ResponseTooLarge(f"the answer is larger than {self.max_body_bytes} bytes")
        response._content = bytes(body)
        response._content_consumed = True  # type: ignore[attr-defined]
