"""Redis as README's *Redis* section tells a deployer to run it: TLS only (rediss://), a password, and the app's
own ACL user restricted to its keys and to reading and writing them."""

import pytest
import redis
import trustme

from tests.support import servers
from tests.support.apps import app_settings, serve_app
from tests.support.browser import ScriptedBrowser, assert_signed_out
from tests.support.store import redis_key

pytestmark = pytest.mark.redis

# Exactly the ACL rules README suggests.
README_ACL = ("~entra:*", "+@read", "+@write", "+@keyspace", "+@connection", "-@dangerous")


def tls_files(tmp_path):
    ca = trustme.CA()
    cert = ca.issue_cert("localhost", "127.0.0.1")
    paths = tmp_path / "redis-cert.pem", tmp_path / "redis-key.pem", tmp_path / "redis-ca.pem"
    cert.cert_chain_pems[0].write_to_path(str(paths[0]))
    cert.private_key_pem.write_to_path(str(paths[1]))
    ca.cert_pem.write_to_path(str(paths[2]))
    return paths


def test_sessions_over_tls_with_a_restricted_acl_user(mock_authority, tmp_path):
    with servers.redis_instance(tmp_path, acl=README_ACL, tls=tls_files(tmp_path)) as server:
        assert server.url.startswith("rediss://")
        settings = app_settings(mock_authority, tmp_path, SESSION_TYPE="redis", REDIS_URL=server.url)
        with serve_app(settings) as (app, url), redis.Redis.from_url(server.url) as client:
            browser = ScriptedBrowser(url)
            assert browser.sign_in().h1.startswith("Welcome")
            assert browser.get("/call_api").response.status_code == 200
            cookie = browser.session_cookie()
            assert client.exists(redis_key(cookie)), "the session is in the TLS-only Redis"
            stats = app.test_cli_runner().invoke(args=["sessions", "stats"])
            assert "1 live session(s) of 1 user(s)" in stats.output, stats.output
            browser.sign_out()
            assert not client.exists(redis_key(cookie)), "sign-out deleted it"
            assert_signed_out(browser, cookie=cookie, cookie_name=app.config["SESSION_COOKIE_NAME"])


def test_plain_redis_to_a_tls_only_server_is_a_503_page(mock_authority, tmp_path):
    with servers.redis_instance(tmp_path, tls=tls_files(tmp_path)) as server:
        plain = f"redis://{servers.REDIS_USER}:{server.password}@localhost:{server.port}/0"
        with serve_app(app_settings(mock_authority, tmp_path, SESSION_TYPE="redis", REDIS_URL=plain)) as (_app, url):
            browser = ScriptedBrowser(url)
            picker = browser.open_account_picker()
            page = browser.choose(picker)
            assert page.response.status_code == 503 and "Try again" in page.text, page.text[:300]
