"""Where a signed-in page view's time goes: cProfile over the index `/` of one signed-in user.

`python -m benchmarks.profile_index [--requests N] [--store filesystem|redis] [--multiprocess-metrics]`

It builds the warm site (benchmarks/warm_site.py: the mock authority, Redis, an app server under gunicorn), signs
one person in through the account picker, then builds an app of that server's settings in this process, the
same store, and profiles N requests of `/` with that browser's cookie, each a copy of one WSGI environ given to
the app's WSGI callable (no socket, no gunicorn, no test client: what is left is the app's own time). Prints the
top entries by cumulative time, in milliseconds per request.
"""

import argparse
import contextlib
import cProfile
import io
import os
import pstats
import sys
import tempfile
import time

from werkzeug.test import EnvironBuilder


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="python -m benchmarks.profile_index", description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=3000, help="profiled requests (3000)")
    parser.add_argument("--store", choices=("filesystem", "redis"), default="filesystem")
    parser.add_argument("--top", type=int, default=25, help="entries shown (25)")
    parser.add_argument(
        "--multiprocess-metrics",
        action="store_true",
        help="prometheus_client in multiprocess mode, as gunicorn.conf.py sets it up in production",
    )
    return parser.parse_args(argv)


def profile(args) -> tuple[pstats.Stats, float]:
    from .warm_site import WarmSite

    with contextlib.ExitStack() as stack:
        site = WarmSite(stack, graph_latency=0.0, workers=1, threads=1)
        if args.store == "redis" and not site.redis_url:
            raise SystemExit("no redis-server installed")
        server = site.start_app("app", args.store)
        site.sign_in(server, 1)
        from app import create_app

        app = create_app(server.settings)
        environ = EnvironBuilder(
            "/", base_url=server.url, headers={"Cookie": server.cookies[0], "Accept": "text/html"}
        ).get_environ()
        for _ in range(200):  # warm: discovery, templates, the claims table, the cache of opened sessions
            status = page_view(app, environ)
            if status != "200 OK":
                raise RuntimeError(f"signed-in index answered {status}")
        profiler = cProfile.Profile()
        started = time.perf_counter()
        profiler.enable()
        for _ in range(args.requests):
            page_view(app, environ)
        profiler.disable()
        elapsed = time.perf_counter() - started
        return pstats.Stats(profiler), elapsed


def page_view(app, environ: dict) -> str:
    """One request through the app's WSGI callable, as a server gives it; returns the status line."""
    answer = {}

    def start_response(status, headers, exc_info=None):
        answer["status"] = status

    body = app({**environ, "wsgi.input": io.BytesIO()}, start_response)
    try:
        for _chunk in body:
            pass
    finally:
        if hasattr(body, "close"):
            body.close()
    return answer["status"]


def report(stats: pstats.Stats, elapsed: float, requests: int, top: int) -> str:
    """The top entries by cumulative time, per request (profiled time: cProfile's own overhead included)."""
    rows = sorted(stats.stats.items(), key=lambda item: item[1][3], reverse=True)  # type: ignore[attr-defined]
    lines = [
        f"{requests} requests, {1000 * elapsed / requests:.3f} ms each under the profiler",
        "",
        "| cumulative ms/request | own ms/request | calls/request | function |",
        "|---|---|---|---|",
    ]
    for (filename, line, name), (_calls, primitive, own, cumulative, _callers) in rows[:top]:
        where = filename.replace(os.getcwd() + "/", "").split("site-packages/")[-1]
        lines.append(
            f"| {1000 * cumulative / requests:.3f} | {1000 * own / requests:.3f} | {primitive / requests:.1f} "
            f"| {name} ({where}:{line}) |"
        )
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.multiprocess_metrics and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # Before prometheus_client is imported, as gunicorn.conf.py does; re-run with it set.
        directory = tempfile.mkdtemp(prefix="profile-metrics-")
        os.execve(
            sys.executable,
            [sys.executable, "-m", "benchmarks.profile_index", *sys.argv[1:]],
            {**os.environ, "PROMETHEUS_MULTIPROC_DIR": directory},
        )
    stats, elapsed = profile(args)
    print(report(stats, elapsed, args.requests, args.top))
    print(f"The request log line on its own: {log_line_microseconds():.1f} µs (one thread, to /dev/null)")
    return 0


def log_line_microseconds(lines: int = 20_000) -> float:
    """What request_log's one line per request costs alone: log.info with the app's formatter and fields, through
    the root handler it installs, writing to /dev/null; the best of three loops."""
    import logging

    from webapp import request_log

    request_log.configure_output("text")
    handler = logging.getLogger().handlers[0]
    assert isinstance(handler, logging.StreamHandler)
    log = logging.getLogger(request_log.__name__)
    fields = {"method": "GET", "route": "/", "status": 200, "duration_ms": 1.2, "oid": "o" * 36, "tid": "t" * 36}
    with open(os.devnull, "w") as sink:
        stream = handler.setStream(sink)
        try:
            best = float("inf")
            for _ in range(3):
                started = time.perf_counter()
                for _ in range(lines):
                    log.info("%s %s %s %.1f ms", "GET", "/", 200, 1.2, extra=fields)
                best = min(best, time.perf_counter() - started)
        finally:
            handler.setStream(stream)
    return best / lines * 1e6


if __name__ == "__main__":
    sys.exit(main())
