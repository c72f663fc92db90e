"""Throwaway TLS material: a trustme CA, a localhost server certificate and a CA bundle file."""
from __future__ import annotations

import os
import shutil
import ssl
import tempfile

import certifi
import trustme


class TlsMaterial:
    """A CA made at start, a server certificate for localhost/127.0.0.1, and a bundle for REQUESTS_CA_BUNDLE."""

    def __init__(self, host: str = "localhost") -> None:
        self.ca = trustme.CA(organization_name="mock-authority throwaway CA")
        names = sorted({host, "localhost", "127.0.0.1"})
        self.server_cert = self.ca.issue_cert(*names)
        self._dir = tempfile.mkdtemp(prefix="mock-authority-")
        # certifi's roots stay in the bundle so the same process can still reach real https hosts.
        self.ca_bundle = os.path.join(self._dir, "ca-bundle.pem")
        with open(certifi.where(), "rb") as roots, open(self.ca_bundle, "wb") as out:
            out.write(roots.read())
            out.write(b"\n")
            out.write(self.ca.cert_pem.bytes())

    def server_context(self) -> ssl.SSLContext:
        """An SSL context for the back-channel listener."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.server_cert.configure_cert(context)
        return context

    def cleanup(self) -> None:
        """Delete the bundle file and its directory."""
        shutil.rmtree(self._dir, ignore_errors=True)
