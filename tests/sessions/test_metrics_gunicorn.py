"""Prometheus metrics under gunicorn with several workers: /metrics adds up every worker's counts (multiprocess
mode), whichever worker answers the scrape; no /metrics unless METRICS=true."""

import re

import requests
from prometheus_client.parser import text_string_to_metric_families

from tests.support import servers
from tests.support.apps import app_settings
from tests.support.browser import ScriptedBrowser

WORKERS = 3
REQUESTS = 40
SIGN_INS = 4


def samples(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = requests.get(f"{url}/metrics", headers={"Connection": "close"}, timeout=10)
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def total(found: dict, name: str, **labels: str) -> float:
    return sum(value for (n, got), value in found.items() if n == name and labels.items() <= dict(got).items())


def test_counts_add_up_across_workers(mock_authority, tmp_path, report):
    settings = app_settings(mock_authority, tmp_path, METRICS="true")
    with servers.gunicorn(settings, tmp_path, workers=WORKERS) as server:
        for _ in range(REQUESTS):  # a new connection each time, so the workers share them out
            response = requests.get(f"{server.url}/healthz", headers={"Connection": "close"}, timeout=10)
            assert response.status_code == 200
        for _ in range(SIGN_INS):
            browser = ScriptedBrowser(server.url)
            browser.http.headers["Connection"] = "close"
            assert browser.sign_in().response.status_code == 200
        pids = set(re.findall(r"Booting worker with pid: (\d+)", server.log()))
        found = samples(server.url)

    assert len(pids) >= 2, "gunicorn started fewer than two workers"
    healthz = total(found, "webapp_request_duration_seconds_count", route="/healthz", status="200")
    assert healthz == REQUESTS, f"{healthz} of {REQUESTS} /healthz requests counted"
    assert total(found, "webapp_sign_ins_total", outcome="success") == SIGN_INS
    assert total(found, "webapp_sign_ins_total", outcome="failure") == 0
    assert total(found, "webapp_graph_requests_total") == 0  # the home page calls no API
    assert total(found, "webapp_session_store_operations_total", operation="create") >= SIGN_INS
    assert total(found, "webapp_active_sessions") == SIGN_INS
    report(f"gunicorn, {len(pids)} workers: {REQUESTS} requests and {SIGN_INS} sign-ins, all counted in one scrape")


def test_no_metrics_unless_enabled(mock_authority, tmp_path):
    with servers.gunicorn(app_settings(mock_authority, tmp_path), tmp_path, workers=2) as server:
        assert requests.get(f"{server.url}/metrics", timeout=10).status_code == 404


def test_metrics_port_serves_every_workers_counts(mock_authority, tmp_path):
    port = servers.free_port()
    settings = app_settings(mock_authority, tmp_path, METRICS_PORT=str(port))
    with servers.gunicorn(settings, tmp_path, workers=WORKERS) as server:
        for _ in range(REQUESTS):
            assert requests.get(f"{server.url}/healthz", headers={"Connection": "close"}, timeout=10).ok
        assert requests.get(f"{server.url}/metrics", timeout=10).status_code == 404  # not on the app: METRICS off
        found = samples(f"http://127.0.0.1:{port}")
    assert total(found, "webapp_request_duration_seconds_count", route="/healthz") == REQUESTS
