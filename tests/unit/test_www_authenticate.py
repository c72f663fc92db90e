"""WWW-Authenticate parsing per RFC 7235 §2.1/§4.1 and RFC 6750 §3, and Graph's claims challenge
(https://learn.microsoft.com/entra/identity-platform/claims-challenge)."""

import base64
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from webapp.www_authenticate import (
    MAX_CLAIMS_CHARS,
    MAX_HEADER_CHARS,
    Challenge,
    MalformedHeader,
    UnusableClaims,
    claims_challenge,
    decode_claims,
    parse,
)

CLAIMS = '{"access_token":{"nbf":{"essential":true,"value":"1604106651"}}}'
ENCODED = base64.b64encode(CLAIMS.encode()).decode()
# The example in Microsoft's claims-challenge article.
GRAPH_CHALLENGE = (
    'Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", '
    f'client_id="00000003-0000-0000-c000-000000000000", error="insufficient_claims", claims="{ENCODED}"'
)


def test_graphs_documented_challenge_gives_the_decoded_claims():
    assert claims_challenge([GRAPH_CHALLENGE]) == CLAIMS


def test_parameters_in_any_order_and_names_in_any_case():
    header = f'Bearer CLAIMS="{ENCODED}", Error=insufficient_claims, realm=""'
    assert claims_challenge([header]) == CLAIMS


def test_the_challenge_may_be_in_a_later_header_or_after_another_challenge_in_the_same_header():
    assert claims_challenge(['Basic realm="graph"', GRAPH_CHALLENGE]) == CLAIMS
    assert claims_challenge([f'Basic realm="graph", Negotiate abc==, {GRAPH_CHALLENGE}']) == CLAIMS
    assert claims_challenge([f"{GRAPH_CHALLENGE}, Basic realm=x"]) == CLAIMS


def test_a_challenge_list_in_one_header_is_split_by_scheme():
    challenges = parse(['Newauth realm="apps", type=1, title="Login to \\"apps\\"", Basic realm="simple"'])
    assert challenges == [
        Challenge("Newauth", {"realm": "apps", "type": "1", "title": 'Login to "apps"'}),
        Challenge("Basic", {"realm": "simple"}),
    ]  # RFC 7235 §4.1's example


def test_token68_schemes_alone_and_empty_list_elements():
    assert parse([", Negotiate YIIB+g==,, Bearer ,NTLM"]) == [
        Challenge("Negotiate", {}, "YIIB+g=="),
        Challenge("Bearer", {}),
        Challenge("NTLM", {}),
    ]


def test_quoted_strings_keep_commas_and_escapes():
    challenges = parse(['Bearer error_description="a, b \\\\ c \\"d\\"", error="invalid_token"'])
    assert challenges[0].params == {"error_description": 'a, b \\ c "d"', "error": "invalid_token"}


def test_a_plain_bearer_401_is_no_claims_challenge():
    assert claims_challenge(['Bearer realm="", error="invalid_token"']) is None
    assert claims_challenge([]) is None


@pytest.mark.parametrize(
    "header",
    [
        'Bearer realm="unclosed',
        'Bearer realm="a" error="b"',  # a missing comma
        "Bearer a=, b=c",  # a token68, then no scheme
        "=x",
        'Bearer realm="a", realm="b"',  # §2.1: a parameter once per challenge
        'Bearer realm="\\\x01"',
        'Bearer realm="a\x00"',
        "Negotiate abc def",
    ],
)
def test_headers_that_break_the_grammar_are_refused(header):
    with pytest.raises(MalformedHeader):
        parse([header])


def test_a_huge_header_is_refused_before_it_is_read():
    with pytest.raises(MalformedHeader):
        parse(["Bearer " + ", ".join(f"p{i}=v" for i in range(MAX_HEADER_CHARS))])


@pytest.mark.parametrize(
    "encoded",
    [
        "not base64!",
        base64.b64encode(b"\xff\xfe").decode(),  # not UTF-8
        base64.b64encode(b"not json").decode(),
        base64.b64encode(b"[1, 2]").decode(),  # JSON, not an object
        base64.b64encode(b"{}").decode(),
        base64.b64encode(b"[" * 100_000).decode()[:4000],
        base64.b64encode(json.dumps({"access_token": {"x": "y" * MAX_CLAIMS_CHARS}}).encode()).decode(),
    ],
)
def test_claims_that_cannot_be_used_are_refused(encoded):
    with pytest.raises(UnusableClaims):
        claims_challenge([f'Bearer error="insufficient_claims", claims="{encoded}"'])


def test_an_insufficient_claims_challenge_without_claims_is_refused():
    with pytest.raises(UnusableClaims):
        claims_challenge(['Bearer error="insufficient_claims"'])


def test_url_safe_base64_without_padding_is_read_too():
    raw = '{"access_token":{"acrs":{"essential":true,"value":"c1?"}}}'
    encoded = base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")
    assert decode_claims(encoded) == raw


# Property tests: any well-formed challenge list, serialized with any spacing and parameter order, parses back.
_token = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~!#$%&'*+^`|", min_size=1)
_name = _token.map(str.lower)
_value = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E) | st.sampled_from("\t\x80é"))
_challenge = st.tuples(_token, st.dictionaries(_name, _value, min_size=1, max_size=5))
_space = st.sampled_from(["", " ", "  ", "\t"])


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


@given(st.lists(_challenge, min_size=1, max_size=4), _space, st.booleans())
def test_any_serialized_challenge_list_parses_back(challenges, space, split_headers):
    serialized = [
        f"{scheme} " + f"{space},{space}".join(f"{name}{space}={space}{_quote(v)}" for name, v in params.items())
        for scheme, params in challenges
    ]
    headers = serialized if split_headers else [f"{space},{space}".join(serialized)]
    assert parse(headers) == [Challenge(scheme, params) for scheme, params in challenges]


@given(st.text(max_size=300))
def test_any_text_parses_or_is_refused_cleanly(text):
    try:
        parse([text])
    except MalformedHeader:
        pass


@given(st.dictionaries(_name, _value, max_size=4), st.permutations(range(3)))
def test_the_claims_are_found_whatever_the_other_parameters_and_their_order(others, order):
    ours = [("error", "insufficient_claims"), ("claims", ENCODED), ("realm", "")]
    params = [ours[i] for i in order] + [(n, v) for n, v in others.items() if n not in {"error", "claims", "realm"}]
    header = "Bearer " + ", ".join(f"{name}={_quote(value)}" for name, value in params)
    assert claims_challenge([header]) == CLAIMS
