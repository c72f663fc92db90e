"""Sign-out is final even while an attacker keeps requests running on a copied cookie: under real gunicorn (2
workers x 4 threads), and straight at each store (writers racing a delete)."""

import threading
import time

import pytest
import requests

from tests.support import servers
from tests.support.browser import ScriptedBrowser, is_signed_in
from webapp.session_store import FileStore, RedisStore

TRIALS = 6  # per store; about 2 s each
ATTACKERS = 4


def hammer(url: str, name: str, cookie: str, stop: threading.Event, counts: list):
    """Keep one connection busy with GET /login and GET / on the copied cookie until stop."""
    with requests.Session() as http:
        while not stop.is_set():
            for path in ("/login", "/"):
                try:
                    http.get(f"{url}{path}", headers={"Cookie": f"{name}={cookie}"}, allow_redirects=False, timeout=10)
                    counts.append(1)
                except requests.RequestException:
                    pass


def test_a_copied_cookie_hammering_the_site_never_survives_sign_out(
    store_settings, store, mock_authority, tmp_path, report
):
    # SESSION_IDLE_TIMEOUT=10: a touch (a write of the session) is due every second, so the attacker's requests
    # keep writing the session while the victim signs out.
    settings = store_settings(SESSION_IDLE_TIMEOUT=10)
    revived, requests_sent = 0, []
    with servers.gunicorn(settings, tmp_path, workers=2, threads=4) as server:
        name = "session"
        for _trial in range(TRIALS):
            victim = ScriptedBrowser(server.url)
            victim.sign_in()
            copied = victim.session_cookie()
            stop = threading.Event()
            attackers = [
                threading.Thread(target=hammer, args=(server.url, name, copied, stop, requests_sent))
                for _ in range(ATTACKERS)
            ]
            for thread in attackers:
                thread.start()
            time.sleep(1.1)  # a touch falls due while the attackers' requests are in flight
            signed_out = victim.sign_out()
            assert signed_out.response.status_code == 200, signed_out.text[:300]
            time.sleep(0.3)  # requests that loaded the session before sign-out end meanwhile
            stop.set()
            for thread in attackers:
                thread.join(timeout=15)
            revived += is_signed_in(victim, "/", cookie=copied, cookie_name=name)
            revived += is_signed_in(victim, "/call_api", cookie=copied, cookie_name=name)
    report(
        f"{store}, gunicorn 2x4: copied cookie alive after sign-out in {revived} of {TRIALS} trials "
        f"({len(requests_sent)} attacker requests)"
    )
    assert revived == 0, f"the copied cookie still worked after sign-out in {revived} of {TRIALS} trials"


@pytest.fixture
def raw_store(store, tmp_path, request):
    if store == "redis":
        import redis

        client = redis.Redis.from_url(request.getfixturevalue("redis_url"))
        yield RedisStore(client)
        client.close()
    else:
        yield FileStore(str(tmp_path / "race"))


def test_writers_racing_a_delete_never_bring_the_key_back(raw_store, store, report):
    """Threads replace() the key as fast as they can while another deletes it: it must stay deleted."""
    from webapp.session_store import HEADER, MAGIC

    blob = HEADER.pack(MAGIC, int(time.time()) + 600) + b"x" * 2000
    trials, revived = 150, 0
    for trial in range(trials):
        key = f"{trial:032x}"
        raw_store.create(key, blob, 600)
        go, stop = threading.Barrier(5), threading.Event()

        writers = [threading.Thread(target=rewrite, args=(raw_store, key, blob, go, stop)) for _ in range(4)]
        for thread in writers:
            thread.start()
        go.wait()
        time.sleep(0.002)
        raw_store.delete(key)
        stop.set()
        for thread in writers:
            thread.join()
        revived += raw_store.get(key) is not None
        raw_store.delete(key)
    report(f"{store} store: key revived after delete in {revived} of {trials} races (4 writers each)")
    assert revived == 0


def rewrite(raw_store, key, blob, go, stop):
    """A request saving the session over and over, until the store says it is gone."""
    go.wait()
    while not stop.is_set():
        if not raw_store.replace(key, blob, 600):
            return
