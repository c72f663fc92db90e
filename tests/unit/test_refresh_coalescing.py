"""CoalescingHttpClient: one token request per refresh token at once; failures and other calls are not shared."""

import threading
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace

import pytest

from webapp import refresh_coalescing
from webapp.refresh_coalescing import CoalescingHttpClient

URL = "https://login.example.test/tenant/oauth2/v2.0/token"


class SlowTokenEndpoint:
    """Stands in for the network: answers after `release` is set, counting the posts it saw."""

    def __init__(self, status=200, fail=False):
        self.posts, self.status, self.fail = [], status, fail
        self.release = threading.Event()

    def post(self, url, data=None, **kwargs):
        self.posts.append(data)
        self.release.wait(5)
        if self.fail:
            raise ConnectionError("unreachable")
        return SimpleNamespace(status_code=self.status, text="{}", headers={})


def refresh(rt="rt-1"):
    return {"grant_type": "refresh_token", "refresh_token": rt, "client_id": "c", "scope": "openid"}


def post_together(client, endpoint, bodies):
    """Post the bodies from parallel threads while the endpoint holds its answer for a moment."""
    threading.Timer(0.2, endpoint.release.set).start()
    with ThreadPoolExecutor(len(bodies)) as pool:
        return [pool.submit(client.post, URL, data=body) for body in bodies]


def test_concurrent_refreshes_with_one_token_make_one_request():
    endpoint = SlowTokenEndpoint()
    client = CoalescingHttpClient(endpoint, wait_seconds=5)
    futures = post_together(client, endpoint, [refresh() for _ in range(8)])
    responses = {id(future.result()) for future in futures}
    assert len(endpoint.posts) == 1 and len(responses) == 1
    assert client.post(URL, data=refresh()).status_code == 200 and len(endpoint.posts) == 1, "late arrival reuses"


def test_different_refresh_tokens_are_not_coalesced():
    endpoint = SlowTokenEndpoint()
    endpoint.release.set()
    client = CoalescingHttpClient(endpoint, wait_seconds=5)
    client.post(URL, data=refresh("rt-a"))
    client.post(URL, data=refresh("rt-b"))
    client.post(URL, data={"grant_type": "authorization_code", "code": "x"})
    assert len(endpoint.posts) == 3


def test_a_refresh_with_a_claims_challenge_never_shares_a_plain_refresh_answer():
    endpoint = SlowTokenEndpoint()
    endpoint.release.set()
    client = CoalescingHttpClient(endpoint, wait_seconds=5)
    client.post(URL, data=refresh())
    challenged = {**refresh(), "claims": '{"access_token":{"nbf":{"essential":true,"value":"1700000000"}}}'}
    client.post(URL, data=challenged)
    assert len(endpoint.posts) == 2, "the challenged refresh reused the plain refresh's token"


def test_an_error_answer_is_not_reused_later():
    endpoint = SlowTokenEndpoint(status=400)
    endpoint.release.set()
    client = CoalescingHttpClient(endpoint, wait_seconds=5)
    client.post(URL, data=refresh())
    client.post(URL, data=refresh())
    assert len(endpoint.posts) == 2


def test_a_leader_without_an_answer_leaves_waiters_to_try_themselves():
    endpoint = SlowTokenEndpoint(fail=True)
    client = CoalescingHttpClient(endpoint, wait_seconds=5)
    futures = post_together(client, endpoint, [refresh() for _ in range(3)])
    for future in futures:
        with pytest.raises(ConnectionError):
            future.result()
    assert len(endpoint.posts) == 3


def test_success_is_reused_only_for_a_while(monkeypatch):
    endpoint = SlowTokenEndpoint()
    endpoint.release.set()
    client = CoalescingHttpClient(endpoint, wait_seconds=5)
    client.post(URL, data=refresh())
    monkeypatch.setattr(refresh_coalescing, "REUSE_SECONDS", -1)
    client.post(URL, data=refresh())
    assert len(endpoint.posts) == 2


def test_an_answer_the_app_rejected_is_not_reused():
    endpoint = SlowTokenEndpoint()
    endpoint.release.set()
    client = CoalescingHttpClient(endpoint, wait_seconds=5)
    client.post(URL, data=refresh("rt-x"))
    client.forget("rt-x")
    client.post(URL, data=refresh("rt-x"))
    assert len(endpoint.posts) == 2
