"""Each authority kind, resolved from the settings: what msal gets, the discovery URL (the one msal fetches itself),
the issuer rule, the algorithms and the Entra-only claims; ID tokens of each issuer form through the real validator,
with keys from a real local server."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import jwt
import msal.authority
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from tests.support.apps import GOOD_SETTINGS
from tests.support.local_upstream import rsa_jwk, upstream
from webapp.authorities import MSA_TENANT, Authority, IssuerMismatch, b2c, entra, oidc, resolve
from webapp.discovery import AuthorityMetadata
from webapp.errors import IdTokenRejected
from webapp.id_token import IdTokenValidator
from webapp.outbound import TimeoutSession
from webapp.settings import Settings, parse

CLIENT_ID = str(uuid.uuid4())
TENANT = str(uuid.uuid4())
NO_AUTHORITY = {"AUTHORITY": ""}


def settings(**overrides: str) -> Settings:
    parsed, problems = parse({**GOOD_SETTINGS, **NO_AUTHORITY, **overrides})
    assert parsed is not None, problems
    return parsed


def problems(**overrides: str) -> dict[str, str]:
    return {p.setting: p.message for p in parse({**GOOD_SETTINGS, **NO_AUTHORITY, **overrides})[1]}


class _Recorded:
    status_code = 200

    def __init__(self, document: dict):
        self.text = json.dumps(document)


class RecordingHttp:
    """msal's http_client: records the discovery URL msal fetches, answers with a minimal document."""

    def __init__(self, issuer: str = ""):
        self.urls: list[str] = []
        self.issuer = issuer

    def get(self, url: str, **kwargs: Any) -> _Recorded:
        self.urls.append(url)
        base = url.split("/.well-known/")[0]
        return _Recorded(
            {
                "issuer": self.issuer or base,
                "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
                "token_endpoint": f"{base}/oauth2/v2.0/token",
            }
        )


def msal_discovery_url(resolved: Authority, issuer: str = "") -> str:
    """The discovery URL msal itself fetches for what we give it (msal/authority.py)."""
    http = RecordingHttp(issuer)
    given = resolved.signin.msal_authority
    msal.authority.Authority(
        given.get("authority"), http, instance_discovery=False, oidc_authority_url=given.get("oidc_authority")
    )
    return http.urls[-1]


# Resolution: what msal gets, and the discovery URL we fetch is the one msal fetches.


@pytest.mark.parametrize(
    ("authority", "discovery"),
    [
        (f"https://login.microsoftonline.com/{TENANT}", f"https://login.microsoftonline.com/{TENANT}/v2.0"),
        ("https://login.microsoftonline.com/contoso.onmicrosoft.com", None),
        ("https://login.microsoftonline.com/organizations", None),
        ("https://login.microsoftonline.com/common", None),
        ("https://login.microsoftonline.com/consumers", None),
        (f"https://login.microsoftonline.us/{TENANT}", f"https://login.microsoftonline.us/{TENANT}/v2.0"),
        (f"https://login.partner.microsoftonline.cn/{TENANT}", None),
    ],
    ids=["guid", "domain", "organizations", "common", "consumers", "us-government", "china"],
)
def test_entra_authorities_are_given_to_msal_as_authority(authority, discovery):
    resolved = resolve(settings(AUTHORITY=authority))
    assert resolved.kind == "entra" and resolved.microsoft_tenant_claims
    assert resolved.signin.msal_authority == {"authority": authority}
    expected = f"{discovery or authority}/v2.0/.well-known/openid-configuration".replace("/v2.0/v2.0", "/v2.0")
    assert resolved.signin.discovery_url == expected
    assert msal_discovery_url(resolved) == resolved.signin.discovery_url, "msal and we read the same document"


@pytest.mark.parametrize(
    ("authority", "discovery"),
    [
        ("https://contoso.ciamlogin.com/", "https://contoso.ciamlogin.com/contoso.onmicrosoft.com/v2.0"),
        ("https://contoso.ciamlogin.com", "https://contoso.ciamlogin.com/contoso.onmicrosoft.com/v2.0"),
        (f"https://contoso.ciamlogin.com/{TENANT}", f"https://contoso.ciamlogin.com/{TENANT}/v2.0"),
        ("https://contoso.ciamlogin.com:8443/", "https://contoso.ciamlogin.com:8443/contoso.onmicrosoft.com/v2.0"),
    ],
    ids=["bare-host", "no-slash", "tenant", "port"],
)
def test_external_id_names_its_tenant_by_subdomain_as_msal_does(authority, discovery):
    resolved = resolve(settings(AUTHORITY=authority))
    assert resolved.kind == "ciam" and resolved.microsoft_tenant_claims
    assert resolved.signin.discovery_url == f"{discovery}/.well-known/openid-configuration"
    assert msal_discovery_url(resolved) == resolved.signin.discovery_url


def test_b2c_has_one_authority_per_configured_user_flow():
    resolved = resolve(
        settings(
            B2C_TENANT_NAME="fabrikamb2c",
            SIGNUPSIGNIN_USER_FLOW="B2C_1_susi",
            EDITPROFILE_USER_FLOW="B2C_1_edit",
        )
    )
    assert resolved.kind == "b2c" and not resolved.microsoft_tenant_claims
    assert set(resolved.flows) == {"signin", "editprofile"}, "no reset-password flow unless configured"
    base = "https://fabrikamb2c.b2clogin.com/fabrikamb2c.onmicrosoft.com"
    assert resolved.signin.msal_authority == {"authority": f"{base}/B2C_1_susi"}
    assert resolved.flows["editprofile"].discovery_url == f"{base}/B2C_1_edit/v2.0/.well-known/openid-configuration"
    assert msal_discovery_url(resolved) == resolved.signin.discovery_url


def test_b2c_on_a_custom_domain_is_still_b2c_to_msal():
    """msal knows B2C by a b2clogin host or, elsewhere, by a third path segment starting b2c_ (msal/authority.py):
    as B2C it skips the instance discovery Entra hosts get."""
    resolved = resolve(
        settings(
            B2C_TENANT_NAME="fabrikamb2c",
            B2C_INSTANCE="https://login.fabrikam.example",
            SIGNUPSIGNIN_USER_FLOW="B2C_1_s",
        )
    )
    authority = resolved.signin.msal_authority["authority"]
    assert authority == "https://login.fabrikam.example/fabrikamb2c.onmicrosoft.com/B2C_1_s"
    known = msal.authority.Authority(authority, RecordingHttp(), instance_discovery=False)
    assert known._is_b2c, "msal must recognise the custom-domain B2C authority"


@pytest.mark.parametrize("issuer", ["https://op.example/oidc", "https://op.example/realms/test/"])
def test_any_openid_provider_is_given_to_msal_as_oidc_authority(issuer):
    resolved = resolve(settings(OIDC_AUTHORITY=issuer))
    assert resolved.kind == "oidc" and not resolved.microsoft_tenant_claims
    assert not resolved.sends_logout_hint and resolved.sends_client_id_at_logout
    trimmed = issuer.rstrip("/")
    assert resolved.signin.msal_authority == {"oidc_authority": trimmed}
    # OIDC Discovery §4.1: a terminating "/" is removed before appending the well-known path.
    assert resolved.signin.discovery_url == f"{trimmed}/.well-known/openid-configuration"
    assert msal_discovery_url(resolved, issuer=issuer) == resolved.signin.discovery_url


def test_an_issuer_that_is_a_bare_host_is_a_setting_to_fix():
    """msal 1.39's canonicalize refuses an authority without a path segment, oidc_authority included."""
    with pytest.raises(ValueError, match="segment"):
        msal.authority.canonicalize("https://op.example")
    assert "path" in problems(OIDC_AUTHORITY="https://op.example/")["OIDC_AUTHORITY"]


def test_a_generic_providers_client_id_need_not_be_a_guid():
    assert settings(OIDC_AUTHORITY="https://op.example/oidc", CLIENT_ID="my-web-app").client_id == "my-web-app"
    assert "CLIENT_ID" in problems(AUTHORITY=f"https://login.microsoftonline.com/{TENANT}", CLIENT_ID="my-web-app")
    assert "CLIENT_ID" in problems(OIDC_AUTHORITY="https://op.example/oidc", CLIENT_ID="my web app")


@pytest.mark.parametrize(
    "authority",
    [{"OIDC_AUTHORITY": "https://op.example/oidc"}, {"B2C_TENANT_NAME": "f", "SIGNUPSIGNIN_USER_FLOW": "B2C_1_s"}],
    ids=["oidc", "b2c"],
)
def test_allowed_tenants_only_with_an_entra_authority(authority):
    assert "ALLOWED_TENANTS" in problems(**authority, ALLOWED_TENANTS=TENANT)


# Issuer rules


def test_entra_multi_tenant_issuer_is_the_template_filled_with_the_tokens_tenant():
    document = {"issuer": "https://login.microsoftonline.com/{tenantid}/v2.0"}
    issuer = entra("https://login.microsoftonline.com/organizations").expected_issuer(document, TENANT)
    assert issuer == f"https://login.microsoftonline.com/{TENANT}/v2.0"


def test_b2c_issuer_is_the_documents_exactly_with_its_trailing_slash():
    document = {"issuer": f"https://f.b2clogin.com/{TENANT}/v2.0/"}
    resolved = b2c("f", "", {"signin": "B2C_1_s"})
    assert resolved.expected_issuer(document, "") == f"https://f.b2clogin.com/{TENANT}/v2.0/"


def test_oidc_document_must_name_the_configured_issuer():
    """OIDC Discovery §4.3: the issuer in the document must be identical to the one used to fetch it."""
    resolved = oidc("https://op.example/oidc")
    assert resolved.expected_issuer({"issuer": "https://op.example/oidc"}, "") == "https://op.example/oidc"
    assert resolved.expected_issuer({"issuer": "https://op.example/oidc/"}, "") == "https://op.example/oidc/"
    for other in ("https://op.example/other", "https://evil.example/oidc", "", None):
        with pytest.raises(IssuerMismatch):
            resolved.expected_issuer({"issuer": other}, "")


def test_external_id_behind_a_custom_domain_keeps_its_ciamlogin_issuer_for_its_own_tenant_only():
    resolved = oidc(f"https://login.contoso.example/{TENANT}/v2.0")
    ciam = f"https://{TENANT}.ciamlogin.com/{TENANT}/v2.0"
    assert resolved.expected_issuer({"issuer": ciam}, "") == ciam
    other = str(uuid.uuid4())
    with pytest.raises(IssuerMismatch):
        resolved.expected_issuer({"issuer": f"https://{other}.ciamlogin.com/{other}/v2.0"}, "")


def test_algorithms_and_prompt_per_kind():
    document = {"id_token_signing_alg_values_supported": ["ES256", "RS256", "HS256"]}
    assert entra(f"https://login.microsoftonline.com/{TENANT}").algorithms(document) == ["RS256"]
    assert oidc("https://op.example/x").algorithms(document) == ["RS256", "ES256"], "never HS256"
    assert oidc("https://op.example/x").algorithms({}) == ["RS256", "PS256", "ES256"]
    assert entra(f"https://login.microsoftonline.com/{TENANT}").prompt(dict) == "select_account"
    assert b2c("f", "", {"signin": "B2C_1_s"}).prompt(dict) is None, "B2C documents prompt=login only"
    assert oidc("https://op.example/x").prompt(dict) is None, "not advertised: not sent"
    assert oidc("https://op.example/x").prompt(lambda: {"prompt_values_supported": ["select_account"]})


@pytest.mark.parametrize(
    ("query", "status"),
    [("sid=s1", 200), ("sid=s1&iss=https://op.example/oidc", 200), ("sid=s1&iss=https://evil.example/oidc", 400)],
    ids=["no-iss", "our-iss", "foreign-iss"],
)
def test_front_channel_logout_from_a_generic_provider_must_name_its_issuer(tmp_path, query, status):
    """OIDC Front-Channel Logout 1.0 §2: when iss and sid are sent, the RP must check that they match."""
    from app import create_app

    app = create_app(
        {
            **GOOD_SETTINGS,
            **NO_AUTHORITY,
            "OIDC_AUTHORITY": "https://op.example/oidc",
            "SESSION_FILE_DIR": str(tmp_path),
            "SECRET_KEY": "x" * 32,
        }
    )
    assert app.test_client().get(f"/logout/frontchannel?{query}").status_code == status


@pytest.mark.parametrize(
    ("claims", "given", "other"),
    [({"oid": TENANT, "sub": "pairwise"}, TENANT.upper(), "pairwise"), ({"sub": "AbC-1"}, "AbC-1", "abc-1")],
    ids=["entra-oid-any-case", "generic-sub-exact-case"],
)
def test_flask_sessions_revoke_finds_a_user_by_oid_or_else_by_exact_sub(tmp_path, claims, given, other):
    """An Entra user is found by oid (a GUID, any case); a generic provider's, who has none, by sub
    (case-sensitive, OIDC Core §2): never another user's sessions."""
    from app import create_app
    from webapp.sessions import ServerSession

    app = create_app(
        {**GOOD_SETTINGS, "SESSION_FILE_DIR": str(tmp_path), "SECRET_KEY": "k" * 32}
        | ({} if "oid" in claims else {**NO_AUTHORITY, "OIDC_AUTHORITY": "https://op.example/oidc"})
    )
    sessions = app.extensions["entra_signin"].sign_in.sessions
    sessions.begin(ServerSession(sessions, None), {}, claims)
    runner = app.test_cli_runner()
    assert "Ended 0 session(s)" in runner.invoke(args=["sessions", "revoke", "--user", other]).output
    assert "Ended 1 session(s)" in runner.invoke(args=["sessions", "revoke", "--user", given]).output


# ID tokens of each issuer form, through the real validator and a real JWKS


class Provider:
    """A local server publishing a discovery document and keys, and signing ID tokens with them."""

    def __init__(self, server: Any, authority: Authority, issuer_in_document: str):
        self.server = server
        self.authority = authority
        self.rsa_jwk, self.rsa = rsa_jwk("rsa")
        self.ec = ec.generate_private_key(ec.SECP256R1())
        ec_jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(self.ec.public_key()))
        self.keys = [self.rsa_jwk, {**ec_jwk, "kid": "ec", "use": "sig"}]
        self.document: dict[str, Any] = {"issuer": issuer_in_document, "jwks_uri": f"{server.url}/keys"}
        path = authority.signin.discovery_url.split("://", 1)[1].split("/", 1)[1]
        server.route(f"/{path}", lambda request: request.send_json(self.document))
        server.route("/keys", lambda request: request.send_json({"keys": self.keys}))
        self.metadata = AuthorityMetadata(f"{server.url}/{path}", TimeoutSession(2.0, 5.0, total_timeout=5.0))
        self.allowed_tenants: tuple[str, ...] = ()

    def validate(self, alg: str = "RS256", kid: str | None = None, **claims: Any) -> dict:
        now = int(time.time())
        payload = {"aud": CLIENT_ID, "sub": "user-1", "iat": now, "exp": now + 600, **claims}
        payload = {key: value for key, value in payload.items() if value is not None}
        key = self.ec if alg.startswith("ES") else self.rsa
        token = jwt.encode(
            payload, key, algorithm=alg, headers={"kid": kid or ("ec" if alg.startswith("ES") else "rsa")}
        )
        validator = IdTokenValidator(self.metadata, CLIENT_ID, self.allowed_tenants, authority=self.authority)
        return validator.validate(token)


@pytest.fixture
def server():
    with upstream() as server:
        yield server


def oidc_provider(server, issuer: str = "") -> Provider:
    """OIDC_AUTHORITY is https (settings insist); the local server is plain http, so the document is fetched there."""
    configured = "https://op.test/oidc"
    return Provider(server, oidc(configured), issuer or configured)


def test_a_generic_providers_token_has_no_tid_and_needs_none(server):
    provider = oidc_provider(server)
    claims = provider.validate(iss="https://op.test/oidc")
    assert claims["sub"] == "user-1" and "tid" not in claims


@pytest.mark.parametrize("alg", ["RS256", "PS256", "ES256"])
def test_a_generic_provider_may_sign_with_any_allowed_algorithm(server, alg):
    provider = oidc_provider(server)
    assert provider.validate(alg=alg, iss="https://op.test/oidc")["sub"] == "user-1"


def test_an_algorithm_the_provider_does_not_advertise_is_refused(server):
    provider = oidc_provider(server)
    provider.document["id_token_signing_alg_values_supported"] = ["RS256"]
    with pytest.raises(IdTokenRejected, match="does not sign ID tokens with ES256"):
        provider.validate(alg="ES256", iss="https://op.test/oidc")


def test_a_key_published_for_one_algorithm_verifies_no_other(server):
    provider = oidc_provider(server)
    provider.keys[0] = {**provider.rsa_jwk, "alg": "RS256"}
    with pytest.raises(IdTokenRejected, match="not for PS256"):
        provider.validate(alg="PS256", iss="https://op.test/oidc")


def test_symmetric_and_unsigned_tokens_are_refused(server):
    provider = oidc_provider(server)
    now = int(time.time())
    payload = {"aud": CLIENT_ID, "sub": "u", "iss": "https://op.test/oidc", "iat": now, "exp": now + 60}
    validator = IdTokenValidator(provider.metadata, CLIENT_ID, authority=provider.authority)
    for token in (jwt.encode(payload, CLIENT_ID, algorithm="HS256"), jwt.encode(payload, None, algorithm="none")):
        with pytest.raises(IdTokenRejected, match="algorithm"):
            validator.validate(token)


def test_a_token_without_kid_needs_a_jwks_of_one_key(server):
    """OIDC Core §10.1: a kid is required only when the JWK Set holds several keys."""
    provider = oidc_provider(server)
    provider.keys = [{key: value for key, value in provider.rsa_jwk.items() if key != "kid"}]
    now = int(time.time())
    payload = {"aud": CLIENT_ID, "sub": "u", "iss": "https://op.test/oidc", "iat": now, "exp": now + 60}
    validator = IdTokenValidator(provider.metadata, CLIENT_ID, authority=provider.authority)
    assert validator.validate(jwt.encode(payload, provider.rsa, algorithm="RS256"))["sub"] == "u"
    several = oidc_provider(server)
    validator = IdTokenValidator(several.metadata, CLIENT_ID, authority=several.authority)
    with pytest.raises(IdTokenRejected, match="does not publish"):
        validator.validate(jwt.encode(payload, several.rsa, algorithm="RS256"))


def test_a_generic_token_without_sub_is_refused(server):
    """OIDC Core §2: sub is REQUIRED; sessions are indexed by it where there is no oid."""
    with pytest.raises(IdTokenRejected, match="MissingRequiredClaim"):
        oidc_provider(server).validate(iss="https://op.test/oidc", sub=None)


def test_a_document_naming_another_issuer_refuses_every_token(server):
    provider = oidc_provider(server, issuer="https://other.test/oidc")
    with pytest.raises(IdTokenRejected) as refused:
        provider.validate(iss="https://other.test/oidc")
    assert refused.value.error == "authority_misconfigured"


def test_entra_tokens_need_a_tenant(server):
    provider = Provider(server, entra(f"https://login.test/{TENANT}"), f"https://login.test/{TENANT}/v2.0")
    assert provider.validate(iss=f"https://login.test/{TENANT}/v2.0", tid=TENANT)["tid"] == TENANT
    with pytest.raises(IdTokenRejected, match="tid"):
        provider.validate(iss=f"https://login.test/{TENANT}/v2.0")
    with pytest.raises(IdTokenRejected, match="algorithm"):
        provider.validate(alg="ES256", iss=f"https://login.test/{TENANT}/v2.0", tid=TENANT)


def test_b2c_tokens_need_the_trailing_slash_and_no_tenant(server):
    issuer = f"https://f.b2clogin.test/{TENANT}/v2.0/"
    provider = Provider(server, b2c("f", "https://f.b2clogin.test", {"signin": "B2C_1_s"}), issuer)
    assert provider.validate(iss=issuer, tfp="B2C_1_s")["tfp"] == "B2C_1_s"
    with pytest.raises(IdTokenRejected, match="issuer"):
        provider.validate(iss=issuer.rstrip("/"))


def test_external_id_tokens_carry_their_tenant_in_the_issuer_host(server):
    issuer = f"https://{TENANT}.ciamlogin.com/{TENANT}/v2.0"
    provider = Provider(server, entra("https://contoso.ciamlogin.com/"), issuer)
    assert provider.validate(iss=issuer, tid=TENANT)["iss"] == issuer


@pytest.mark.parametrize(
    ("allowed", "accepted"),
    [((), True), ((TENANT,), False), ((TENANT, MSA_TENANT), True)],
    ids=["no-allow-list", "list-without-msa", "list-with-msa"],
)
def test_personal_accounts_through_common_follow_allowed_tenants(server, allowed, accepted):
    """Personal accounts sign in with tid 9188040d-6c67-4c5b-b112-36a304b66dad (entra-advanced.md §2): an
    ALLOWED_TENANTS that omits it refuses them."""
    template = "https://login.test/{tenantid}/v2.0"
    provider = Provider(server, entra("https://login.test/common"), template)
    provider.allowed_tenants = allowed
    claims = {"iss": f"https://login.test/{MSA_TENANT}/v2.0", "tid": MSA_TENANT}
    if accepted:
        assert provider.validate(**claims)["tid"] == MSA_TENANT
    else:
        with pytest.raises(IdTokenRejected) as refused:
            provider.validate(**claims)
        assert refused.value.error == "tenant_not_allowed"


def test_a_multi_tenant_issuer_is_filled_with_the_tokens_own_tenant_only(server):
    provider = Provider(server, entra("https://login.test/organizations"), "https://login.test/{tenantid}/v2.0")
    other = str(uuid.uuid4())
    with pytest.raises(IdTokenRejected, match="issuer"):
        provider.validate(iss=f"https://login.test/{other}/v2.0", tid=TENANT)
