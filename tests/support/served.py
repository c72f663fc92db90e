"""The app served by a real WSGI server on a free port, on a host name of the test's choosing, over http or
over TLS (a throwaway trustme CA: browsers are told to ignore it; nothing is trusted system-wide)."""

import contextlib
import ssl
import threading
from collections.abc import Callable, Iterator

import trustme
from flask import Flask
from werkzeug.serving import make_server

from app import create_app


def tls_context() -> ssl.SSLContext:
    """A server context with a localhost/127.0.0.1 certificate from a new throwaway CA."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    trustme.CA(organization_name="app test CA").issue_cert("localhost", "127.0.0.1").configure_cert(context)
    return context


@contextlib.contextmanager
def serve_wsgi(
    build: Callable[[str], Flask], host: str = "localhost", tls: bool = False
) -> Iterator[tuple[Flask, str]]:
    """Serve build(url) on a free port; yield (app, url). The URL (scheme, host, port) is known before the app is
    built, so its REDIRECT_URI and its registration at the mock can name it."""
    server = make_server("127.0.0.1", 0, app=None, threaded=True, ssl_context=tls_context() if tls else None)
    url = f"{'https' if tls else 'http'}://{host}:{server.server_port}"
    try:
        server.app = build(url)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield server.app, url
        finally:
            server.shutdown()
            thread.join(timeout=5)
    finally:
        server.server_close()


def serve_app_at(settings_for: Callable[[str], dict], host: str = "localhost", tls: bool = False):
    """Serve create_app(settings_for(url)); yield (app, url)."""
    return serve_wsgi(lambda url: create_app(settings_for(url)), host, tls)
