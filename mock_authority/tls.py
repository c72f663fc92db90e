"""Throwaway TLS material: a trustme CA, a server certificate for the mock's host names and a CA bundle file."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterable

import certifi
import trustme

from .clouds import cloud_for


def tls_names(host: str) -> tuple[str, ...]:
    """Names besides the host the mock answers for over TLS: a national cloud's Graph host (its discovery
    documents send apps there; fake DNS maps it here)."""
    graph = cloud_for(host).msgraph_host
    return (graph,) if graph else ()


class TlsMaterial:
    """A CA made at start, a server certificate for the host, localhost and 127.0.0.1 (and any extra names),
    and a bundle for REQUESTS_CA_BUNDLE."""

    def __init__(self, host: str = "localhost", extra_names: Iterable[str] = ()) -> None:
        self.ca = trustme.CA(organization_name="mock-authority throwaway CA")
        names = sorted({host, "localhost", "127.0.0.1", *extra_names})
        self.server_cert = self.ca.issue_cert(*names)
        self._dir = tempfile.mkdtemp(prefix="mock-authority-")
        # certifi's roots stay in the bundle so the same process can still reach real https hosts.
        self.ca_bundle = os.path.join(self._dir, "ca-bundle.pem")
        with open(certifi.where(), "rb") as roots, open(self.ca_bundle, "wb") as out:
            out.write(roots.read())
            out.write(b"\n")
            out.write(self.ca.cert_pem.bytes())

    def server_files(self) -> tuple[str, str]:
        """(certificate chain, private key) as PEM files in the bundle's directory, for servers that load files."""
        cert_path = os.path.join(self._dir, "server-cert.pem")
        key_path = os.path.join(self._dir, "server-key.pem")
        with open(cert_path, "wb") as out:
            for pem in self.server_cert.cert_chain_pems:
                out.write(pem.bytes())
        fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(self.server_cert.private_key_pem.bytes())
        return cert_path, key_path

    def cleanup(self) -> None:
        """Delete the bundle, the server's key and certificate files, and their directory."""
        shutil.rmtree(self._dir, ignore_errors=True)
