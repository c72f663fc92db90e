"""The benchmark's load generator: interleaved loads give every server the same load, request by request."""

import collections
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from benchmarks.load import run_interleaved


class Counting(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as gunicorn

    def do_GET(self):
        self.server.seen[self.headers.get("Cookie")] += 1
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


@pytest.fixture
def servers():
    started = []
    for _ in range(3):
        server = ThreadingHTTPServer(("127.0.0.1", 0), Counting)
        server.seen = collections.Counter()
        threading.Thread(target=server.serve_forever, daemon=True).start()
        started.append(server)
    yield started
    for server in started:
        server.shutdown()
        server.server_close()


def test_each_connection_sends_to_every_server_in_turn(servers):
    targets = [
        {"port": s.server_address[1], "path": "/", "cookies": [f"c=server{n}-a", f"c=server{n}-b"]}
        for n, s in enumerate(servers)
    ]
    results = run_interleaved(targets, connections=2, seconds=0.5, max_requests=600, host="127.0.0.1")
    counts = [result["count"] for result in results]
    assert min(counts) > 20 and max(counts) - min(counts) <= 2  # at most one unfinished turn per connection
    for n, (server, result) in enumerate(zip(servers, results, strict=True)):
        assert result["statuses"] == {"200": result["count"]} and len(result["latencies"]) == result["count"]
        assert sum(server.seen.values()) == result["count"]  # every answer counted where it was asked
        assert set(server.seen) == {f"c=server{n}-a", f"c=server{n}-b"}  # each connection with its own cookie
