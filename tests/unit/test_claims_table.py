"""The claims table is rendered once per distinct set of claims: a cached table must never show other claims."""

import pytest

from app import create_app
from tests.support.apps import GOOD_SETTINGS
from webapp.claims import claims_table

CLAIMS = {
    "name": "Ada Lovelace",
    "oid": "00000000-0000-4000-8000-00000000000a",
    "exp": 1_900_000_000,
    "roles": ["Reader"],
    "_claim_sources": {"src1": {"endpoint": "https://graph.example.test/"}},
}


@pytest.fixture
def rendering():
    with create_app({**GOOD_SETTINGS, "SECRET_KEY": "x" * 32}).test_request_context():
        yield


@pytest.mark.usefixtures("rendering")
@pytest.mark.parametrize(
    "change",
    [
        {"name": "Grace Hopper"},
        {"roles": ["Reader", "Writer"]},
        {"exp": 1_900_000_001},
        {"_claim_sources": {"src1": {"endpoint": "https://other.example.test/"}}},
        {"email_verified": True},
    ],
)
def test_other_claims_get_their_own_table(change):
    before = claims_table(dict(CLAIMS))
    after = claims_table({**CLAIMS, **change})
    assert after != before
    assert claims_table({**CLAIMS, **change}) == after  # the same claims again: the same table
    assert claims_table(dict(CLAIMS)) == before


@pytest.mark.usefixtures("rendering")
def test_values_equal_in_python_but_not_in_json_stay_apart():
    # true, 1 and 1.0 are equal (and hash alike) in Python; a cache keyed on the values alone would mix them up.
    tables = [claims_table({**CLAIMS, "flag": value}) for value in (True, 1, 1.0)]
    assert ["<td>True</td>" in tables[0], "<td>1</td>" in tables[1], "<td>1.0</td>" in tables[2]] == [True] * 3
