"""Restarts during the day: each app server restarted in turn (as deploy/systemd/webapp@.service's recipe does)
and Redis restarted, while users are signed in and a client keeps asking for a signed-in page every 50 ms."""

import collections
import concurrent.futures
import signal
import threading
import time
from dataclasses import dataclass, field

import pytest
import requests

from tests.support.people import who_is_signed_in

pytestmark = pytest.mark.topology

USERS = 20
COOKIE = "__Host-session"


@dataclass
class Poller:
    """GET url with one session cookie every `interval` seconds, on a thread; count the answers."""

    url: str
    cookie: str
    verify: str
    interval: float = 0.05
    statuses: collections.Counter = field(default_factory=collections.Counter)
    bodies: dict = field(default_factory=dict)  # one body per status, to show in a failure
    _stop: threading.Event = field(default_factory=threading.Event)

    def run(self):
        http = requests.Session()
        http.verify, http.trust_env = self.verify, False
        while not self._stop.is_set():
            try:
                response = http.get(self.url, headers={"Cookie": self.cookie}, allow_redirects=False, timeout=5)
                status = str(response.status_code)
                self.bodies.setdefault(status, response.text[:300])
            except requests.RequestException as error:
                status = type(error).__name__
            self.statuses[status] += 1
            self._stop.wait(self.interval)

    def __enter__(self):
        self._thread = threading.Thread(target=self.run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(timeout=10)

    @property
    def total(self) -> int:
        return sum(self.statuses.values())


def sign_in_users(site, count: int) -> list[tuple[str, str]]:
    """`count` people signed in through nginx and the account picker; [(cookie, name)], cycling the demo users."""
    people = []
    users = site.mock.state.users
    for index in range(count):
        user = users[index % len(users)]
        browser = site.browser()
        assert browser.sign_in(upn=user.upn).h1 == f"Welcome, {user.name}"
        people.append((browser.session_cookie(), user.name))
    return people


def lost_sessions(site, people) -> list[str]:
    """The people whose cookie no longer gets their own page through nginx."""
    pages = who_is_signed_in(site.url, COOKIE, people, verify=str(site.ca_pem))
    return [
        f"{name}: {page}" for (_cookie, name), page in zip(people, pages, strict=True) if page != f"Welcome, {name}"
    ]


def test_rolling_restart_of_each_app_server_loses_nobody(site, report):
    people = sign_in_users(site, USERS)
    durations = []
    with Poller(f"{site.url}/", f"{COOKIE}={people[0][0]}", str(site.ca_pem)) as poller:
        time.sleep(0.5)
        for app in site.apps:
            started = time.monotonic()
            app.restart()
            durations.append(time.monotonic() - started)
            time.sleep(0.5)
    assert poller.total >= 40, poller.statuses
    assert not [status for status in poller.statuses if status.startswith("5") and status != "503"], poller.bodies
    share = poller.statuses["200"] / poller.total
    assert share >= 0.95, f"{share:.1%} of the polls answered 200: {dict(poller.statuses)} {poller.bodies}"
    assert lost_sessions(site, people) == [], "signed-in users lost their session in the restart"
    restarted = {app.port for app in site.apps}
    lines = site.nginx.access_log()[-20:]
    assert site.app_ports_in_log(lines) == restarted, "both restarted servers answer again"
    report(
        f"rolling restart of 2 app servers ({', '.join(f'{d:.1f} s' for d in durations)} each, to /readyz): "
        f"{poller.statuses['200']} of {poller.total} polls every 50 ms answered 200 ({share:.1%}); "
        f"answers {dict(poller.statuses)}; {USERS} of {USERS} users still signed in"
    )


def test_redis_restart_is_a_clear_page_meanwhile_and_nothing_is_lost(site, report):
    people = sign_in_users(site, USERS)
    with Poller(f"{site.url}/", f"{COOKIE}={people[0][0]}", str(site.ca_pem)) as poller:
        time.sleep(0.3)
        site.redis.stop()
        try:
            page = site.browser().http.get(
                f"{site.url}/", headers={"Cookie": f"{COOKIE}={people[1][0]}"}, allow_redirects=False, timeout=10
            )
            assert page.status_code == 503, page.text[:300]
            assert "Try again" in page.text and page.headers["Strict-Transport-Security"], page.text[:300]
            # A sign-in needs no store until its callback, which cannot store the new session: the same page.
            signing_in = site.browser()
            callback = signing_in.choose(signing_in.open_account_picker())
            assert callback.response.status_code == 503 and "Try again" in callback.text, callback.text[:300]
            time.sleep(1)  # down long enough for the poller to see it
        finally:
            site.redis.start()
        restarted = time.monotonic()
        while True:
            browser = site.browser()
            if browser.sign_in().response.status_code == 200:
                break
            assert time.monotonic() - restarted < 10, "sign-in did not work again within 10 s of Redis restarting"
            time.sleep(0.2)
        back_after = time.monotonic() - restarted
        time.sleep(0.3)
    assert not [status for status in poller.statuses if status.startswith("5") and status != "503"], poller.bodies
    assert set(poller.statuses) <= {"200", "503"}, poller.statuses
    assert poller.statuses["503"] >= 5, f"the poller hardly saw Redis down: {poller.statuses}"
    assert lost_sessions(site, people) == [], "Redis' append-only file keeps sessions across a restart"
    report(
        f"Redis restart: polls every 50 ms answered {dict(poller.statuses)}; a new sign-in worked again "
        f"{back_after:.2f} s after Redis started; {USERS} of {USERS} sessions still there"
    )


def test_requests_in_flight_finish_when_their_server_stops(site, report):
    """A stop is graceful (KillSignal=SIGTERM, gunicorn's graceful_timeout): users pages that are waiting on Graph
    when their server is told to stop are answered in full, on both servers, and the next ones go elsewhere."""
    people = sign_in_users(site, 4)
    log_start = site.log_mark()
    stopping = site.apps[0]
    site.mock.state.configure(graph_latency=1.5)
    try:

        def users_page(person):
            cookie, _name = person
            http = requests.Session()
            http.verify, http.trust_env = str(site.ca_pem), False
            return http.get(f"{site.url}/call_api", headers={"Cookie": f"{COOKIE}={cookie}"}, timeout=30)

        with concurrent.futures.ThreadPoolExecutor(len(people)) as pool:
            pages = [pool.submit(users_page, person) for person in people]
            time.sleep(0.5)  # every request is now waiting on Graph, two on each server
            started = time.monotonic()
            stopping.service.stop()
            stopped_after = time.monotonic() - started
            answers = [page.result() for page in pages]
    finally:
        site.mock.state.configure(graph_latency=0.0)
        stopping.service.start()
        stopping.service.wait_until_ready(stopping.direct_url)
    assert [answer.status_code for answer in answers] == [200] * len(people), [a.text[:200] for a in answers]
    assert all("<table" in answer.text for answer in answers)
    pages_log = [line for line in site.log_since(log_start) if '"GET /call_api ' in line]
    assert [line for line in pages_log if f"upstream=127.0.0.1:{stopping.port} upstream_status=200" in line], (
        "none of the pages in flight was on the server that stopped:\n" + "\n".join(pages_log)
    )
    report(
        f"graceful stop: {len(people)} users pages in flight (Graph answering after 1.5 s) all answered 200 while "
        f"one server stopped ({stopped_after:.1f} s to exit)"
    )


def test_reload_replaces_workers_without_a_refused_request(site, report):
    """systemctl reload (ExecReload: SIGHUP): gunicorn starts new workers and retires the old ones on the same
    socket, so nothing is refused and nobody is signed out."""
    people = sign_in_users(site, 4)
    unit = site.apps[0].service.unit()
    assert unit["ExecReload"] == ["/bin/kill -s HUP $MAINPID"]
    with Poller(f"{site.url}/", f"{COOKIE}={people[0][0]}", str(site.ca_pem)) as poller:
        time.sleep(0.3)
        for app in site.apps:
            app.service.process.send_signal(signal.SIGHUP)
            time.sleep(1.5)
    assert set(poller.statuses) == {"200"}, poller.statuses
    assert lost_sessions(site, people) == []
    report(f"reload (SIGHUP) of both app servers: {poller.total} of {poller.total} polls every 50 ms answered 200")


def test_redis_runs_the_deploy_settings_and_the_app_user_reaches_only_its_keys(site):
    """deploy/redis/webapp.conf is in effect, and the ACL its comment gives the app is the one the app works with."""
    import redis

    sign_in_users(site, 1)
    with site.redis_admin() as admin:
        assert admin.config_get("maxmemory-policy") == {"maxmemory-policy": "noeviction"}
        assert admin.config_get("appendonly") == {"appendonly": "yes"}
        keys = admin.keys("*")
        assert keys and all(key.startswith(b"entra:") for key in keys), keys
        admin.set("other-app:secret", "x")
        try:
            with redis.Redis.from_url(site.redis.url) as app_user:
                assert app_user.ping()
                with pytest.raises(redis.exceptions.NoPermissionError):
                    app_user.get("other-app:secret")
                with pytest.raises(redis.exceptions.NoPermissionError):
                    app_user.flushall()
        finally:
            admin.delete("other-app:secret")
    anonymous = redis.Redis(host="127.0.0.1", port=site.redis.port, socket_timeout=5)
    with pytest.raises(redis.exceptions.AuthenticationError):
        anonymous.ping()
    anonymous.close()
