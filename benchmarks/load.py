"""A small HTTP/1.1 load generator: keep-alive connections over raw sockets, each with its own cookie.

It runs in a process of its own (`python -m benchmarks.load`, a JSON job on stdin, a JSON result on stdout), so
that neither its work nor the in-process mock authority's competes for the other's interpreter lock. Raw sockets
instead of requests: a request costs the client some 30 microseconds, so the server, not the client, sets the pace.
Every run is bounded twice: by a number of requests and by a duration.
"""

import json
import random
import socket
import subprocess
import sys
import threading
import time

SOCKET_TIMEOUT = 15  # seconds; longer than any page of the app may take, short enough to end a stuck run


def run_load(
    url_port: int,
    path: str,
    cookies: list,
    connections: int,
    seconds: float,
    max_requests: int,
    host: str = "localhost",
    timeout: float = 60,
) -> dict:
    """Run a load in a child process; return {"count", "seconds", "statuses", "latencies", "bytes", "errors"}."""
    target = {"port": url_port, "path": path, "cookies": cookies}
    return run_interleaved([target], connections, seconds, max_requests, host, timeout)[0]


def run_interleaved(
    targets: list,
    connections: int,
    seconds: float,
    max_requests: int,
    host: str = "localhost",
    timeout: float = 60,
) -> list:
    """Load several servers at once, request by request: each client connection sends one request to every target
    ({"port", "path", "cookies"}) in turn, in a new random order each turn, so that whatever else the machine is
    doing meanwhile falls on all of them alike. Returns one result (as run_load's) per target, in their order;
    "seconds" is the whole load's."""
    job = {"host": host, "targets": targets, "connections": connections, "seconds": seconds}
    job["max_requests"] = max_requests
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.load"],
        input=json.dumps(job),
        capture_output=True,
        text=True,
        timeout=timeout + seconds,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"load generator failed: {done.stderr[-2000:]}")
    return json.loads(done.stdout)


class _Connection:
    """One keep-alive connection that sends the same GET again and again."""

    def __init__(self, host, port, request: bytes):
        self.address = (host, port)
        self.request = request
        self.sock = None
        self.buffer = b""

    def get(self):
        """Send the request, read the whole response; return (status, body length)."""
        if self.sock is None:
            self.sock = socket.create_connection(self.address, timeout=SOCKET_TIMEOUT)
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.buffer = b""
        self.sock.sendall(self.request)
        while b"\r\n\r\n" not in self.buffer:
            self._read()
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        lines = head.split(b"\r\n")
        status = int(lines[0].split(b" ", 2)[1])
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            headers[name.strip().lower()] = value.strip()
        if b"chunked" in headers.get(b"transfer-encoding", b"").lower():
            raise RuntimeError("chunked responses are not supported by this load generator")
        length = int(headers.get(b"content-length", b"0"))
        while len(self.buffer) < length:
            self._read()
        self.buffer = self.buffer[length:]
        if headers.get(b"connection", b"").lower() == b"close":
            self.close()
        return status, length

    def _read(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("server closed the connection")
        self.buffer += chunk

    def close(self):
        if self.sock is not None:
            self.sock.close()
            self.sock = None


def _request(host, port, path, cookie) -> bytes:
    lines = [f"GET {path} HTTP/1.1", f"Host: {host}:{port}", "Accept: text/html", "User-Agent: benchmarks.load"]
    if cookie:
        lines.append(f"Cookie: {cookie}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


class _Tally:
    """What one target answered."""

    def __init__(self):
        self.statuses, self.latencies, self.sizes, self.errors = {}, [], [], []

    def result(self, seconds: float) -> dict:
        return {
            "count": len(self.latencies),
            "seconds": seconds,
            "statuses": {str(k): v for k, v in self.statuses.items()},
            "latencies": self.latencies,
            "bytes": max(self.sizes) if self.sizes else 0,
            "errors": self.errors[:10],
        }


def generate(job: dict) -> list:
    """Run job's connections until max_requests responses (all targets together) or seconds have passed, whichever
    comes first; each connection to every target in turn, in a random order each turn."""
    host, targets = job["host"], job["targets"]
    clients = []
    for number in range(job["connections"]):
        cookies = [(t["cookies"] or [""])[number % max(1, len(t["cookies"]))] for t in targets]
        clients.append(
            [
                _Connection(host, t["port"], _request(host, t["port"], t["path"], c))
                for t, c in zip(targets, cookies, strict=True)
            ]
        )
    lock = threading.Lock()
    tallies = [_Tally() for _ in targets]
    issued = [0]
    deadline = time.perf_counter() + job["seconds"]

    def worker(number, connections):
        order = list(range(len(targets)))
        shuffle = random.Random(number).shuffle
        try:
            while time.perf_counter() < deadline:
                shuffle(order)
                for index in order:
                    with lock:
                        if issued[0] >= job["max_requests"]:
                            return
                        issued[0] += 1
                    connection, tally = connections[index], tallies[index]
                    started = time.perf_counter()
                    try:
                        status, length = connection.get()
                    except (OSError, ValueError, IndexError) as error:
                        connection.close()
                        status, length = 0, 0
                        tally.errors.append(type(error).__name__)
                    elapsed = time.perf_counter() - started
                    with lock:
                        tally.statuses[status] = tally.statuses.get(status, 0) + 1
                        tally.latencies.append(elapsed)
                        tally.sizes.append(length)
        finally:
            for connection in connections:
                connection.close()

    threads = [threading.Thread(target=worker, args=(n, c), daemon=True) for n, c in enumerate(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(job["seconds"] + SOCKET_TIMEOUT + 5)
    elapsed = time.perf_counter() - started
    return [tally.result(elapsed) for tally in tallies]


if __name__ == "__main__":
    json.dump(generate(json.load(sys.stdin)), sys.stdout)
