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
from .load import run_interleaved, run_load
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
    parser.add_argument(
        "--latency-rounds", type=int, default=16, help="rounds of the stored-sessions latency comparison (16)"
    )
    parser.add_argument(
        "--latency-seconds", type=float, default=3.0, help="seconds each latency round loads every server (3)"
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
        cpu_before = server.cpu_seconds()
        (result,) = self._counted(
            [(server, path)],
            kind,
            seconds,
            lambda: [run_load(server.port, path, server.cookies, connections, seconds, MAX_REQUESTS)],
        )
        result["rps"] = result["count"] / result["seconds"]
        result["cpu_ms"] = 1000 * (server.cpu_seconds() - cpu_before) / result["count"]
        return result

    def _counted(self, targets, kind, seconds, run) -> list:
        """run() loads targets [(server, path)]; check every answer was a 200, count what the authority saw."""
        if time.monotonic() + seconds > self.deadline:
            raise SystemExit(f"benchmark budget of {self.args.budget:.0f} s exhausted; use fewer --rounds or --seconds")
        state = self.site.mock.state
        requests_before, connections_before = _authority_count(state), state.connections_opened("back")
        results = run()
        for (server, path), result in zip(targets, results, strict=True):
            bad = {status: n for status, n in result["statuses"].items() if status != "200"}
            if bad:
                raise RuntimeError(f"{server.name} {path}: non-200 answers {bad}; {result['errors']}")
        if kind:
            self.views[kind] += sum(result["count"] for result in results)
            self.authority_requests[kind] += _authority_count(state) - requests_before
            self.graph_connections[kind] += state.connections_opened("back") - connections_before
        return results

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

    def interleave(self, servers: dict, path, connections, kind) -> dict:
        """Load every server at once, request by request (load.run_interleaved), for --latency-rounds rounds of
        --latency-seconds after a warm-up: a burst of noise on the machine then falls on each server alike.

        servers maps a name to a server; returns each name's results, one per round."""
        names = list(servers)
        targets = [{"port": s.port, "path": path, "cookies": s.cookies} for s in servers.values()]
        seconds = self.args.latency_seconds

        def run(duration):
            return run_interleaved(targets, connections, duration, MAX_REQUESTS)

        pairs = [(server, path) for server in servers.values()]
        self._counted(pairs, None, self.args.warmup, lambda: run(self.args.warmup))
        results = {name: [] for name in names}
        for round_number in range(self.args.latency_rounds):
            for name, result in zip(names, self._counted(pairs, kind, seconds, lambda: run(seconds)), strict=True):
                results[name].append(result)
            progress(
                f"round {round_number + 1}: p99 "
                + ", ".join(
                    f"{name} {_percentile(results[name][-1]['latencies'], 0.99) * 1000:.2f} ms" for name in names
                )
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

        progress(f"signed-in page latency, {few} vs {many} stored sessions: every server at once, interleaved")
        latency = bench.interleave(latency_servers, "/", args.latency_connections, "index")
        figures["latency"] = {}
        for store in stores:
            few_rounds, many_rounds = latency[f"{store} {few}"], latency[f"{store} {many}"]
            pooled = {
                count: [x for result in rounds for x in result["latencies"]]
                for count, rounds in ((few, few_rounds), (many, many_rounds))
            }
            p99_ratios = [
                _percentile(m["latencies"], 0.99) / _percentile(f["latencies"], 0.99)
                for f, m in zip(few_rounds, many_rounds, strict=True)
            ]
            figures["latency"][store] = {
                **{
                    count: (statistics.median(values) * 1000, _percentile(values, 0.99) * 1000, len(values))
                    for count, values in pooled.items()
                },
                "p99_rounds": (statistics.median(p99_ratios), min(p99_ratios), max(p99_ratios)),
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
            "≥ 0.85×",
            _met(index["ratio"][0] >= 0.85),
        ),
        (
            "Signed-in index vs a bare Flask page returning a static string of the same size (no template), requests/s",
            f"{index['rps']:,.0f} vs {index['string_rps']:,.0f}: **{index['string_ratio'][0]:.3f}×** "
            f"(rounds {index['string_ratio'][1]:.2f}–{index['string_ratio'][2]:.2f}); worker CPU per request "
            f"{index['cpu_ms']:.2f} vs {index['string_cpu_ms']:.2f} ms; the template page is "
            f"{index['bare_string_ratio'][0]:.3f}× the static string",
            "≥ 0.6×",
            _met(index["string_ratio"][0] >= 0.6),
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
        (median_few, p99_few, samples), (median_many, p99_many, _) = by_count[few], by_count[many]
        median_ratio, p99_ratio = median_many / median_few, p99_many / p99_few
        rounds_median, rounds_low, rounds_high = by_count["p99_rounds"]
        rows.append(
            (
                f"Signed-in page latency, {store} store: {few:,} vs {many:,} stored sessions",
                f"p99 {p99_few:.2f} vs {p99_many:.2f} ms (**{p99_ratio:.2f}×**; rounds' p99 ratios "
                f"{rounds_low:.2f}–{rounds_high:.2f}, median {rounds_median:.2f}), median {median_few:.2f} vs "
                f"{median_many:.2f} ms ({median_ratio:.2f}×); {samples:,} views of each",
                "p99 and median ≤ 1.2×",
                _met(p99_ratio <= 1.2 and median_ratio <= 1.2),
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
        f"{args.threads} threads per server; {args.connections} keep-alive client connections; "
        f"{args.rounds} rounds of {args.seconds:g} s per side, sides alternated, ratios the medians of the rounds' "
        f"ratios; latency: {args.latency_connections} connections, each sending to the "
        f"{2 * len(figures['latency'])} stored-sessions servers in turn (a random order each turn), "
        f"{args.latency_rounds} rounds of {args.latency_seconds:g} s, percentiles of all the rounds' views.",
        "",
        "| Figure | Measured | Goal | |",
        "|---|---|---|---|",
        *(f"| {figure} | {value} | {goal} | {met} |" for figure, value, goal, met in rows),
        "",
        sealing_cost.table(figures["sealing"], index["cpu_ms"]).rstrip("\n"),
    ]
    return "\n".join(lines) + "\n"


def _met(ok: bool) -> str:
    return "met" if ok else "**not met**"


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
