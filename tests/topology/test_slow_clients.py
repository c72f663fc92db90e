"""Slow clients wait on nginx, not on the app: connections that trickle their headers or their body in hold no
app-server thread, so signed-in pages are still answered while they hang (nginx's buffering and timeouts, in
deploy/nginx/). The same slow connections sent straight to an app server are measured beside it."""

import concurrent.futures
import contextlib
import socket
import ssl

import pytest
import requests

pytestmark = pytest.mark.topology

SLOW_CONNECTIONS = 48  # more than the threads of both app servers together (2 × 2 workers × 4 threads)
PAGES = 8


@contextlib.contextmanager
def slow_connections(port: int, tls_ca: str | None, count: int):
    """`count` connections that each send the start of a request and then nothing more: half stop inside the
    headers, half inside a declared 4 KB body."""
    opened = []
    context = ssl.create_default_context(cafile=tls_ca) if tls_ca else None
    try:
        for index in range(count):
            raw = socket.create_connection(("127.0.0.1", port), timeout=5)
            conn = context.wrap_socket(raw, server_hostname="localhost") if context else raw
            opened.append(conn)
            if index % 2:
                conn.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\nUser-Agent: slow")
            else:
                conn.sendall(b"POST /logout HTTP/1.1\r\nHost: localhost\r\nContent-Length: 4096\r\n\r\ncsrf=")
        yield opened
    finally:
        for conn in opened:
            conn.close()


def statuses(url: str, cookie: str, verify, count: int, timeout: float) -> list:
    """The answers to `count` simultaneous requests for a signed-in page: a status, or None when none came within
    `timeout` seconds."""

    def one(_):
        try:
            response = requests.get(
                url, headers={"Cookie": cookie}, allow_redirects=False, timeout=timeout, verify=verify
            )
            return response.status_code
        except requests.RequestException:
            return None

    with concurrent.futures.ThreadPoolExecutor(count) as pool:
        return list(pool.map(one, range(count)))


def test_slow_clients_hold_no_app_thread(site, report):
    browser = site.browser()
    assert browser.sign_in().h1.startswith("Welcome")
    cookie = f"__Host-session={browser.session_cookie()}"
    https_port = int(site.nginx.values["HTTPS_LISTEN"].rpartition(":")[2])
    with slow_connections(https_port, str(site.ca_pem), SLOW_CONNECTIONS):
        through_nginx = statuses(f"{site.url}/", cookie, str(site.ca_pem), PAGES, timeout=10)
    assert through_nginx == [200] * PAGES, f"signed-in pages while slow clients hung on: {through_nginx}"

    # Beside it, a figure: the same slow connections sent straight to one app server (plain http, as nginx does).
    direct = site.apps[0]
    assert statuses(f"{direct.direct_url}/", cookie, False, 1, timeout=3) != [None], "the app server answers"
    with slow_connections(direct.port, None, SLOW_CONNECTIONS):
        straight = statuses(f"{direct.direct_url}/", cookie, False, PAGES, timeout=3)
    direct.service.wait_until_ready(direct.direct_url)
    report(
        f"slow clients: with {SLOW_CONNECTIONS} connections trickling headers or bodies in, {PAGES} of {PAGES} "
        f"signed-in pages answered through nginx; sent straight to one app server (gunicorn gthread, "
        f"{site.workers} workers × {site.threads} threads), {PAGES - straight.count(None)} of {PAGES} answered "
        "within 3 s"
    )
