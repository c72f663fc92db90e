"""The app's own credential at the token endpoint, in the form msal takes, for each kind Settings allows.

identity builds a new msal app for every token request and hands it `ClientCredential.for_msal()`, so whatever
is read here is read at that request: a rotated certificate file (checked at most every RECHECK_SECONDS), a
federated token file (read each time), a managed identity's token (msal caches it).

A certificate is sent as Entra prefers (PS256 with an `x5t#S256` header). msal 1.39 sends `x5c` (the
certificate itself) whenever it is given the certificate, and without it falls back to RS256 with a SHA-1 `x5t`
(only its .pfx-path form signs PS256 without x5c, and it re-reads the file at every request): so with
CLIENT_CERTIFICATE_SEND_X5C=false the assertion is signed here, with msal's claims, only without `x5c`.
"""

import base64
import datetime
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jwt
import msal
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12

from .errors import CredentialUnavailable
from .settings import CredentialKind, Problem, Settings

log = logging.getLogger(__name__)

RECHECK_SECONDS = 1.0  # how stale a rotated certificate file may be before the next token request notices it
EXPIRY_WARNING = datetime.timedelta(days=30)
ASSERTION_LIFETIME = 600  # seconds, as msal's own assertions
# The audience a managed identity's token must have to stand as a federated credential (Entra's token exchange).
TOKEN_EXCHANGE_RESOURCE = "api://AzureADTokenExchange"


class CertificateUnusable(Exception):
    """The certificate file cannot sign assertions; the message says what to fix."""


@dataclass(frozen=True)
class LoadedCertificate:
    """A private key and its certificate (the leaf first, then any chain the file holds)."""

    private_key: rsa.RSAPrivateKey
    chain: tuple[x509.Certificate, ...]

    @property
    def leaf(self) -> x509.Certificate:
        return self.chain[0]

    @property
    def not_after(self) -> datetime.datetime:
        return self.leaf.not_valid_after_utc

    @property
    def thumbprint(self) -> str:
        """SHA-1, in hex, as Certificates & secrets shows it (for matching by eye, not for signing)."""
        return self.leaf.fingerprint(hashes.SHA1()).hex().upper()

    @property
    def sha256(self) -> bytes:
        return self.leaf.fingerprint(hashes.SHA256())

    def chain_pem(self) -> str:
        return "".join(cert.public_bytes(serialization.Encoding.PEM).decode() for cert in self.chain)


def load_certificate(path: str, password: str = "") -> LoadedCertificate:
    """A PEM (private key and certificate, the key possibly encrypted) or a PKCS#12 (.pfx/.p12) file."""
    try:
        with open(path, "rb") as file:
            data = file.read()
    except OSError as error:
        raise CertificateUnusable(f"cannot be read: {error.strerror}.") from None
    secret = password.encode() or None
    if b"-----BEGIN" in data:
        key, certificates = _from_pem(data, secret)
    else:
        key, certificates = _from_pkcs12(data, secret)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise CertificateUnusable("holds a non-RSA key: Entra's certificate credentials (PS256) need an RSA key.")
    leaf = next((cert for cert in certificates if cert.public_key() == key.public_key()), None)
    if leaf is None:
        raise CertificateUnusable("holds a private key that belongs to none of its certificates.")
    return LoadedCertificate(key, (leaf, *(cert for cert in certificates if cert is not leaf)))


def _from_pem(data: bytes, password: bytes | None) -> tuple[Any, list[x509.Certificate]]:
    try:
        certificates = x509.load_pem_x509_certificates(data)
    except ValueError:
        raise CertificateUnusable("holds no certificate: the PEM needs the certificate next to its key.") from None
    try:
        key = serialization.load_pem_private_key(data, password)
    except TypeError as error:
        if password is None:
            raise CertificateUnusable("holds an encrypted key: set CLIENT_CERTIFICATE_PASSWORD.") from None
        if "not encrypted" not in str(error):
            raise CertificateUnusable("holds a key that cannot be loaded.") from None
        key = serialization.load_pem_private_key(data, None)  # a password the key does not need is harmless
    except ValueError as error:
        if "password" in str(error).lower() or "decrypt" in str(error).lower():
            raise CertificateUnusable("holds a key CLIENT_CERTIFICATE_PASSWORD does not decrypt.") from None
        raise CertificateUnusable("holds no private key: the PEM needs the key next to the certificate.") from None
    return key, certificates


def _from_pkcs12(data: bytes, password: bytes | None) -> tuple[Any, list[x509.Certificate]]:
    try:
        key, certificate, others = pkcs12.load_key_and_certificates(data, password)
    except ValueError:
        raise CertificateUnusable(
            "is neither a PEM nor a PKCS#12 (.pfx) file that CLIENT_CERTIFICATE_PASSWORD opens."
        ) from None
    if key is None or certificate is None:
        raise CertificateUnusable("must hold both the private key and its certificate.")
    return key, [certificate, *others]


class ClientCredential:
    """The credential of one app, as msal's `client_credential` at each token request."""

    kind: CredentialKind

    def for_msal(self) -> str | dict[str, Any]:
        raise NotImplementedError

    def certificate_expiry(self) -> datetime.datetime | None:
        """When the certificate in use expires (None unless the credential is a certificate)."""
        return None


class SecretCredential(ClientCredential):
    kind: CredentialKind = "secret"

    def __init__(self, secret: str):
        self._secret = secret

    def for_msal(self) -> str:
        return self._secret


class CertificateCredential(ClientCredential):
    """A certificate file, reloaded when it changes (key rotation without a restart)."""

    kind: CredentialKind = "certificate"

    def __init__(
        self,
        path: str,
        password: str,
        send_x5c: bool,
        recheck_seconds: float = RECHECK_SECONDS,
        now: Callable[[], datetime.datetime] = lambda: datetime.datetime.now(datetime.UTC),
    ):
        self._path, self._password, self._send_x5c = path, password, send_x5c
        self._recheck_seconds = recheck_seconds
        self._now = now
        self._lock = threading.Lock()
        self._signature = _file_signature(path)
        self._certificate = load_certificate(path, password)  # CertificateUnusable at start-up
        self._checked_at = time.monotonic()
        self._reported: set[tuple[Any, ...]] = set()
        self._announce()
        self._warn_about_expiry(self._certificate)

    def current(self) -> LoadedCertificate:
        """The certificate in use: the file's latest one that loads (a half-written new file keeps the old)."""
        with self._lock:
            if time.monotonic() - self._checked_at >= self._recheck_seconds:
                self._checked_at = time.monotonic()
                self._reload_if_changed()
            self._warn_about_expiry(self._certificate)
            return self._certificate

    def _reload_if_changed(self) -> None:
        try:
            signature = _file_signature(self._path)
        except OSError as error:
            self._report_once(
                ("missing", error.errno),
                "client certificate %s unreadable (%s): still using the one loaded before",
                self._path,
                error.strerror,
            )
            return
        if signature == self._signature:
            return
        try:
            certificate = load_certificate(self._path, self._password)
        except CertificateUnusable as unusable:
            self._report_once(
                ("unusable", *signature),
                "client certificate %s changed but %s Still using the one loaded before.",
                self._path,
                unusable,
            )
            return
        self._signature, self._certificate = signature, certificate
        self._announce()

    def _announce(self) -> None:
        certificate = self._certificate
        log.info(
            "client certificate loaded from %s: thumbprint %s, expires %s",
            self._path,
            certificate.thumbprint,
            certificate.not_after.isoformat(),
        )

    def _warn_about_expiry(self, certificate: LoadedCertificate) -> None:
        left = certificate.not_after - self._now()
        if left <= datetime.timedelta(0):
            self._report_once(
                ("expired", certificate.sha256),
                "client certificate %s (thumbprint %s) expired at %s: Entra refuses it",
                self._path,
                certificate.thumbprint,
                certificate.not_after.isoformat(),
            )
        elif left <= EXPIRY_WARNING:
            self._report_once(
                ("expiring", certificate.sha256),
                "client certificate %s (thumbprint %s) expires in "
                "%d days (%s): upload its successor and replace the file",
                self._path,
                certificate.thumbprint,
                left.days,
                certificate.not_after.isoformat(),
            )

    def _report_once(self, key: tuple[Any, ...], message: str, *args: Any) -> None:
        if key not in self._reported:
            self._reported.add(key)
            log.warning(message, *args)

    def certificate_expiry(self) -> datetime.datetime:
        return self.current().not_after

    def for_msal(self) -> dict[str, Any]:
        certificate = self.current()
        if self._send_x5c:
            # The key as an object: pyjwt would otherwise parse a PEM again at every token request.
            return {"private_key": certificate.private_key, "public_certificate": certificate.chain_pem()}
        return {"client_assertion": _CertificateAssertion(certificate)}


class _CertificateAssertion:
    """A client assertion as msal signs one (RFC 7523; PS256, x5t#S256), without the x5c header.

    Taking a positional argument, it is called with msal's context: the client id and the token endpoint (the
    assertion's audience; msal 1.39 oauth2cli `_invoke_assertion_callable`, pinned by tests/e2e/test_credentials)."""

    def __init__(self, certificate: LoadedCertificate):
        self._certificate = certificate

    def __call__(self, context: dict[str, Any]) -> str:
        now = int(time.time())
        claims = {
            "aud": context["token_endpoint"],
            "iss": context["client_id"],
            "sub": context["client_id"],
            "iat": now,
            "exp": now + ASSERTION_LIFETIME,
            "jti": str(uuid.uuid4()),
        }
        thumbprint = base64.urlsafe_b64encode(self._certificate.sha256).rstrip(b"=").decode()
        return jwt.encode(claims, self._certificate.private_key, "PS256", headers={"x5t#S256": thumbprint})


class AssertionFileCredential(ClientCredential):
    """A federated token file (AKS workload identity, or any OIDC issuer Entra trusts), read at each request:
    whoever writes it replaces the token before it expires."""

    kind: CredentialKind = "assertion_file"

    def __init__(self, path: str):
        self._path = path

    def assertion(self) -> str:
        try:
            with open(self._path, encoding="utf-8") as file:
                token = file.read().strip()
        except (OSError, UnicodeDecodeError) as error:
            log.warning("federated token file %s unreadable: %s", self._path, type(error).__name__)
            raise CredentialUnavailable(
                503, "CLIENT_ASSERTION_FILE", "The federated token file (CLIENT_ASSERTION_FILE) cannot be read."
            ) from None
        if not token:
            log.warning("federated token file %s is empty", self._path)
            raise CredentialUnavailable(
                503, "CLIENT_ASSERTION_FILE", "The federated token file (CLIENT_ASSERTION_FILE) is empty."
            )
        return token

    def for_msal(self) -> dict[str, Any]:
        return {"client_assertion": self.assertion}


class ManagedIdentityCredential(ClientCredential):
    """A user-assigned managed identity's token for the token exchange, as the app's client assertion (the
    managed identity is a federated credential of the app). msal finds the endpoint (IDENTITY_ENDPOINT and
    IDENTITY_HEADER on App Service, IMDS on a VM) and caches the token until shortly before it expires."""

    kind: CredentialKind = "managed_identity"

    def __init__(self, client_id: str, http: requests.Session):
        self._client = msal.ManagedIdentityClient(
            msal.UserAssignedManagedIdentity(client_id=client_id), http_client=http, token_cache=msal.TokenCache()
        )

    def assertion(self) -> str:
        # The page names the endpoint's kind; the log also has its address.
        endpoint = os.environ.get("IDENTITY_ENDPOINT")
        named = "The managed identity endpoint (" + ("IDENTITY_ENDPOINT" if endpoint else "IMDS") + ")"
        try:
            result = self._client.acquire_token_for_client(resource=TOKEN_EXCHANGE_RESOURCE)
        except requests.Timeout:
            log.warning("managed identity endpoint %s timed out", endpoint or "IMDS")
            raise CredentialUnavailable(504, "MANAGED_IDENTITY_CLIENT_ID", f"{named} did not answer in time.") from None
        except (requests.RequestException, ValueError) as error:  # unreachable, or an answer that is not JSON
            log.warning("managed identity endpoint %s failed: %s", endpoint or "IMDS", type(error).__name__)
            raise CredentialUnavailable(502, "MANAGED_IDENTITY_CLIENT_ID", f"{named} could not be used.") from None
        if "access_token" not in result:
            log.warning(
                "managed identity endpoint %s gave no token: %s %s",
                endpoint or "IMDS",
                result.get("error"),
                str(result.get("error_description") or "")[:300],
            )
            code = str(result.get("error") or "no token")[:100]
            raise CredentialUnavailable(
                502,
                "MANAGED_IDENTITY_CLIENT_ID",
                f"{named} gave no token for the app ({code}): check that MANAGED_IDENTITY_CLIENT_ID is the client "
                "id of a managed identity assigned to this resource.",
            )
        return str(result["access_token"])

    def for_msal(self) -> dict[str, Any]:
        return {"client_assertion": self.assertion}


def _file_signature(path: str) -> tuple[int, int, int]:
    status = os.stat(path)
    return status.st_ino, status.st_size, status.st_mtime_ns


def credential_problems(settings: Settings, now: datetime.datetime | None = None) -> list[Problem]:
    """What makes the configured credential unusable before any request (a certificate that cannot work)."""
    if settings.credential_kind != "certificate":
        return []
    try:
        certificate = load_certificate(settings.client_certificate_path, settings.client_certificate_password)
    except CertificateUnusable as unusable:
        return [Problem("CLIENT_CERTIFICATE_PATH", str(unusable))]
    if certificate.not_after <= (now or datetime.datetime.now(datetime.UTC)):
        return [
            Problem(
                "CLIENT_CERTIFICATE_PATH",
                f"holds a certificate (thumbprint {certificate.thumbprint}) that expired on "
                f"{certificate.not_after:%Y-%m-%d}: upload a new one under Certificates & secrets and replace "
                "the file.",
            )
        ]
    return []


def client_credential(settings: Settings, http: requests.Session) -> ClientCredential:
    """The credential Settings name (check credential_problems first: a bad certificate raises here)."""
    kind = settings.credential_kind
    if kind == "certificate":
        return CertificateCredential(
            settings.client_certificate_path,
            settings.client_certificate_password,
            settings.client_certificate_send_x5c,
        )
    if kind == "assertion_file":
        return AssertionFileCredential(settings.client_assertion_file)
    if kind == "managed_identity":
        return ManagedIdentityCredential(settings.managed_identity_client_id, http)
    return SecretCredential(settings.client_secret)
