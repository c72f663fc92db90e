"""Client authentication at the token endpoint, as Entra does it (reference section 3): a secret
(client_secret_post or client_secret_basic), a certificate-signed assertion (private_key_jwt) or a federated token
from a trusted issuer (workload identity federation, a managed identity's token among them).

Each refusal carries Entra's AADSTS code and wording; codes not confirmed against Entra say so."""

from __future__ import annotations

import base64
import binascii
import datetime
import urllib.parse
from collections.abc import Mapping
from typing import Any

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from flask import g, request
from jwt.types import Options
from werkzeug.datastructures import MultiDict

from .credentials import FederatedCredential, RegisteredCertificate
from .errors import EntraError
from .keys import SigningKey
from .models import Client
from .runtime import current_state, current_urls
from .workload_issuer import issuer_url as workload_issuer_url

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
SIGNING_ALGORITHMS = ("RS256", "PS256")
CLOCK_SKEW = 300  # seconds either side of the assertion's nbf/exp that Entra tolerates
CERT_DOCS = "Review the documentation at https://learn.microsoft.com/entra/identity-platform/certificate-credentials ."
FEDERATION_DOCS = (
    "Check your federated identity credential Subject, Audience and Issuer against the presented assertion. "
    "https://learn.microsoft.com/entra/workload-id/workload-identity-federation"
)
# Signature only: the times are checked on the mock's clock, the audience and issuer by hand.
_SIGNATURE_ONLY: Options = {
    "verify_signature": True,
    "verify_exp": False,
    "verify_nbf": False,
    "verify_iat": False,
    "verify_aud": False,
    "verify_iss": False,
}
Form = MultiDict[str, str]
Claims = dict[str, Any]


def _invalid_client(code: int, text: str) -> EntraError:
    return EntraError("invalid_client", code, text, status=401)


def _malformed() -> EntraError:
    # AADSTS50027 answers a client_assertion that is not a JWT (panva/openid-client#348).
    return EntraError("invalid_request", 50027, "JWT token is invalid or malformed.")


def credential_kind() -> str | None:
    """How this request's client authenticated: "secret", "certificate" or "federated" (appidacr 1, 2, 2)."""
    return g.get("client_credential")


def authenticate_client(form: Form) -> Client:
    """Resolve and authenticate the client: client_assertion when sent, else the secret (body or Basic)."""
    state = current_state()
    client_id, secret = form.get("client_id"), form.get("client_secret")
    auth = request.authorization
    if auth is not None and auth.type == "basic":
        # RFC 6749 2.3.1: Basic credentials are form-urlencoded before base64.
        basic_id = urllib.parse.unquote_plus(auth.username or "")
        if client_id and client_id != basic_id:
            raise EntraError(
                "invalid_request", 900144, "client_id in the body does not match the Authorization header."
            )
        client_id, secret = basic_id, urllib.parse.unquote_plus(auth.password or "")
    g.client_id = client_id
    if not client_id:
        raise EntraError(
            "invalid_request", 900144, "The request body must contain the following parameter: 'client_id'."
        )
    client = state.clients.get(client_id)
    if client is None:
        raise EntraError(
            "unauthorized_client",
            700016,
            f"Application with identifier '{client_id}' was not found in the directory '{state.config.tenant_id}'.",
        )
    assertion = form.get("client_assertion")
    if assertion:
        if form.get("client_assertion_type") != ASSERTION_TYPE:
            # Entra's code for a wrong assertion type is not confirmed; 900144 names the parameter it needs.
            raise EntraError(
                "invalid_request",
                900144,
                f"The request body must contain the following parameter: 'client_assertion_type' ({ASSERTION_TYPE}).",
            )
        g.client_credential = _verify_assertion(client, assertion)
        return client
    if not secret:
        # Observed as 401 invalid_client (the reference table lists invalid_request).
        raise _invalid_client(
            7000218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'."
        )
    # An app without a secret (allow_client_secret(..., False)) refuses any secret as a wrong one.
    if not state.credentials.secret_allowed(client_id) or not client.secret_matches(secret):
        raise _invalid_client(
            7000215,
            "Invalid client secret provided. Ensure the secret being sent in the request "
            "is the client secret value, not the client secret ID, for a secret added to "
            f"app '{client_id}'.",
        )
    g.client_credential = "secret"
    return client


def _verify_assertion(client: Client, assertion: str) -> str:
    """Verify a client_assertion; returns "certificate" or "federated"."""
    try:
        header = jwt.get_unverified_header(assertion)
        claims: Claims = jwt.decode(assertion, options={"verify_signature": False})
    except jwt.PyJWTError:
        raise _malformed() from None
    if header.get("alg") not in SIGNING_ALGORITHMS or not isinstance(claims.get("iss"), str):
        raise _malformed()
    # The app signs its own assertions (iss = sub = client id); a token from another issuer about another subject
    # is a federated one (an iss alone gone wrong is the app's own assertion with a wrong iss: 700021).
    federated = current_state().credentials.federated_credentials_for(client.client_id)
    if claims["iss"] != client.client_id and (
        any(f.issuer == claims["iss"] for f in federated) or claims.get("sub") != client.client_id
    ):
        _verify_federated(client, assertion, header, claims, federated)
        return "federated"
    _verify_certificate_assertion(client, assertion, header, claims)
    return "certificate"


# -- certificate credentials (private_key_jwt) -------------------------------------------------------------


def _thumbprint(header: Mapping[str, Any], name: str) -> bytes | None:
    """A base64url thumbprint header, padded or not (msal pads it)."""
    value = header.get(name)
    if not isinstance(value, str):
        return None
    try:
        return base64.urlsafe_b64decode(value.rstrip("=") + "=" * (-len(value.rstrip("=")) % 4))
    except (binascii.Error, ValueError):
        raise _malformed() from None


def _x5c_leaf(header: Mapping[str, Any]) -> x509.Certificate | None:
    chain = header.get("x5c")
    if not isinstance(chain, list) or not chain or not isinstance(chain[0], str):
        return None
    try:
        return x509.load_der_x509_certificate(base64.b64decode("".join(chain[0].split())))
    except ValueError:
        raise _malformed() from None


def _stamp(moment: datetime.datetime) -> str:
    return moment.strftime("%m/%d/%Y %H:%M:%S")


def _key_not_found(client_id: str, thumbprint: bytes | None) -> EntraError:
    shown = thumbprint.hex().upper() if thumbprint else ""
    return _invalid_client(
        700027,
        f"Client assertion contains an invalid signature. [Reason - The key was not found., Thumbprint of key "
        f"used by client: '{shown}', Please visit the Azure Portal, Graph Explorer or directly use MS Graph to see "
        f"configured keys for app Id '{client_id}'.]",
    )


def _signing_certificate(client_id: str, header: Mapping[str, Any]) -> tuple[x509.Certificate, bytes]:
    """The certificate the header names: by x5t#S256 or x5t among the app's certificates, else the x5c leaf
    when a Subject Name/Issuer registration matches it. Returns it and the thumbprint Entra would print."""
    registered = current_state().credentials.certificates_for(client_id)
    sha256, sha1 = _thumbprint(header, "x5t#S256"), _thumbprint(header, "x5t")
    match: RegisteredCertificate | None = next(
        (c for c in registered if (sha256 and c.sha256 == sha256) or (sha1 and c.sha1 == sha1)), None
    )
    if match is not None:
        return match.certificate, match.sha1
    leaf = _x5c_leaf(header)
    if leaf is not None and any(
        c.subject_name_issuer and c.certificate.subject == leaf.subject and c.certificate.issuer == leaf.issuer
        for c in registered
    ):
        return leaf, leaf.fingerprint(hashes.SHA1())
    raise _key_not_found(client_id, sha1 or sha256)


def _verify_certificate_assertion(client: Client, assertion: str, header: Mapping[str, Any], claims: Claims) -> None:
    if claims.get("iss") != client.client_id or claims.get("sub") != client.client_id:
        raise _invalid_client(
            700021, f"Client assertion application identifier doesn't match 'client_id' parameter. {CERT_DOCS}"
        )
    certificate, thumbprint = _signing_certificate(client.client_id, header)
    now = datetime.datetime.fromtimestamp(current_state().now(), datetime.UTC)
    start, end = certificate.not_valid_before_utc, certificate.not_valid_after_utc
    found = f"Found key 'Start={_stamp(start)}, End={_stamp(end)}'"
    if not start <= now <= end:
        # Entra refuses a registered key outside its validity with this reason (seen for clock drift too).
        raise _invalid_client(
            700027,
            f"Client assertion contains an invalid signature. [Reason - The key used is expired., Thumbprint of "
            f"key used by client: '{thumbprint.hex().upper()}', {found}]",
        )
    public_key = certificate.public_key()
    if not isinstance(public_key, RSAPublicKey):
        raise _key_not_found(client.client_id, thumbprint)
    try:
        jwt.decode(assertion, public_key, algorithms=[header["alg"]], options=_SIGNATURE_ONLY)
    except jwt.InvalidSignatureError:
        raise _invalid_client(
            700027,
            f"Client assertion contains an invalid signature. [Reason - Key was found, but use of the key to verify "
            f"the signature failed., Thumbprint of key used by client: '{thumbprint.hex().upper()}', {found}]",
        ) from None
    except jwt.PyJWTError:
        raise _malformed() from None
    token_endpoint = current_urls().base_url + request.path
    if claims.get("aud") != token_endpoint:
        raise _invalid_client(700023, f"Client assertion audience claim does not match Realm issuer. {CERT_DOCS}")
    _check_time_range(claims, CERT_DOCS)


def _iso(ts: float) -> str:
    return datetime.datetime.fromtimestamp(ts, datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.0000000Z")


def _check_time_range(claims: Claims, docs: str) -> None:
    """nbf (absent: the epoch) and exp against the mock's clock, with Entra's skew. A jti seen before is fine:
    msal reuses one assertion for up to 9 minutes."""
    now = current_state().now()
    nbf, exp = claims.get("nbf", 0), claims.get("exp")
    if not isinstance(nbf, int | float) or not isinstance(exp, int | float):
        raise _malformed()
    if not nbf - CLOCK_SKEW <= now <= exp + CLOCK_SKEW:
        raise _invalid_client(
            700024,
            f"Client assertion is not within its valid time range. Current time: {_iso(now)}, assertion valid "
            f"from {_iso(nbf)}, expiry time of assertion {_iso(exp)}. {docs}",
        )


# -- federated credentials (workload identity federation) ----------------------------------------------------


def _issuer_keys(issuer: str) -> list[SigningKey]:
    """The signing keys of the issuers the mock hosts: its tenant (managed identities) and its workload issuer.
    The mock fetches no one else's keys, so no request leaves this machine."""
    state = current_state()
    if issuer == workload_issuer_url():
        return [state.workload_issuer_key]
    if issuer == current_urls().issuer_for(state.config.tenant_id):
        return state.published_keys()
    return []


def _verify_federated(
    client: Client,
    assertion: str,
    header: Mapping[str, Any],
    claims: Claims,
    federated: list[FederatedCredential],
) -> None:
    """Issuer, signature, time, subject, audience: matched case-sensitively against the app's federated
    credentials (Entra's matching became case-sensitive in 2024-25, Azure/login#517)."""
    issuer = claims["iss"]
    by_issuer = [f for f in federated if f.issuer == issuer]
    if not by_issuer:
        # Wording as observed (Azure/azure-workload-identity#1200).
        raise _invalid_client(
            700211,
            f"No matching federated identity record found for presented assertion issuer '{issuer}'. "
            f"Please check your federated identity credential Subject, Audience and Issuer against the presented "
            f"assertion. https://learn.microsoft.com/entra/workload-id/workload-identity-federation",
        )
    key = next((k for k in _issuer_keys(issuer) if k.kid == header.get("kid")), None)
    try:
        if key is None:
            raise jwt.InvalidSignatureError("no key of the issuer has this kid")
        jwt.decode(assertion, key.public_key, algorithms=list(SIGNING_ALGORITHMS), options=_SIGNATURE_ONLY)
    except jwt.InvalidSignatureError:
        # Entra's code for a federated token its issuer did not sign is not confirmed; 700027 is its signature code.
        raise _invalid_client(
            700027,
            f"Client assertion contains an invalid signature. [Reason - The key was not found at the issuer "
            f"'{issuer}'.]",
        ) from None
    except jwt.PyJWTError:
        raise _malformed() from None
    _check_time_range(claims, FEDERATION_DOCS)
    subject = claims.get("sub")
    by_subject = [f for f in by_issuer if f.subject == subject]
    if not by_subject:
        # Wording as observed (dotnet/maui#31978, Azure/azure-workload-identity#1200).
        raise _invalid_client(
            700213,
            f"No matching federated identity record found for presented assertion subject '{subject}'. "
            f"{FEDERATION_DOCS}",
        )
    audiences = claims.get("aud")
    presented = [audiences] if isinstance(audiences, str) else audiences if isinstance(audiences, list) else []
    if not any(f.accepts_audience(a) for f in by_subject for a in presented if isinstance(a, str)):
        shown = " ".join(str(a) for a in presented)
        # Wording as observed in a token-endpoint error body (AADSTS700212 with error invalid_client).
        raise _invalid_client(
            700212,
            f"No matching federated identity record found for presented assertion audience '{shown}'. "
            f"{FEDERATION_DOCS}",
        )
