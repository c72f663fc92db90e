"""A bounded load through nginx: 200 people signed in for real, then a few thousand requests for their pages from
16 connections at once; every answer must be that person's own page, and the latency percentiles are printed."""

import concurrent.futures
import statistics
import threading
import time

import pytest
import requests

from tests.support.html import Page

pytestmark = pytest.mark.topology

PEOPLE = 200
REQUESTS = 3000
CONNECTIONS = 16
CALL_API_EVERY = 10  # one request in ten is the users page (a Graph call); the rest the signed-in index


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def test_two_hundred_signed_in_people_and_three_thousand_requests(site, report):
    users = [
        site.mock.state.add_user(name=f"Load User {index}", upn=f"load.user{index}@contoso.example")
        for index in range(PEOPLE)
    ]

    def sign_in(user):
        browser = site.browser()
        started = time.monotonic()
        page = browser.sign_in(upn=user.upn)
        assert page.h1 == f"Welcome, {user.name}", page.text[:300]
        return browser.session_cookie(), user.name, time.monotonic() - started

    started = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        people = list(pool.map(sign_in, users))
    sign_in_seconds = time.monotonic() - started

    local = threading.local()

    def one(index):
        cookie, name, _ = people[index % len(people)]
        if not hasattr(local, "http"):
            local.http = requests.Session()
            local.http.verify, local.http.trust_env = str(site.ca_pem), False
        path = "/call_api" if index % CALL_API_EVERY == 0 else "/"
        sent = time.monotonic()
        response = local.http.get(
            f"{site.url}{path}", headers={"Cookie": f"__Host-session={cookie}"}, allow_redirects=False, timeout=30
        )
        latency = time.monotonic() - sent
        if response.status_code != 200:
            return path, latency, f"{response.status_code}: {response.text[:200]}"
        if path == "/" and Page(response).h1 != f"Welcome, {name}":
            return path, latency, f"someone else's page: {Page(response).h1}"
        return path, latency, None

    started = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(CONNECTIONS) as pool:
        results = list(pool.map(one, range(REQUESTS)))
    elapsed = time.monotonic() - started

    errors = [(path, error) for path, _latency, error in results if error]
    assert not errors, f"{len(errors)} of {REQUESTS} requests failed, e.g. {errors[:3]}"
    figures = []
    for path in ("/", "/call_api"):
        ms = [latency * 1000 for p, latency, _ in results if p == path]
        figures.append(
            f"{path} ×{len(ms)}: p50 {statistics.median(ms):.1f} ms, p90 {percentile(ms, 0.9):.1f}, "
            f"p99 {percentile(ms, 0.99):.1f}, max {max(ms):.1f}"
        )
    sign_in_ms = [seconds * 1000 for *_, seconds in people]
    report(
        f"load through nginx (https, 2 app servers × {site.workers} workers × {site.threads} threads, Redis): "
        f"{PEOPLE} real sign-ins in "
        f"{sign_in_seconds:.1f} s (8 at a time; p50 {statistics.median(sign_in_ms):.0f} ms each), then "
        f"{REQUESTS} requests from {CONNECTIONS} connections in {elapsed:.1f} s ({REQUESTS / elapsed:.0f}/s), "
        f"no errors; " + "; ".join(figures)
    )
