"""The app as Microsoft's sample calls Graph: a new connection (TCP and TLS handshake) for every call.

`gunicorn benchmarks.unpooled_app:app`, the yardstick that makes the pooled connection's gain visible: the
same app, settings and error handling, except that each Graph call gets a session of its own.
"""

import app as app_module
from webapp import extension
from webapp.graph import GraphClient
from webapp.outbound import TimeoutSession


class UnpooledGraphClient(GraphClient):
    """GraphClient, with a fresh HTTP session (so a fresh connection) per call, bounded as the shared one."""

    def _send(self, url, access_token):
        shared = self._http
        with TimeoutSession(
            *shared.default_timeout,
            shared.ca_bundle,
            total_timeout=shared.total_timeout,
            max_body_bytes=shared.max_body_bytes,
        ) as fresh:
            return GraphClient(fresh)._send(url, access_token)  # the body is read before the session closes


extension.GraphClient = UnpooledGraphClient  # EntraSignIn builds its GraphClient from this name
app = app_module.create_app()
