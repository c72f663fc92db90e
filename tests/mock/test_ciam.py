"""The mock under other host names, with fake DNS: Microsoft Entra External ID (https://<sub>.ciamlogin.com/) and
the national clouds' login hosts, through real msal.

External ID: msal turns a path-less https://<sub>.ciamlogin.com/ into the tenant <sub>.onmicrosoft.com
(msal/authority.py); the issuer observed in External ID's documents is https://{tid}.ciamlogin.com/{tid}/v2.0.
National clouds' documents name their cloud (cloud_instance_name) and Graph host
(https://learn.microsoft.com/graph/deployments): microsoftonline.us / graph.microsoft.us,
partner.microsoftonline.cn / microsoftgraph.chinacloudapi.cn."""

from __future__ import annotations

import socket

import msal
import pytest
import requests

from mock_authority import run_in_thread
from tests.support.authorize_page import msal_sign_in
from tests.support.fake_dns import chromium_host_rules, fake_dns

pytestmark = pytest.mark.filterwarnings("ignore:.*response_mode.*:UserWarning")
REDIRECT_URI = "http://localhost:5000/getAToken"


@pytest.fixture()
def shaped(request, monkeypatch):
    """A mock of its own in the shape the test names, its host resolvable here, its CA trusted by msal."""
    with run_in_thread(shape=request.param) as mock, fake_dns(mock.config.host):
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", mock.ca_bundle)
        monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
        yield mock


def _session(mock) -> requests.Session:
    session = requests.Session()
    session.verify = mock.ca_bundle
    return session


def _msal(mock, authority: str) -> msal.ConfidentialClientApplication:
    return msal.ConfidentialClientApplication(
        mock.config.client_id,
        client_credential=mock.config.client_secret,
        authority=authority,
        token_cache=msal.SerializableTokenCache(),
    )


@pytest.mark.parametrize("shaped", ["ciam"], indirect=True)
def test_msal_signs_in_at_a_path_less_external_id_authority(shaped):
    mock = shaped
    assert mock.config.host == "mocktenant.ciamlogin.com" and mock.tenant_domain == "mocktenant.onmicrosoft.com"
    tid = mock.config.tenant_id
    result = msal_sign_in(_msal(mock, mock.ciam_authority), _session(mock), REDIRECT_URI, ["User.Read"])
    assert "access_token" in result, result
    assert result["id_token_claims"]["iss"] == f"https://{tid}.ciamlogin.com:{mock.config.port}/{tid}/v2.0"
    assert result["id_token_claims"]["tid"] == tid
    discovery = mock.state.requests_to("discovery_v2")[0]
    assert discovery.path == "/mocktenant.onmicrosoft.com/v2.0/.well-known/openid-configuration"
    me = _session(mock).get(f"{mock.base_url}/v1.0/me", headers={"Authorization": f"Bearer {result['access_token']}"})
    assert me.status_code == 200, me.text


@pytest.mark.parametrize("shaped", ["ciam"], indirect=True)
def test_external_id_document_names_the_tenant_in_the_issuer_host(shaped):
    mock = shaped
    tid = mock.config.tenant_id
    doc = _session(mock).get(f"{mock.base_url}/{tid}/v2.0/.well-known/openid-configuration").json()
    assert doc["issuer"] == mock.issuer == f"https://{tid}.ciamlogin.com:{mock.config.port}/{tid}/v2.0"
    assert doc["token_endpoint"] == f"https://mocktenant.ciamlogin.com:{mock.config.port}/{tid}/oauth2/v2.0/token"


@pytest.mark.parametrize(
    "shaped,host,cloud,graph",
    [
        ("national-us", "login.microsoftonline.us", "microsoftonline.us", "graph.microsoft.us"),
        (
            "national-cn",
            "login.partner.microsoftonline.cn",
            "partner.microsoftonline.cn",
            "microsoftgraph.chinacloudapi.cn",
        ),
    ],
    indirect=["shaped"],
)
def test_national_cloud_login_host(shaped, host, cloud, graph):
    mock = shaped
    assert mock.authority == f"https://{host}:{mock.config.port}/{mock.config.tenant_id}"
    doc = _session(mock).get(f"{mock.authority}/v2.0/.well-known/openid-configuration").json()
    assert (doc["cloud_instance_name"], doc["msgraph_host"]) == (cloud, graph)
    assert doc["issuer"] == f"https://{host}:{mock.config.port}/{mock.config.tenant_id}/v2.0"
    result = msal_sign_in(_msal(mock, mock.authority), _session(mock), REDIRECT_URI, ["User.Read"])
    assert result["id_token_claims"]["iss"] == doc["issuer"]
    # The document's Graph host is served here too (its name is in the certificate; fake DNS maps it).
    with fake_dns(host, graph):
        me = _session(mock).get(
            f"https://{graph}:{mock.config.port}/v1.0/me", headers={"Authorization": f"Bearer {result['access_token']}"}
        )
    assert me.status_code == 200, me.text


def test_fake_dns_maps_only_its_names_and_refuses_the_rest():
    before = socket.getaddrinfo
    with fake_dns("contoso.ciamlogin.com"):
        assert {a[4][0] for a in socket.getaddrinfo("contoso.ciamlogin.com", 443)} == {"127.0.0.1"}
        assert socket.getaddrinfo("localhost", 80)
        for other in ("login.microsoftonline.com", "example.com", "8.8.8.8"):
            with pytest.raises(socket.gaierror):
                socket.getaddrinfo(other, 443)
    assert socket.getaddrinfo is before
    assert chromium_host_rules("a.example", "b.example") == (
        "--host-resolver-rules=MAP a.example 127.0.0.1, MAP b.example 127.0.0.1"
    )
