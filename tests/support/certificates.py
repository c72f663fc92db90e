"""Throwaway client certificates for tests: self-signed (or signed by a throwaway CA), as PEM, encrypted PEM and
PFX, valid, expired or expiring in N days."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID


@dataclass(frozen=True)
class ClientCertificate:
    """A certificate and its private key."""

    certificate: x509.Certificate
    key: rsa.RSAPrivateKey

    @property
    def cert_pem(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.PEM)

    @property
    def key_pem(self) -> bytes:
        return self.key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )

    def encrypted_key_pem(self, passphrase: str) -> bytes:
        return self.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(passphrase.encode()),
        )

    def pfx(self, passphrase: str) -> bytes:
        """PKCS#12 with the key and the certificate."""
        return pkcs12.serialize_key_and_certificates(
            b"client", self.key, self.certificate, None, serialization.BestAvailableEncryption(passphrase.encode())
        )

    @property
    def sha1_hex(self) -> str:
        """The thumbprint the portal shows (what msal's "thumbprint" takes)."""
        return self.certificate.fingerprint(hashes.SHA1()).hex().upper()

    @property
    def sha256_hex(self) -> str:
        return self.certificate.fingerprint(hashes.SHA256()).hex().upper()

    def write(self, directory: Path, passphrase: str = "pfx-passphrase") -> dict[str, Path]:
        """Write cert.pem, key.pem (plain), key.encrypted.pem and client.pfx (both under passphrase)."""
        files = {
            "cert": (directory / "cert.pem", self.cert_pem),
            "key": (directory / "key.pem", self.key_pem),
            "encrypted_key": (directory / "key.encrypted.pem", self.encrypted_key_pem(passphrase)),
            "pfx": (directory / "client.pfx", self.pfx(passphrase)),
        }
        for path, content in files.values():
            path.write_bytes(content)
        return {name: path for name, (path, _) in files.items()}


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def make_certificate(
    common_name: str = "mock-authority test client",
    *,
    days_valid: float = 365,
    expired: bool = False,
    issuer: ClientCertificate | None = None,
    ca: bool = False,
) -> ClientCertificate:
    """A 2048-bit RSA certificate valid from yesterday for days_valid days (expired: ended yesterday), self-signed
    or signed by issuer (a certificate made with ca=True, for Subject Name/Issuer tests)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = datetime.datetime.now(datetime.UTC)
    if expired:
        not_before, not_after = now - datetime.timedelta(days=30), now - datetime.timedelta(days=1)
    else:
        not_before, not_after = now - datetime.timedelta(days=1), now + datetime.timedelta(days=days_valid)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(issuer.certificate.subject if issuer else _name(common_name))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
    )
    if ca:
        builder = builder.add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
    certificate = builder.sign(issuer.key if issuer else key, hashes.SHA256())
    return ClientCertificate(certificate, key)
