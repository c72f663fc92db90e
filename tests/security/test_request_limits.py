"""Huge request bodies get a 413 page before anything parses them, and cost the worker no memory.

The app runs under gunicorn (gunicorn.conf.py, one worker), and a raw socket sends the body: declared up front
(Content-Length) or chunked with no length at all, urlencoded and multipart. The client stops sending as soon as
the server answers, so "bytes the server took" shows whether it read the body, and /proc shows the worker's peak
resident memory (VmHWM) before and after.
"""

import os
import select
import socket
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.support import servers
from tests.support.apps import app_settings

MiB = 1024 * 1024
CHUNK = b"a" * MiB
MAX_GROWTH = 50 * MiB


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(child) for child in path.read_text().split()] if path.exists() else []


def _status(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no {field} for {pid}")


def _send(url: str, path: str, headers: dict, body, length: int | None):
    """POST path with a body from the iterable `body` (Content-Length when length is given, else chunked); stop
    sending once the server answers. Returns (status, headers, text, bytes of body sent)."""
    parts = urlsplit(url)
    sock = socket.create_connection((parts.hostname, parts.port), timeout=60)
    framing = {"Content-Length": str(length)} if length is not None else {"Transfer-Encoding": "chunked"}
    head = [f"POST {path} HTTP/1.1", f"Host: {parts.netloc}", "Connection: close"]
    head += [f"{name}: {value}" for name, value in {**headers, **framing}.items()]
    sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode())
    sent, answer = 0, b""
    try:
        for piece in body:
            frame = piece if length is not None else b"%x\r\n%s\r\n" % (len(piece), piece)
            view = memoryview(frame)
            while view:
                readable, writable, _ = select.select([sock], [sock], [], 60)
                if readable:
                    raise StopIteration
                if writable:
                    n = sock.send(view[: 256 * 1024])
                    view, sent = view[n:], sent + n
        if length is None:
            sock.sendall(b"0\r\n\r\n")
    except (StopIteration, BrokenPipeError, ConnectionResetError):
        pass
    sock.settimeout(30)
    try:
        while chunk := sock.recv(65536):
            answer += chunk
    except ConnectionResetError:
        pass
    finally:
        sock.close()
    head_bytes, _, text = answer.partition(b"\r\n\r\n")
    lines = head_bytes.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1]) if lines and lines[0].startswith("HTTP/") else None
    response_headers = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
    return status, response_headers, text.decode("utf-8", "replace"), sent


def _urlencoded(total: int):
    yield b"csrf_token=x&filler="
    for _ in range(total // MiB):
        yield CHUNK


def _multipart(total: int, boundary: str):
    yield (
        f'--{boundary}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\nx\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="upload"; filename="big.bin"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    for _ in range(total // MiB):
        yield CHUNK
    yield f"\r\n--{boundary}--\r\n".encode()


@pytest.fixture
def worker(mock_authority, tmp_path):
    """The app under gunicorn with one worker: its URL and the worker's pid."""
    settings = app_settings(mock_authority, tmp_path)
    with servers.gunicorn(settings, tmp_path, workers=1, threads=2) as server:
        deadline = time.monotonic() + 10
        while not _children(server.process.pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        [pid] = _children(server.process.pid)
        # Warm the worker up (imports, templates, the error page) so only the big body is measured.
        for _ in range(3):
            _send(server.url, "/logout", {"Content-Type": "application/x-www-form-urlencoded"}, [b"a=1"], 3)
            _send(server.url, "/logout", {"Content-Type": "application/x-www-form-urlencoded"}, [CHUNK], MiB)
        yield server, pid


@pytest.mark.parametrize(
    "kind, size, declared",
    [
        ("urlencoded", 200 * MiB, True),
        ("urlencoded", 200 * MiB, False),
        ("multipart", 300 * MiB, True),
        ("multipart", 300 * MiB, False),
    ],
    ids=["urlencoded-200MB-length", "urlencoded-200MB-chunked", "multipart-300MB-length", "multipart-300MB-chunked"],
)
def test_a_huge_sign_out_body_is_a_413_before_parsing(worker, kind, size, declared):
    server, pid = worker
    peak_before, files_before = _status(pid, "VmHWM"), len(os.listdir(f"/proc/{pid}/fd"))
    if kind == "urlencoded":
        headers, body, length = {"Content-Type": "application/x-www-form-urlencoded"}, _urlencoded(size), size + 20
    else:
        boundary = "limit-test-boundary"
        headers, body = {"Content-Type": f"multipart/form-data; boundary={boundary}"}, _multipart(size, boundary)
        length = sum(len(piece) for piece in _multipart(size, boundary))
    status, response_headers, text, sent = _send(server.url, "/logout", headers, body, length if declared else None)

    growth = _status(pid, "VmHWM") - peak_before
    print(
        f"{kind} {size // MiB} MiB {'length' if declared else 'chunked'}: {status}, server took {sent / MiB:.1f} MiB,"
    )
    print(f"  worker peak RSS {peak_before / MiB:.0f} -> {(peak_before + growth) / MiB:.0f} MiB")
    assert growth < MAX_GROWTH, f"the worker's peak RSS grew {growth / MiB:.0f} MiB"
    assert sent < size // 4, f"the server read {sent / MiB:.0f} MiB of a body it should have refused"
    assert len(os.listdir(f"/proc/{pid}/fd")) <= files_before + 2, "the worker kept files (temp files?) open"
    assert _children(server.process.pid) == [pid], "the worker died"
    assert status == 413, (status, text[:300], server.log()[-2000:])
    assert "text/html" in response_headers.get("Content-Type", "")
    for header in ("Content-Security-Policy", "X-Content-Type-Options", "X-Frame-Options", "Referrer-Policy"):
        assert header in response_headers, header
