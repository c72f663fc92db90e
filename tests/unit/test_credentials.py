"""The app's own credential: certificate files (PEM, encrypted PEM, PFX) loaded, reloaded when rotated and checked
for expiry; federated token files read fresh; Entra's refusals of a credential named with their fix."""

import base64
import datetime
import logging
import os

import jwt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

import app_config
from app import create_app
from tests.support.apps import GOOD_SETTINGS
from tests.support.certificates import ClientCertificate, make_certificate
from webapp.credentials import (
    AssertionFileCredential,
    CertificateCredential,
    CertificateUnusable,
    credential_problems,
    load_certificate,
)
from webapp.errors import MISCONFIGURED, CredentialUnavailable, SignInFailure

UTC = datetime.UTC
TOKEN_ENDPOINT = "https://login.example.test/tenant/oauth2/v2.0/token"


def pem_file(path, client: ClientCertificate, password: str = "", key_first: bool = True) -> str:
    key_pem = client.encrypted_key_pem(password) if password else client.key_pem
    path.write_bytes(key_pem + client.cert_pem if key_first else client.cert_pem + key_pem)
    return str(path)


def pfx_file(path, client: ClientCertificate, password: str) -> str:
    path.write_bytes(client.pfx(password))
    return str(path)


def ec_certificate() -> ClientCertificate:
    """A self-signed certificate with an EC key (Entra's certificate credentials sign with RSA)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ec")])
    now = datetime.datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    return ClientCertificate(certificate, key)


@pytest.fixture(scope="module")
def certificate() -> ClientCertificate:
    return make_certificate()


@pytest.mark.parametrize("key_first", [True, False])
def test_a_pem_with_key_and_certificate_loads(tmp_path, certificate, key_first):
    loaded = load_certificate(pem_file(tmp_path / "app.pem", certificate, key_first=key_first))
    assert loaded.leaf == certificate.certificate and loaded.thumbprint == certificate.sha1_hex
    assert loaded.not_after == certificate.certificate.not_valid_after_utc
    assert loaded.chain_pem().encode() == certificate.cert_pem


def test_an_encrypted_pem_needs_its_password(tmp_path, certificate):
    path = pem_file(tmp_path / "app.pem", certificate, password="correct horse")
    assert load_certificate(path, "correct horse").leaf == certificate.certificate
    with pytest.raises(CertificateUnusable, match="set CLIENT_CERTIFICATE_PASSWORD"):
        load_certificate(path)
    with pytest.raises(CertificateUnusable, match="does not decrypt"):
        load_certificate(path, "wrong")


def test_a_password_an_unencrypted_pem_does_not_need_is_harmless(tmp_path, certificate):
    assert load_certificate(pem_file(tmp_path / "app.pem", certificate), "spare").leaf == certificate.certificate


def test_a_pfx_loads_with_its_password(tmp_path, certificate):
    loaded = load_certificate(pfx_file(tmp_path / "app.pfx", certificate, "pfx password"), "pfx password")
    assert loaded.leaf == certificate.certificate and isinstance(loaded.private_key, rsa.RSAPrivateKey)


def test_a_pfx_with_the_wrong_password_is_named(tmp_path, certificate):
    path = pfx_file(tmp_path / "app.p12", certificate, "right")
    with pytest.raises(CertificateUnusable, match="CLIENT_CERTIFICATE_PASSWORD"):
        load_certificate(path, "wrong")


def test_files_that_cannot_sign_are_named(tmp_path, certificate):
    cert_only = tmp_path / "cert.pem"
    cert_only.write_bytes(certificate.cert_pem)
    with pytest.raises(CertificateUnusable, match="no private key"):
        load_certificate(str(cert_only))
    key_only = tmp_path / "key.pem"
    key_only.write_bytes(certificate.key_pem)
    with pytest.raises(CertificateUnusable, match="no certificate"):
        load_certificate(str(key_only))
    mismatch = tmp_path / "mismatch.pem"
    mismatch.write_bytes(certificate.key_pem + make_certificate().cert_pem)
    with pytest.raises(CertificateUnusable, match="belongs to none of its certificates"):
        load_certificate(str(mismatch))
    with pytest.raises(CertificateUnusable, match="RSA"):
        load_certificate(pem_file(tmp_path / "ec.pem", ec_certificate()))
    with pytest.raises(CertificateUnusable, match="cannot be read"):
        load_certificate(str(tmp_path / "missing.pem"))


def test_the_assertion_without_x5c_is_ps256_with_the_sha256_thumbprint(tmp_path, certificate):
    # Entra's certificate credentials: a JWT with aud = the token endpoint, iss = sub = client id, signed by the
    # certificate's key, naming it by x5t#S256 (learn.microsoft.com/entra/identity-platform/certificate-credentials).
    credential = CertificateCredential(pem_file(tmp_path / "app.pem", certificate), "", send_x5c=False)
    signer = credential.for_msal()["client_assertion"]
    assertion = signer({"client_id": "the-client", "token_endpoint": TOKEN_ENDPOINT})
    header = jwt.get_unverified_header(assertion)
    assert header["alg"] == "PS256" and "x5c" not in header and "x5t" not in header
    sha256 = certificate.certificate.fingerprint(hashes.SHA256())
    assert header["x5t#S256"] == base64.urlsafe_b64encode(sha256).rstrip(b"=").decode()
    public_key = certificate.certificate.public_key()
    claims = jwt.decode(assertion, public_key, algorithms=["PS256"], audience=TOKEN_ENDPOINT)
    assert claims["iss"] == claims["sub"] == "the-client" and claims["exp"] - claims["iat"] == 600 and claims["jti"]


def test_with_x5c_msal_gets_the_key_and_the_certificate(tmp_path, certificate):
    credential = CertificateCredential(pem_file(tmp_path / "app.pem", certificate), "", send_x5c=True)
    given = credential.for_msal()
    assert given["public_certificate"].encode() == certificate.cert_pem
    assert given["private_key"].public_key() == certificate.key.public_key()


def test_a_rotated_certificate_file_is_used_at_the_next_check(tmp_path, certificate):
    path = pem_file(tmp_path / "app.pem", certificate)
    credential = CertificateCredential(path, "", send_x5c=False, recheck_seconds=0)
    new = make_certificate()
    os.replace(pem_file(tmp_path / "new.pem", new), path)  # how a secret volume or a deploy swaps it: a new inode
    assert credential.current().leaf == new.certificate, "a rotated certificate must be used without a restart"
    newer = make_certificate()  # rewritten in place, the same size: the modification time still tells
    pem_file(tmp_path / "app.pem", newer)
    os.utime(path, ns=(0, os.stat(path).st_mtime_ns + 1_000_000_000))
    assert credential.current().leaf == newer.certificate


def test_the_file_is_not_checked_again_before_its_interval(tmp_path, certificate):
    path = pem_file(tmp_path / "app.pem", certificate)
    credential = CertificateCredential(path, "", send_x5c=False, recheck_seconds=3600)
    os.replace(pem_file(tmp_path / "new.pem", make_certificate()), path)
    assert credential.current().leaf == certificate.certificate, "the file is stat'ed at most once per interval"


def test_a_half_written_rotation_keeps_the_old_certificate(tmp_path, certificate, caplog):
    path = pem_file(tmp_path / "app.pem", certificate)
    credential = CertificateCredential(path, "", send_x5c=False, recheck_seconds=0)
    (tmp_path / "app.pem").write_bytes(b"-----BEGIN PRIVATE KEY-----\ntruncat")
    with caplog.at_level(logging.WARNING, logger="webapp.credentials"):
        assert credential.current().leaf == certificate.certificate
        assert credential.current().leaf == certificate.certificate
    assert len([r for r in caplog.records if "still using" in r.getMessage().lower()]) == 1, "warned once"
    os.unlink(path)
    assert credential.current().leaf == certificate.certificate, "a vanished file keeps the certificate in use too"


def test_a_certificate_expiring_within_30_days_is_warned_about_once(tmp_path, caplog):
    expiring = make_certificate(days_valid=10)
    with caplog.at_level(logging.WARNING, logger="webapp.credentials"):
        credential = CertificateCredential(pem_file(tmp_path / "app.pem", expiring), "", send_x5c=False)
        credential.for_msal()
        credential.for_msal()
    warnings = [r.getMessage() for r in caplog.records if "expires in" in r.getMessage()]
    assert len(warnings) == 1 and expiring.sha1_hex in warnings[0] and "9 days" in warnings[0], warnings
    assert credential.certificate_expiry() == expiring.certificate.not_valid_after_utc


def test_a_certificate_expiring_later_is_not_warned_about(tmp_path, certificate, caplog):
    with caplog.at_level(logging.WARNING, logger="webapp.credentials"):
        CertificateCredential(pem_file(tmp_path / "app.pem", certificate), "", send_x5c=False).for_msal()
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def certificate_settings(path: str, password: str = ""):
    settings, problems = app_config.parse_settings(
        {**GOOD_SETTINGS, "CLIENT_SECRET": "", "CLIENT_CERTIFICATE_PATH": path, "CLIENT_CERTIFICATE_PASSWORD": password}
    )
    assert not problems, problems
    return settings


def test_start_up_problems_name_an_expired_or_unusable_certificate(tmp_path, certificate):
    expired = make_certificate(expired=True)
    [problem] = credential_problems(certificate_settings(pem_file(tmp_path / "old.pem", expired)))
    assert problem.setting == "CLIENT_CERTIFICATE_PATH" and "expired" in problem.message
    assert expired.sha1_hex in problem.message
    locked = pem_file(tmp_path / "locked.pem", certificate, password="pw")
    [problem] = credential_problems(certificate_settings(locked, "not the password"))
    assert problem.setting == "CLIENT_CERTIFICATE_PATH" and "does not decrypt" in problem.message
    assert credential_problems(certificate_settings(locked, "pw")) == []


def test_an_app_with_an_expired_certificate_shows_the_configuration_page(tmp_path):
    path = pem_file(tmp_path / "old.pem", make_certificate(expired=True))
    app = create_app(
        {
            **GOOD_SETTINGS,
            "CLIENT_SECRET": "",
            "CLIENT_CERTIFICATE_PATH": path,
            "SECRET_KEY": "k",
            "SESSION_FILE_DIR": str(tmp_path / "sessions"),
        }
    )
    for page in ("/", "/login"):
        response = app.test_client().get(page)
        assert response.status_code == 503 and b"CLIENT_CERTIFICATE_PATH" in response.data, "never a 500"
        assert b"expired" in response.data and "Content-Security-Policy" in response.headers


def test_the_federated_token_file_is_read_at_each_request(tmp_path):
    token_file = tmp_path / "token"
    token_file.write_text("first.token.value\n")
    credential = AssertionFileCredential(str(token_file))
    assertion = credential.for_msal()["client_assertion"]
    assert assertion() == "first.token.value"
    token_file.write_text("rotated.token.value")
    assert assertion() == "rotated.token.value", "the kubelet rewrites the file; each request reads it"


@pytest.mark.parametrize("content", [None, "", "  \n"])
def test_a_missing_or_empty_federated_token_file_is_a_clear_failure(tmp_path, content):
    token_file = tmp_path / "token"
    if content is not None:
        token_file.write_text(content)
    with pytest.raises(CredentialUnavailable) as raised:
        AssertionFileCredential(str(token_file)).assertion()
    assert raised.value.status == 503 and raised.value.setting == "CLIENT_ASSERTION_FILE"
    assert str(tmp_path) not in raised.value.message, "the page does not show the server's paths"


# The token endpoint's JSON for a refused credential (reference-error-codes.md; observed shapes).
def entra_error(code: int, error: str = "invalid_client", text: str = "Something about the credential.") -> dict:
    return {
        "error": error,
        "error_description": f"AADSTS{code}: {text}\r\nTrace ID: 0000aaaa-11bb-cccc-dd22-eeeeee333333\r\n"
        "Correlation ID: aaaa0000-bb11-2222-33cc-444444dddddd\r\nTimestamp: 2026-12-01 02:02:12Z",
        "error_codes": [code],
        "trace_id": "0000aaaa-11bb-cccc-dd22-eeeeee333333",
        "correlation_id": "aaaa0000-bb11-2222-33cc-444444dddddd",
    }


@pytest.mark.parametrize(
    "code, words",
    [
        (700027, "Certificates & secrets"),
        (700024, "clock"),
        (700021, "CLIENT_ID"),
        (700023, "AUTHORITY"),
        (7000215, "not its Secret ID"),
        (7000222, "expired"),
        (7000218, "exactly one"),
        (700211, "issuer"),
        (700212, "api://AzureADTokenExchange"),
        (700213, "subject"),
        (700016, "Application (client) ID"),
    ],
)
def test_a_refused_credential_is_misconfiguration_with_its_fix(code, words):
    failure = SignInFailure.from_result(400, entra_error(code))
    assert failure.status == MISCONFIGURED == 503 and failure.aadsts == str(code)
    assert failure.fix and words in failure.fix
    assert failure.correlation_id == "aaaa0000-bb11-2222-33cc-444444dddddd" and "Trace ID" not in failure.description


def test_the_aadsts_code_is_read_from_the_description_when_error_codes_are_absent():
    result = entra_error(7000215)
    del result["error_codes"]
    assert SignInFailure.from_result(502, result).aadsts == "7000215"


def test_other_failures_keep_their_status_and_page():
    failure = SignInFailure.from_result(400, entra_error(70008, "invalid_grant", "The code has expired."))
    assert failure.status == 400 and failure.fix is None and failure.aadsts == "70008"
    unknown = SignInFailure.from_result(400, {"error": "invalid_client", "error_description": "no code"})
    assert unknown.status == 503 and unknown.fix and "Certificates & secrets" in unknown.fix
