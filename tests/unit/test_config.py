"""Configuration: every missing or malformed setting is named on the page, and the app still starts."""

import pytest

import app_config
from app import create_app
from tests.support.apps import GOOD_SETTINGS


def test_good_settings_have_no_problems():
    assert app_config.find_problems(GOOD_SETTINGS) == []


@pytest.mark.parametrize(
    "key, value",
    [
        ("CLIENT_ID", ""),
        ("CLIENT_ID", "my-app"),
        ("CLIENT_ID", "00001111-aaaa-2222-bbbb-3333cccc4444"),
        ("CLIENT_SECRET", ""),
        ("CLIENT_SECRET", "Enter_the_Client_Secret_Value_Here"),
        ("AUTHORITY", ""),
        ("AUTHORITY", "http://login.example.test/tenant"),
        ("AUTHORITY", "https://login.example.test"),
        ("REDIRECT_URI", "getAToken"),
        ("REDIRECT_URI", "http://localhost:5000/"),
        # Paths the sign-in pages serve themselves: the callback would never be reached.
        ("REDIRECT_URI", "http://localhost:5000/login"),
        ("REDIRECT_URI", "http://localhost:5000/logout"),
        ("REDIRECT_URI", "http://localhost:5000/logout/"),
        ("REDIRECT_URI", "http://localhost:5000/logout/frontchannel"),
        ("REDIRECT_URI", "http://localhost:5000/cb/<int:x>"),
        ("AUTHORITY", "https://login.example.test/tenant?x=1"),
        ("AUTHORITY", "https://login.example.test/tenant#f"),
        ("SCOPE", "User.Read openid"),
        ("ENDPOINT", "graph"),
        ("SESSION_TYPE", "memcached"),
        ("HTTP_READ_TIMEOUT", "soon"),
        ("HTTP_CONNECT_TIMEOUT", "0"),
        ("SESSION_IDLE_TIMEOUT", "0"),
        ("SESSION_IDLE_TIMEOUT", "8h"),
        ("SESSION_IDLE_TIMEOUT", "-5"),
        ("SESSION_ABSOLUTE_TIMEOUT", ""),
        ("SESSION_ABSOLUTE_TIMEOUT", "1.5"),
        ("SESSION_SWEEP_INTERVAL", "often"),
        ("TRUSTED_PROXIES", "-1"),
        ("TRUSTED_PROXIES", "yes"),
    ],
)
def test_each_bad_setting_is_named(key, value):
    problems = app_config.find_problems({**GOOD_SETTINGS, key: value})
    assert [problem.setting for problem in problems] == [key]


def test_unconfigured_app_starts_and_lists_what_to_fix(tmp_path):
    app = create_app(
        {"CLIENT_ID": "", "CLIENT_SECRET": "", "AUTHORITY": "", "SECRET_KEY": "k", "SESSION_FILE_DIR": str(tmp_path)}
    )
    for path in ("/", "/login", "/call_api", "/getAToken?code=x&state=y"):
        response = app.test_client().get(path)
        assert response.status_code == 503
        for setting in ("CLIENT_ID", "CLIENT_SECRET", "AUTHORITY"):
            assert setting.encode() in response.data
    with app.test_client().get("/static/style.css") as stylesheet:
        assert stylesheet.status_code == 200


def test_redirect_uri_on_an_app_page_is_named(tmp_path):
    # /call_api is the app's own page, not the sign-in blueprint's: create_app itself must refuse it.
    app = create_app(
        {
            **GOOD_SETTINGS,
            "REDIRECT_URI": "http://localhost:5000/call_api",
            "SECRET_KEY": "k",
            "SESSION_FILE_DIR": str(tmp_path),
        }
    )
    for path in ("/", "/login", "/call_api"):
        response = app.test_client().get(path)
        assert response.status_code == 503, (path, response.status_code)
        assert b"REDIRECT_URI" in response.data and b"/call_api" in response.data


def test_environment_overrides_defaults():
    settings = app_config.settings_from_env({"SCOPE": " User.Read ", "ENDPOINT": "https://x.test/v1.0/me"})
    assert settings["SCOPE"] == "User.Read" and settings["ENDPOINT"] == "https://x.test/v1.0/me"
    assert settings["REDIRECT_URI"] == "http://localhost:5000/getAToken"


@pytest.mark.parametrize(
    "changes, named",
    [
        ({"CLIENT_SECRET": ""}, "CLIENT_SECRET"),  # no credential at all
        ({"CLIENT_ASSERTION_FILE": __file__}, "CLIENT_ASSERTION_FILE"),  # a secret and a federated token: which?
        ({"MANAGED_IDENTITY_CLIENT_ID": "not-a-guid"}, "MANAGED_IDENTITY_CLIENT_ID"),
        ({"CLIENT_SECRET": "", "CLIENT_CERTIFICATE_PATH": "/no/such/cert.pem"}, "CLIENT_CERTIFICATE_PATH"),
        ({"OIDC_AUTHORITY": "https://issuer.example.test"}, "OIDC_AUTHORITY"),  # and AUTHORITY: which?
        ({"AUTHORITY": "", "B2C_TENANT_NAME": "contoso"}, "SIGNUPSIGNIN_USER_FLOW"),
        ({"AUTHORITY": "", "B2C_TENANT_NAME": "contoso.onmicrosoft.com"}, "B2C_TENANT_NAME"),
        ({"AUTHORITY": "", "OIDC_AUTHORITY": "http://issuer.example.test"}, "OIDC_AUTHORITY"),
    ],
)
def test_credential_and_authority_are_exactly_one_each(changes, named):
    problems = app_config.find_problems({**GOOD_SETTINGS, **changes})
    assert [problem.setting for problem in problems] == [named], problems


def test_each_credential_kind_is_recognised(tmp_path):
    token_file = tmp_path / "token"
    token_file.write_text("eyJ.fake.token")
    cases = {
        "secret": {},
        "certificate": {"CLIENT_SECRET": "", "CLIENT_CERTIFICATE_PATH": str(token_file)},
        "assertion_file": {"CLIENT_SECRET": "", "CLIENT_ASSERTION_FILE": str(token_file)},
        "managed_identity": {"CLIENT_SECRET": "", "MANAGED_IDENTITY_CLIENT_ID": "0f0e0d0c-0000-4000-8000-00000000000a"},
    }
    for kind, changes in cases.items():
        settings, problems = app_config.parse_settings({**GOOD_SETTINGS, **changes})
        assert problems == [] and settings.credential_kind == kind, (kind, problems)
    # AKS workload identity sets AZURE_FEDERATED_TOKEN_FILE itself.
    settings, _ = app_config.parse_settings(
        {**GOOD_SETTINGS, "CLIENT_SECRET": "", "AZURE_FEDERATED_TOKEN_FILE": str(token_file)}
    )
    assert settings.credential_kind == "assertion_file" and settings.client_assertion_file == str(token_file)


@pytest.mark.parametrize(
    "authority, endpoint",
    [
        ("https://login.microsoftonline.com/organizations", "https://graph.microsoft.com/v1.0/users"),
        (
            "https://login.microsoftonline.us/0f0e0d0c-0000-4000-8000-000000000002",
            "https://graph.microsoft.us/v1.0/users",
        ),
        (
            "https://login.partner.microsoftonline.cn/0f0e0d0c-0000-4000-8000-000000000002",
            "https://microsoftgraph.chinacloudapi.cn/v1.0/users",
        ),
        ("https://contoso.ciamlogin.com/", "https://graph.microsoft.com/v1.0/users"),
    ],
)
def test_endpoint_default_follows_the_cloud(authority, endpoint):
    settings, problems = app_config.parse_settings({**GOOD_SETTINGS, "AUTHORITY": authority, "ENDPOINT": ""})
    assert problems == [] and settings.endpoint == endpoint
