"""The AADSTS table: every code explained three ways, codes read from Entra's error shape, the README in step."""

from pathlib import Path

import pytest

from webapp import aadsts
from webapp.errors import SignInFailure

ISSUE_CODES = (
    "50011 7000215 7000222 65001 90094 700016 50076 50079 53003 500113 90102 700082 50194 700027 50020 9002313"
)


@pytest.mark.parametrize("code", sorted(aadsts.TABLE))
def test_every_code_says_what_happened_why_and_the_fix(code):
    explanation = aadsts.explain(code)
    assert explanation and explanation.code == code
    assert all(len(text) > 20 for text in (explanation.what, explanation.cause, explanation.fix))


def test_the_issue_codes_are_all_explained():
    assert not [code for code in ISSUE_CODES.split() if aadsts.explain(code) is None]
    assert len(aadsts.TABLE) >= 15


def test_the_redirect_uri_mismatch_says_where_to_register_it():
    explanation = aadsts.explain("AADSTS50011")
    assert explanation and explanation.redirect_uri
    assert "App registrations > (this app) > Authentication > Web > Redirect URIs" in explanation.fix


def entra_error(code, error="invalid_grant"):
    # Entra's token-endpoint error shape (reference-error-codes.md, "Handling error codes in your application").
    return {
        "error": error,
        "error_description": f"AADSTS{code}: Something.\r\nTrace ID: 0000aaaa-11bb-cccc-dd33-eeeeee333333\r\n"
        "Correlation ID: aaaa0000-bb11-2222-33cc-444444dddddd\r\nTimestamp: 2016-01-09 02:02:12Z",
        "error_codes": [code],
        "timestamp": "2016-01-09 02:02:12Z",
        "trace_id": "0000aaaa-11bb-cccc-dd33-eeeeee333333",
        "correlation_id": "aaaa0000-bb11-2222-33cc-444444dddddd",
        "error_uri": f"https://login.microsoftonline.com/error?code={code}",
    }


def test_the_code_is_read_from_error_codes_first():
    result = entra_error(50020)
    result["error_description"] = "AADSTS70008: another"
    assert aadsts.code_of(result) == "50020" and aadsts.codes_of(result) == ["50020", "70008"]


def test_the_code_is_read_from_the_description_of_an_authorize_redirect():
    # Authorize error redirects carry no error_codes, only the description (and error_uri).
    failure = SignInFailure.from_result(400, {"error": "invalid_request", "error_description": "AADSTS50194: x"})
    assert failure.aadsts == "50194" and failure.explanation == aadsts.explain(50194)


def test_the_ids_and_timestamp_are_kept():
    failure = SignInFailure.from_result(400, entra_error(700082))
    assert failure.timestamp == "2016-01-09 02:02:12Z" and failure.trace_id and failure.correlation_id
    del_keys = entra_error(700082)
    for key in ("timestamp", "trace_id", "correlation_id"):
        del del_keys[key]
    again = SignInFailure.from_result(400, del_keys)
    assert (again.timestamp, again.trace_id, again.correlation_id) == (
        failure.timestamp,
        failure.trace_id,
        failure.correlation_id,
    )


def test_an_unknown_code_links_to_microsofts_lookup():
    failure = SignInFailure.from_result(400, entra_error(123456))
    assert failure.explanation is None
    assert failure.lookup_url == "https://login.microsoftonline.com/error?code=123456"
    assert aadsts.lookup_url("00042") == "https://login.microsoftonline.com/error?code=42"


def test_no_code_no_lookup():
    assert SignInFailure.from_result(400, {"error": "access_denied"}).lookup_url is None


def test_the_readme_table_is_generated_from_the_codebook():
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    assert aadsts.markdown_table() in readme, (
        "run: python -c 'from webapp import aadsts; print(aadsts.markdown_table())'"
    )
