"""Metric names and labels: bounded values only, never what a client or the authority sent as-is."""

import requests
from prometheus_client import REGISTRY

from webapp import metrics
from webapp.errors import SignInFailure


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_an_unknown_error_code_is_counted_as_other():
    # A callback's ?error= is the client's to choose: a label value per string would be unbounded.
    assert metrics.error_label("invalid_grant") == "invalid_grant"
    assert metrics.error_label("alice@contoso.example") == "other"
    assert metrics.error_label(None) == "other"


def test_a_failed_sign_in_is_counted_by_its_error_code_alone():
    @metrics.counts_sign_ins
    def finish() -> str:
        raise SignInFailure(400, "state_mismatch", "alice@contoso.example's state")

    before = value("webapp_sign_ins_total", outcome="failure", error="state_mismatch")
    try:
        finish()
    except SignInFailure:
        pass
    assert value("webapp_sign_ins_total", outcome="failure", error="state_mismatch") == before + 1
    assert not [s for m in REGISTRY.collect() for s in m.samples if "alice" in repr(s.labels)]


def test_a_refresh_is_counted_by_the_oauth_error_in_the_answer():
    answer = requests.Response()
    answer.status_code, answer._content = 400, b'{"error": "invalid_grant", "error_description": "AADSTS70000"}'
    before = value("webapp_token_refreshes_total", outcome="invalid_grant")
    metrics.count_refresh(answer)
    assert value("webapp_token_refreshes_total", outcome="invalid_grant") == before + 1


def test_every_label_name_is_bounded():
    names = {
        metric._name: tuple(metric._labelnames)
        for metric in (
            metrics.SIGN_INS,
            metrics.TOKEN_REFRESHES,
            metrics.GRAPH_CALLS,
            metrics.REQUEST_DURATION,
            metrics.STORE_OPERATIONS,
            metrics.STORE_ERRORS,
        )
    }
    assert names == {
        "webapp_sign_ins": ("outcome", "error"),
        "webapp_token_refreshes": ("outcome",),
        "webapp_graph_requests": ("status",),
        "webapp_request_duration_seconds": ("route", "status"),
        "webapp_session_store_operations": ("store", "operation"),
        "webapp_session_store_errors": ("store", "operation"),
    }
