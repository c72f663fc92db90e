"""What the deploy/ nginx site does besides passing requests on: plain http redirects to the configured origin,
the client's forwarded headers and request id are replaced, the access log holds no query string, and nginx's own
refusals (no app server, a body too large) are pages with the app's security headers."""

import contextlib
import re
import socket
import ssl
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from tests.support import servers
from tests.support.topology import Nginx

pytestmark = pytest.mark.topology

SECURITY_HEADERS = ("Content-Security-Policy", "X-Content-Type-Options", "X-Frame-Options", "Referrer-Policy")


def https(site) -> requests.Session:
    http = requests.Session()
    http.verify, http.trust_env = str(site.ca_pem), False
    return http


def test_plain_http_redirects_to_the_configured_origin_whatever_the_host(site):
    response = requests.get(
        f"{site.http_url}/call_api?x=1", headers={"Host": "evil.example"}, allow_redirects=False, timeout=5
    )
    assert response.status_code == 301
    assert response.headers["Location"] == f"{site.url}/call_api?x=1"
    assert "nginx/" not in response.headers.get("Server", ""), "server_tokens off: no version"


def test_clients_forwarded_headers_and_request_id_are_replaced(site):
    """The app trusts one proxy (TRUSTED_PROXIES=1), so what it believes must be what nginx says, never what the
    client sent: a client claiming plain http still gets HSTS, and its request id is not the one logged."""
    claimed = "client-chosen-id-123"
    response = https(site).get(
        f"{site.url}/login",
        headers={"X-Forwarded-Proto": "http", "X-Forwarded-Host": "evil.example", "X-Request-ID": claimed},
        timeout=5,
    )
    assert response.status_code == 200
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000"
    assert "evil.example" not in response.text
    request_id = response.headers["X-Request-ID"]
    assert request_id != claimed and re.fullmatch(r"[0-9a-f]{32}", request_id), request_id
    line = site.nginx.logged(request_id)  # nginx's log and the app's answer name the request alike
    assert '"GET /login HTTP/1.1" 200 ' in line, line


def test_access_log_never_holds_the_authorization_code(site):
    browser = site.browser()
    log_start = site.log_mark()
    picker = browser.open_account_picker()
    callback = browser.choose(picker, follow=False).headers["Location"]
    query = parse_qs(urlsplit(callback).query)
    assert browser.get(callback).h1.startswith("Welcome")
    logged = "\n".join(site.log_since(log_start))
    assert '"GET /getAToken HTTP/1.1" 302 ' in logged, logged
    for secret in (query["code"][0], query["state"][0], "code=", "state="):
        assert secret not in logged


@contextlib.contextmanager
def nginx_without_app_servers(site, tmp_path):
    """The same site file, its upstreams pointing at ports where nothing listens."""
    values = dict(site.nginx.values)
    port = servers.free_port()
    values.update(
        HTTPS_LISTEN=f"127.0.0.1:{port}",
        HTTP_LISTEN=f"127.0.0.1:{servers.free_port()}",
        APP_SERVER_1=f"127.0.0.1:{servers.free_port()}",
        APP_SERVER_2=f"127.0.0.1:{servers.free_port()}",
        ACCESS_LOG=str(tmp_path / "access.log"),
    )
    nginx = Nginx(tmp_path, values)
    nginx.start()
    try:
        yield f"https://localhost:{port}"
    finally:
        nginx.stop()


def test_no_app_server_answering_is_a_503_page_with_security_headers(site, tmp_path):
    with nginx_without_app_servers(site, tmp_path) as url:
        response = https(site).get(f"{url}/", timeout=10)
    assert response.status_code == 503, response.text
    assert "Temporarily unavailable" in response.text and "Try again" in response.text
    assert response.headers["Retry-After"] == "5" and response.headers["Cache-Control"] == "no-store"
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000"
    for header in SECURITY_HEADERS:
        assert header in response.headers, header


def test_bodies_too_large_for_nginx_or_for_the_app_are_413_pages(site):
    http = https(site)
    too_large_for_nginx = http.post(f"{site.url}/logout", data=b"x" * 100_000, timeout=10)
    assert too_large_for_nginx.status_code == 413 and "Request too large" in too_large_for_nginx.text
    for header in SECURITY_HEADERS:
        assert header in too_large_for_nginx.headers, header
    too_large_for_the_app = http.post(f"{site.url}/logout", data=b"x" * 20_000, timeout=10)
    assert too_large_for_the_app.status_code == 413, too_large_for_the_app.text[:300]
    assert "X-Request-ID" in too_large_for_the_app.headers, "the app's own page, passed through"


def handshake(site, maximum=None, minimum=None, ciphers=None):
    """A TLS handshake with nginx from a client that offers only what it is given; (version, cipher) or the
    error, which names the alert the server sent when it refused."""
    context = ssl.create_default_context(cafile=str(site.ca_pem))
    if ciphers:
        context.set_ciphers(ciphers)
    if minimum:
        context.minimum_version = minimum
    if maximum:
        context.maximum_version = maximum
    port = int(site.nginx.values["HTTPS_LISTEN"].rpartition(":")[2])
    try:
        with (
            socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
            context.wrap_socket(raw, server_hostname="localhost") as tls,
        ):
            return tls.version(), tls.cipher()[0]
    except ssl.SSLError as error:
        return str(error)


@pytest.mark.filterwarnings("ignore:ssl.TLSVersion.TLSv1_1 is deprecated:DeprecationWarning")  # on purpose
def test_tls_1_3_and_1_2_with_forward_secret_aead_ciphers_only(site):
    assert handshake(site)[0] == "TLSv1.3"
    version, cipher = handshake(site, maximum=ssl.TLSVersion.TLSv1_2)
    assert version == "TLSv1.2" and cipher.startswith("ECDHE-") and "GCM" in cipher, cipher
    # A TLS 1.2 client offering only CBC ciphers, and a TLS 1.1 client: nginx refuses both with an alert.
    cbc_only = "ECDHE-ECDSA-AES128-SHA:ECDHE-RSA-AES128-SHA:AES128-SHA"
    assert "ALERT_HANDSHAKE_FAILURE" in handshake(site, maximum=ssl.TLSVersion.TLSv1_2, ciphers=cbc_only)
    old = handshake(site, ssl.TLSVersion.TLSv1_1, ssl.TLSVersion.TLSv1_1, "DEFAULT:@SECLEVEL=0")
    assert "ALERT_PROTOCOL_VERSION" in old, old


def test_headers_too_large_are_a_400_page_with_security_headers(site):
    response = https(site).get(f"{site.url}/", headers={"Cookie": "big=" + "x" * 20_000}, timeout=10)
    assert response.status_code == 400 and "Bad request" in response.text, response.text[:300]
    assert "cookies" in response.text
    for header in SECURITY_HEADERS:
        assert header in response.headers, header


def test_metrics_are_served_to_the_scraper_never_through_nginx(site):
    direct = requests.get(f"{site.apps[0].direct_url}/metrics", timeout=10)
    assert direct.status_code == 200 and "webapp_request_duration_seconds" in direct.text
    through_nginx = https(site).get(f"{site.url}/metrics", timeout=10)
    assert through_nginx.status_code == 404 and "webapp_" not in through_nginx.text, through_nginx.text[:300]
    assert "Not found" in through_nginx.text
    for header in SECURITY_HEADERS:
        assert header in through_nginx.headers, header
    for spelling in ("/metrics?name[]=webapp_sign_ins_total", "//metrics", "/%6detrics", "/./metrics", "/metrics/"):
        other = https(site).get(f"{site.url}{spelling}", timeout=10)
        assert other.status_code == 404 and "webapp_" not in other.text, (spelling, other.text[:200])
    # An app's own 404 passes through as the app answers it (nginx only replaces its own refusals).
    missing = https(site).get(f"{site.url}/no-such-page", timeout=10)
    assert missing.status_code == 404 and "X-Request-ID" in missing.headers
