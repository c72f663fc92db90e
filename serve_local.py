"""`make run`: serve the app on http://localhost:5000, on the local mock authority unless a .env is configured.

With a .env, the app talks to whatever AUTHORITY it names (normally the real Entra ID) unchanged.
"""

import argparse
import contextlib
import os
import secrets
import sys
import threading
import uuid

from dotenv import load_dotenv
from werkzeug.serving import make_server

from app import create_app


@contextlib.contextmanager
def serve(host="127.0.0.1", port=5000, env_file=".env", overrides=None):
    """Start the app (and the mock authority when env_file is absent) in threads; yield (app_url, mock or None).

    In demo mode the mock's settings go to create_app as overrides, leaving the process environment alone."""
    server = make_server(host, port, app=None, threaded=True)  # bind first: port 0 picks a free one
    app_url = f"http://localhost:{server.server_port}"
    with contextlib.ExitStack() as stack:
        mock, settings = None, {}
        if os.path.exists(env_file):
            load_dotenv(env_file)
        else:
            mock, settings = stack.enter_context(_mock_authority(app_url))
        server.app = create_app({**settings, **(overrides or {})})
        stack.enter_context(_running(server))
        yield app_url, mock


@contextlib.contextmanager
def _mock_authority(app_url):
    from mock_authority import MockConfig, run_in_thread

    # The site root is registered too: Entra sends the user back after sign-out only to a registered URI.
    config = MockConfig(
        client_id=str(uuid.uuid4()),
        client_secret=secrets.token_urlsafe(32),
        redirect_uris=(f"{app_url}/getAToken", f"{app_url}/"),
    )
    with run_in_thread(config) as mock:
        yield (
            mock,
            {
                "AUTHORITY": mock.authority,
                "CLIENT_ID": config.client_id,
                "CLIENT_SECRET": config.client_secret,
                "REDIRECT_URI": f"{app_url}/getAToken",
                "ENDPOINT": mock.graph_endpoint,
                "REQUESTS_CA_BUNDLE": mock.ca_bundle,
                "LOCAL_MOCK_AUTHORITY": "1",
            },
        )


@contextlib.contextmanager
def _running(server):
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield
    finally:
        server.shutdown()
        thread.join(timeout=5)


def banner(app_url, mock):
    """What `make run` prints: where to go, who can sign in, and how to use a real tenant instead."""
    lines = [f"Open {app_url} in your browser. Ctrl-C stops."]
    if mock is None:
        return "\n".join(["Using the settings in .env (delete or rename it to use the local mock instead).", *lines])
    users = mock.state.users
    lines += [
        f"No .env found: signing in at the local mock authority ({mock.front_url}), not at Microsoft.",
        f"Demo users (pick one on the mock's account page; no password): {len(users)}",
        *(f"  {user.name:<18} {user.upn}" for user in users),
        "To use your own tenant: cp .env.sample .env, fill in CLIENT_ID, a credential and AUTHORITY from your",
        "app registration (README: Register the app in Entra ID), then run make run again.",
    ]
    width = max(len(line) for line in lines)
    rule = "=" * width
    return "\n".join([rule, *lines, rule])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=5000)
    args = parser.parse_args(argv)
    try:
        server = serve(port=args.port)
        app_url, mock = server.__enter__()
    except OSError as exc:
        print(f"Cannot listen on port {args.port}: {exc.strerror}. Stop what uses it, or pass --port.")
        return 1
    print(banner(app_url, mock), flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        print("Stopped.")
    finally:
        server.__exit__(None, None, None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
