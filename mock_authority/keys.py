"""RSA signing keys, their self-signed certificates and the JWKS document Entra publishes."""

from __future__ import annotations

import base64
import datetime
import hashlib
from typing import Any

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID


def b64url(data: bytes) -> str:
    """Unpadded base64url, as JOSE and Entra's client_info use it."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _int_b64url(value: int) -> str:
    return b64url(value.to_bytes((value.bit_length() + 7) // 8, "big"))


class SigningKey:
    """One RS256 key with a self-signed certificate; kid = x5t like Entra's keys."""

    def __init__(self) -> None:
        self.private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.public_key = self.private_key.public_key()
        now = datetime.datetime.now(datetime.UTC)
        # Entra's JWKS carries an x5c certificate; its SHA-1 thumbprint doubles as kid/x5t.
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "mock-authority token signing")])
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self.public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=365))
            .sign(self.private_key, hashes.SHA256())
        )
        self.cert_der = cert.public_bytes(serialization.Encoding.DER)
        self.x5t = b64url(hashlib.sha1(self.cert_der).digest())
        self.kid = self.x5t

    def jwk(self, issuer: str) -> dict[str, object]:
        """The public key as one JWKS entry."""
        numbers = self.public_key.public_numbers()
        return {
            "kty": "RSA",
            "use": "sig",
            "kid": self.kid,
            "x5t": self.x5t,
            "n": _int_b64url(numbers.n),
            "e": _int_b64url(numbers.e),
            "x5c": [base64.b64encode(self.cert_der).decode("ascii")],
            "issuer": issuer,
        }

    def sign_bytes(self, signing_input: bytes) -> bytes:
        """An RS256 signature over a JWS signing input (for tokens whose header is not what was signed)."""
        return self.private_key.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())

    def sign(self, claims: dict[str, Any], extra_headers: dict[str, str] | None = None) -> str:
        """Sign claims as an RS256 JWT with typ and kid headers."""
        headers = {"typ": "JWT", "kid": self.kid, **(extra_headers or {})}
        return jwt.encode(claims, self.private_key, algorithm="RS256", headers=headers)
