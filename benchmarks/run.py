"""`make bench`: build the warm site (benchmarks/warm_site.py), measure it side by side, print a table.

Every comparison alternates its sides round by round (A B, then B A, ...), each side for the same few seconds,
because this machine is noisy: a burst of noise then lands on both sides alike. Progress goes to stderr, the
table (Markdown) to stdout. Every load is bounded by a duration and a number of requests, and the whole run by
--budget seconds; the servers it started stop with it, however it ends.
"""

import argparse
import collections
import contextlib
import datetime
import os
import platform
import statistics
import sys
import time

import requests

from . import sealing_cost
from .load import run_load
from .warm_site import WarmSite

MAX_REQUESTS = 100_000  # per load; far above what a few seconds give on a small machine


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=8, help="rounds of each comparison (default 8)")
    parser.add_argument("--seconds", type=float, default=1.5, help="seconds each side runs per round (1.5)")
    parser.add_argument("--warmup", type=float, default=1.0, help="seconds of unmeasured load per side first (1)")
    parser.add_argument("--connections", type=int, default=16, help="keep-alive client connections (16)")
    parser.add_argument(
        "--latency-connections",
        type=int,
        default=2,
        help="client connections while measuring latency (2: a light load)",
    )
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers per server (2)")
    parser.add_argument("--threads", type=int, default=4, help="gunicorn threads per worker (4)")
    parser.add_argument("--graph-latency", type=float, default=0.02, help="seconds the mock Graph waits (0.02)")
    parser.add_argument("--browsers", type=int, default=16, help="people signed in to each server (16)")
    parser.add_argument(
        "--sessions",
        type=int,
        nargs=2,
        default=(100, 10_000),
        metavar=("FEW", "MANY"),
        help="stored sessions to compare (100 10000)",
    )
    parser.add_argument("--budget", type=float, default=540, help="seconds the whole run may take (540)")
    parser.add_argument("--output", help="also write the table to this file")
    return parser.parse_args(argv)


def progress(message):
    print(f"[bench] {message}", file=sys.stderr, flush=True)


class Bench:
    """Runs loads, and keeps what the mock authority and the servers' workers saw while they ran."""

    def __init__(self, site: WarmSite, args):
        self.site, self.args = site, args
        self.deadline = time.monotonic() + args.budget
        self.views = collections.Counter()  # measured views, by kind
        self.authority_requests = collections.Counter()
        self.graph_connections = collections.Counter()

    def load(self, server, path, connections, seconds, kind=None):
        """Load one server; count the views, authority requests and Graph connections under `kind`."""
        if time.monotonic() + seconds > self.deadline:
            raise SystemExit(f"benchmark budget of {self.args.budget:.0f} s exhausted; use fewer --rounds or --seconds")
        state = self.site.mock.state
        requests_before, connections_before = _authority_count(state), state.connections_opened("back")
        cpu_before = server.cpu_seconds()
        result = run_load(server.port, path, server.cookies, connections, seconds, MAX_REQUESTS)
        cpu = server.cpu_seconds() - cpu_before
        bad = {status: n for status, n in result["statuses"].items() if status != "200"}
        if bad:
            raise RuntimeError(f"{server.name} {path}: non-200 answers {bad}; {result['errors']}")
        if kind:
            self.views[kind] += result["count"]
            self.authority_requests[kind] += _authority_count(state) - requests_before
            self.graph_connections[kind] += state.connections_opened("back") - connections_before
        result["rps"] = result["count"] / result["seconds"]
        result["cpu_ms"] = 1000 * cpu / result["count"]
        return result

    def alternate(self, sides: dict) -> dict:
        """Warm each side up, then run them in turn for --rounds rounds, the order rotating every round.

        sides maps a name to (server, path, connections, kind)."""
        for server, path, connections, _ in sides.values():
            self.load(server, path, connections, self.args.warmup)
        results = {name: [] for name in sides}
        names = list(sides)
        for round_number in range(self.args.rounds):
            shift = round_number % len(names)
            for name in names[shift:] + names[:shift]:
                server, path, connections, kind = sides[name]
                results[name].append(self.load(server, path, connections, self.args.seconds, kind))
            progress(
                f"round {round_number + 1}: " + ", ".join(f"{name} {results[name][-1]['rps']:.0f}/s" for name in names)
            )
        return results


def _authority_count(state) -> int:
    """Requests the mock logged other than Graph's: discovery, JWKS, token, authorize, logout."""
    return sum(1 for record in state.requests if not record.endpoint.startswith("graph_"))


def _page_bytes(server) -> int:
    response = requests.get(f"{server.url}/", headers={"Cookie": server.cookies[0]}, timeout=10, allow_redirects=False)
    if response.status_code != 200:
        raise RuntimeError(f"signed-in index answered {response.status_code}")
    return len(response.content)


def _percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def machine() -> str:
    model = platform.processor() or "unknown CPU"
    with contextlib.suppress(OSError), open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return (
        f"{os.cpu_count()} cores ({model}), {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}"
    )


def _median_ratio(numerators, denominators, key):
    ratios = [a[key] / b[key] for a, b in zip(numerators, denominators, strict=True)]
    return statistics.median(ratios), min(ratios), max(ratios)


def _median(results, key):
    return statistics.median(result[key] for result in results)


def measure(args) -> dict:
    figures = {}
    with contextlib.ExitStack() as stack:
        progress("starting the mock authority and Redis")
        site = WarmSite(stack, args.graph_latency, args.workers, args.threads)
        bench = Bench(site, args)
        few, many = args.sessions
        stores = ["filesystem"] + (["redis"] if site.redis_url else [])
        progress("starting the app servers and signing people in through the account picker")
        app = site.start_app("app")
        site.sign_in(app, args.browsers)
        page_bytes = _page_bytes(app)
        bare = site.start_bare("bare", page_bytes)
        unpooled = site.start_app("unpooled", module="benchmarks.unpooled_app:app")
        site.sign_in(unpooled, args.browsers)
        latency_servers = {}
        for store in stores:
            for count in (few, many):
                server = site.start_app(f"{store} {count}", store)
                site.sign_in(server, args.browsers)
                started = time.monotonic()
                stored = site.store_sessions(server, count)
                progress(f"{server.name}: {stored} stored sessions ({time.monotonic() - started:.1f} s to seed)")
                latency_servers[f"{store} {count}"] = server

        progress("signed-in index vs bare Flask pages: from a template, and a static string")
        index = bench.alternate(
            {
                "index": (app, "/", args.connections, "index"),
                "bare": (bare, "/", args.connections, None),
                "string": (bare, "/string", args.connections, None),
            }
        )
        figures["index"] = {
            "rps": _median(index["index"], "rps"),
            "bare_rps": _median(index["bare"], "rps"),
            "string_rps": _median(index["string"], "rps"),
            "ratio": _median_ratio(index["index"], index["bare"], "rps"),
            "string_ratio": _median_ratio(index["index"], index["string"], "rps"),
            "bare_string_ratio": _median_ratio(index["bare"], index["string"], "rps"),
            "cpu_ms": _median(index["index"], "cpu_ms"),
            "bare_cpu_ms": _median(index["bare"], "cpu_ms"),
            "string_cpu_ms": _median(index["string"], "cpu_ms"),
            "page_bytes": page_bytes,
        }

        progress("/call_api against the mock Graph: pooled connections vs one connection per call")
        call_api = bench.alternate(
            {
                "pooled": (app, "/call_api", args.connections, "call_api"),
                "unpooled": (unpooled, "/call_api", args.connections, "unpooled"),
            }
        )
        figures["call_api"] = {
            "rps": _median(call_api["pooled"], "rps"),
            "unpooled_rps": _median(call_api["unpooled"], "rps"),
            "ratio": _median_ratio(call_api["pooled"], call_api["unpooled"], "rps"),
            "connections_per_1000": {
                kind: 1000 * bench.graph_connections[kind] / bench.views[kind] for kind in ("call_api", "unpooled")
            },
        }

        progress(f"signed-in page latency, {few} vs {many} stored sessions")
        latency = bench.alternate(
            {name: (server, "/", args.latency_connections, "index") for name, server in latency_servers.items()}
        )
        figures["latency"] = {}
        for store in stores:
            pooled = {
                count: [x for result in latency[f"{store} {count}"] for x in result["latencies"]]
                for count in (few, many)
            }
            figures["latency"][store] = {
                count: (statistics.median(values) * 1000, _percentile(values, 0.99) * 1000)
                for count, values in pooled.items()
            }

        progress("session encryption on its own (in-process loops)")
        from app import create_app  # an app of the server's settings, to read its store

        figures["sealing"] = sealing_cost.measure(create_app(app.settings), app.cookies[0].partition("=")[2])

        figures["authority_per_1000"] = {
            kind: 1000 * bench.authority_requests[kind] / bench.views[kind] for kind in ("index", "call_api")
        }
        figures["views"] = dict(bench.views)
        figures["memory"] = {
            "app": max(peak for server in [app, *latency_servers.values()] for peak in server.peak_rss_per_worker()),
            "bare": max(bare.peak_rss_per_worker()),
        }
    return figures


def table(figures, args, measured_at) -> str:
    few, many = args.sessions
    index, call_api = figures["index"], figures["call_api"]
    connections = call_api["connections_per_1000"]
    per_worker = connections["call_api"] / args.workers
    rows = [
        (
            f"Signed-in index vs a bare Flask page of the same size ({index['page_bytes']:,} B), requests/s",
            f"{index['rps']:,.0f} vs {index['bare_rps']:,.0f}: **{index['ratio'][0]:.3f}×** "
            f"(rounds {index['ratio'][1]:.2f}–{index['ratio'][2]:.2f}); worker CPU per request "
            f"{index['cpu_ms']:.2f} vs {index['bare_cpu_ms']:.2f} ms",
            "≥ 0.7×",
            _met(index["ratio"][0] >= 0.7),
        ),
        (
            "Signed-in index vs a bare Flask page returning a static string of the same size (no template), requests/s",
            f"{index['rps']:,.0f} vs {index['string_rps']:,.0f}: **{index['string_ratio'][0]:.3f}×** "
            f"(rounds {index['string_ratio'][1]:.2f}–{index['string_ratio'][2]:.2f}); worker CPU per request "
            f"{index['cpu_ms']:.2f} vs {index['string_cpu_ms']:.2f} ms; the template page is "
            f"{index['bare_string_ratio'][0]:.3f}× the static string",
            "",
            "",
        ),
        (
            f"/call_api against the mock Graph ({args.graph_latency * 1000:g} ms a call), requests/s: pooled "
            "connections vs a new connection per call (as Microsoft's sample)",
            f"{call_api['rps']:,.0f} vs {call_api['unpooled_rps']:,.0f}: **{call_api['ratio'][0]:.2f}×** "
            f"(rounds {call_api['ratio'][1]:.2f}–{call_api['ratio'][2]:.2f})",
            "",
            "",
        ),
        (
            "New connections to Graph per 1,000 /call_api",
            f"**{connections['call_api']:.1f}** ({per_worker:.1f} per worker); a new connection per call: "
            f"{connections['unpooled']:,.0f}",
            "≤ 1 per worker",
            _met(per_worker <= 1),
        ),
    ]
    for kind, label in (("index", "signed-in page views"), ("call_api", "/call_api views")):
        value = figures["authority_per_1000"][kind]
        rows.append(
            (
                f"Authority requests per 1,000 {label} ({figures['views'][kind]:,} measured)",
                f"**{value:.1f}**",
                "0",
                _met(value == 0),
            )
        )
    for store, by_count in figures["latency"].items():
        (median_few, p99_few), (median_many, p99_many) = by_count[few], by_count[many]
        median_ratio, p99_ratio = median_many / median_few, p99_many / p99_few
        rows.append(
            (
                f"Signed-in page latency, {store} store: {few:,} vs {many:,} stored sessions",
                f"median {median_few:.2f} vs {median_many:.2f} ms (**{median_ratio:.2f}×**), "
                f"p99 {p99_few:.1f} vs {p99_many:.1f} ms ({p99_ratio:.2f}×)",
                "≤ 1.2×",
                _met(median_ratio <= 1.2) + ("" if p99_ratio <= 1.2 else " (median; p99 not)"),
            )
        )
    if "redis" not in figures["latency"]:
        rows.append(("Signed-in page latency, Redis store", "not measured: no redis-server installed", "≤ 1.2×", ""))
    rows.append(
        (
            "Peak memory per worker (RSS)",
            f"app {figures['memory']['app']:.0f} MiB, bare Flask {figures['memory']['bare']:.0f} MiB",
            "",
            "",
        )
    )
    lines = [
        f"Measured {measured_at:%Y-%m-%d %H:%M} UTC on {machine()}; gunicorn gthread, {args.workers} workers × "
        f"{args.threads} threads per server; {args.connections} keep-alive client connections "
        f"({args.latency_connections} for latency); {args.rounds} rounds of {args.seconds:g} s per side, "
        "sides alternated; ratios are medians of the rounds' ratios.",
        "",
        "| Figure | Measured | Goal | |",
        "|---|---|---|---|",
        *(f"| {figure} | {value} | {goal} | {met} |" for figure, value, goal, met in rows),
        "",
        sealing_cost.table(figures["sealing"], index["cpu_ms"]).rstrip("\n"),
    ]
    return "\n".join(lines) + "\n"


def _met(ok: bool) -> str:
    return "met" if ok else "**missed**"


def main(argv=None) -> int:
    args = parse_args(argv)
    measured_at = datetime.datetime.now(datetime.UTC)
    started = time.monotonic()
    figures = measure(args)
    text = table(figures, args, measured_at)
    print(text)
    if args.output:
        with open(args.output, "w", encoding="utf-8") as out:
            out.write(text)
    progress(f"done in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
