"""App credentials other than the secret: certificates, federated identity credentials, secret-less apps, and
the user-assigned managed identities an App Service would hold (reference section 3)."""

from __future__ import annotations

import datetime
import secrets
import threading
import uuid
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.hazmat.primitives import hashes

# The audience Entra asks external issuers to put in federated tokens, and the app id that URI names: a managed
# identity's token for resource api://AzureADTokenExchange carries the GUID as aud, while the federated credential
# is registered with the URI (Entra maps one to the other).
TOKEN_EXCHANGE_AUDIENCE = "api://AzureADTokenExchange"
TOKEN_EXCHANGE_APP_ID = "fb60f99c-7a34-4190-8149-302f77469936"


@dataclass(frozen=True)
class RegisteredCertificate:
    """A certificate uploaded to an app; with subject_name_issuer, any certificate of the same subject and issuer
    sent in x5c is accepted too (Subject Name/Issuer auth)."""

    client_id: str
    certificate: x509.Certificate
    subject_name_issuer: bool = False

    @property
    def sha1(self) -> bytes:
        return self.certificate.fingerprint(hashes.SHA1())

    @property
    def sha256(self) -> bytes:
        return self.certificate.fingerprint(hashes.SHA256())

    @property
    def not_before(self) -> datetime.datetime:
        return self.certificate.not_valid_before_utc

    @property
    def not_after(self) -> datetime.datetime:
        return self.certificate.not_valid_after_utc


@dataclass(frozen=True)
class FederatedCredential:
    """A federated identity credential: tokens from issuer about subject, for audience, stand for the app."""

    client_id: str
    issuer: str
    subject: str
    audience: str = TOKEN_EXCHANGE_AUDIENCE

    def accepts_audience(self, audience: str) -> bool:
        """The registered audience, or the token-exchange app id when the URI form is registered."""
        if audience == self.audience:
            return True
        return self.audience == TOKEN_EXCHANGE_AUDIENCE and audience == TOKEN_EXCHANGE_APP_ID


@dataclass(frozen=True)
class ManagedIdentity:
    """A user-assigned managed identity: its client id, its service principal's object id (the sub of its tokens)
    and the X-IDENTITY-HEADER value the App Service endpoint demands."""

    client_id: str
    principal_id: str
    identity_header: str = field(repr=False)


def load_certificate(cert_pem: bytes) -> x509.Certificate:
    """The first certificate in a PEM blob (a key alongside it is ignored)."""
    start = cert_pem.find(b"-----BEGIN CERTIFICATE-----")
    if start < 0:
        raise ValueError("no PEM certificate found")
    return x509.load_pem_x509_certificate(cert_pem[start:])


class CredentialRegistry:
    """Thread-safe registry of the credentials above; MockState makes a new one on each reset."""

    def __init__(self, identity_header: str) -> None:
        self.identity_header = identity_header
        self._lock = threading.Lock()
        self._certificates: list[RegisteredCertificate] = []
        self._federated: list[FederatedCredential] = []
        self._identities: dict[str, ManagedIdentity] = {}
        self._secretless: set[str] = set()

    def add_certificate(
        self, client_id: str, cert_pem: bytes, subject_name_issuer: bool = False
    ) -> RegisteredCertificate:
        registered = RegisteredCertificate(client_id, load_certificate(cert_pem), subject_name_issuer)
        with self._lock:
            self._certificates.append(registered)
        return registered

    def certificates_for(self, client_id: str) -> list[RegisteredCertificate]:
        with self._lock:
            return [c for c in self._certificates if c.client_id == client_id]

    def add_federated_credential(self, credential: FederatedCredential) -> FederatedCredential:
        with self._lock:
            self._federated.append(credential)
        return credential

    def federated_credentials_for(self, client_id: str) -> list[FederatedCredential]:
        with self._lock:
            return [f for f in self._federated if f.client_id == client_id]

    def allow_client_secret(self, client_id: str, allowed: bool) -> None:
        with self._lock:
            if allowed:
                self._secretless.discard(client_id)
            else:
                self._secretless.add(client_id)

    def secret_allowed(self, client_id: str) -> bool:
        with self._lock:
            return client_id not in self._secretless

    def add_managed_identity(
        self, identity: ManagedIdentity | None = None, client_id: str | None = None
    ) -> ManagedIdentity:
        """Add an identity (a given one, e.g. the configured one re-added after a reset, or a new one)."""
        if identity is None:
            identity = ManagedIdentity(client_id or str(uuid.uuid4()), str(uuid.uuid4()), self.identity_header)
        with self._lock:
            if identity.client_id in self._identities:
                raise ValueError(f"a managed identity with client id {identity.client_id} already exists")
            self._identities[identity.client_id] = identity
        return identity

    def find_managed_identity(self, client_id: str | None, object_id: str | None) -> ManagedIdentity | None:
        """By client id or by principal (object) id, case-insensitively like GUIDs."""
        with self._lock:
            for identity in self._identities.values():
                if client_id and identity.client_id.lower() == client_id.lower():
                    return identity
                if object_id and identity.principal_id.lower() == object_id.lower():
                    return identity
        return None

    @property
    def managed_identities(self) -> list[ManagedIdentity]:
        with self._lock:
            return list(self._identities.values())


def new_identity_header() -> str:
    """The secret App Service puts in IDENTITY_HEADER."""
    return secrets.token_urlsafe(32)


# The mock's own workload-identity issuer (like an AKS cluster's OIDC issuer), under the back channel.
WORKLOAD_ISSUER_PATH = "/workload-issuer"


def workload_token_claims(*, issuer: str, subject: str, audience: str, now: float, lifetime: int) -> dict[str, object]:
    """Claims of a projected service-account token as Kubernetes issues it (aud is a list there)."""
    iat = int(now)
    return {
        "aud": [audience],
        "exp": iat + int(lifetime),
        "iat": iat,
        "nbf": iat,
        "iss": issuer,
        "sub": subject,
        "jti": str(uuid.uuid4()),
    }
