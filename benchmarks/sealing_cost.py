"""What encryption costs a request, on its own: opening and sealing a real signed-in session, in-process.

A signed-in page view opens its session once: it reads the sealed blob from the store, opens it with the
cookie's ticket (AES-256-GCM) and parses the JSON. It seals (JSON, then AES-GCM) only when the session changed or
at its touch, at most once a minute per session. This module times those steps with time.perf_counter loops on
a blob the app itself stored for a browser that signed in through the mock authority, against JSON alone. The
cases run in turn, round after round, and each figure is the median of the rounds: the machine is noisy.

`python -m benchmarks.sealing_cost` builds a site of its own (the mock authority and one app server) to measure
this alone; benchmarks/run.py measures it beside the page it belongs to.
"""

import argparse
import contextlib
import json
import statistics
import sys
import time

from webapp.sealing import Ticket

ROUNDS, ITERATIONS = 15, 2000


def _sealed_session(app, cookie: str) -> tuple[Ticket, bytes]:
    ticket = Ticket.from_cookie(cookie)
    if ticket is None:
        raise RuntimeError("not a session cookie")
    blob = app.session_interface.store.get(ticket.store_key)
    if blob is None or ticket.open(blob) is None:
        raise RuntimeError("the store holds no session for this cookie")
    return ticket, blob


def measure(app, cookie: str, rounds: int = ROUNDS, iterations: int = ITERATIONS) -> dict:
    """Microseconds per operation on the sealed session of `cookie` in `app`'s store, medians of the rounds."""
    ticket, blob = _sealed_session(app, cookie)
    plaintext = ticket.open(blob)
    content = json.loads(plaintext)
    expires = int(time.time()) + 3600

    def open_blob():
        return Ticket.from_cookie(cookie).open(blob)

    def open_and_parse():
        return json.loads(Ticket.from_cookie(cookie).open(blob))

    def parse():
        return json.loads(plaintext)

    def seal():
        return ticket.seal(plaintext, expires)

    def serialize():
        return json.dumps(content, separators=(",", ":")).encode()

    def serialize_and_seal():
        return ticket.seal(json.dumps(content, separators=(",", ":")).encode(), expires)

    cases = {
        "open": open_blob,
        "open + json.loads": open_and_parse,
        "json.loads": parse,
        "seal": seal,
        "json.dumps + seal": serialize_and_seal,
        "json.dumps": serialize,
    }
    per_op = {name: [] for name in cases}
    names = list(cases)
    for round_number in range(rounds):
        shift = round_number % len(names)
        for name in names[shift:] + names[:shift]:
            function = cases[name]
            started = time.perf_counter()
            for _ in range(iterations):
                function()
            per_op[name].append((time.perf_counter() - started) / iterations * 1e6)
    return {
        "payload_bytes": len(plaintext),
        "blob_bytes": len(blob),
        "rounds": rounds,
        "iterations": iterations,
        "us": {name: statistics.median(values) for name, values in per_op.items()},
        "range": {name: (min(values), max(values)) for name, values in per_op.items()},
    }


def table(figures: dict, cpu_ms_per_request: float | None = None) -> str:
    """Markdown: µs per operation, and (given the page's worker CPU per request) each one's share of it."""
    us = figures["us"]
    lines = [
        f"Session encryption on its own: a signed-in session of {figures['payload_bytes']:,} B of JSON "
        f"({figures['blob_bytes']:,} B sealed), in-process, time.perf_counter loops of {figures['iterations']:,}, "
        f"medians of {figures['rounds']} rounds (cases alternated)"
        + (
            f"; shares of the signed-in index's worker CPU per request ({cpu_ms_per_request:.3f} ms)."
            if cpu_ms_per_request
            else "."
        ),
        "",
        "| Operation | µs per op (rounds' range) | Share of the page's CPU |",
        "|---|---|---|",
    ]
    rows = [
        (
            "open",
            "Ticket.from_cookie + Ticket.open: AES-256-GCM decrypt (when the blob changed since last opened)",
        ),
        ("json.loads", "json.loads of the plaintext alone"),
        (
            "open + json.loads",
            "open + json.loads: what such a request pays besides the store read (others reuse the opened session)",
        ),
        ("seal", "Ticket.seal: AES-256-GCM encrypt (on a change, or the touch at most once a minute)"),
        ("json.dumps", "json.dumps alone"),
        ("json.dumps + seal", "json.dumps + seal: a session write besides the store write"),
    ]
    for name, label in rows:
        low, high = figures["range"][name]
        share = f"{100 * us[name] / (1000 * cpu_ms_per_request):.1f} %" if cpu_ms_per_request else ""
        lines.append(f"| {label} | {us[name]:.1f} ({low:.1f}–{high:.1f}) | {share} |")
    lines += [
        "",
        f"Encryption alone, per session opened: {us['open']:.1f} µs; "
        f"open + json.loads is {us['open + json.loads'] / us['json.loads']:.2f}× json.loads alone, "
        f"json.dumps + seal {us['json.dumps + seal'] / us['json.dumps']:.2f}× json.dumps alone.",
    ]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.sealing_cost", description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=ROUNDS, help=f"rounds of each case ({ROUNDS})")
    parser.add_argument("--iterations", type=int, default=ITERATIONS, help=f"operations per round ({ITERATIONS})")
    args = parser.parse_args(argv)
    from app import create_app

    from .warm_site import WarmSite

    with contextlib.ExitStack() as stack:
        site = WarmSite(stack, graph_latency=0.0, workers=1, threads=1)
        server = site.start_app("app")
        site.sign_in(server, 1)
        app = create_app(server.settings)
        figures = measure(app, server.cookies[0].partition("=")[2], args.rounds, args.iterations)
    print(table(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
