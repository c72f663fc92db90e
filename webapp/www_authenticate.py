"""WWW-Authenticate headers (RFC 7235 §4.1, §2.1; RFC 6750 §3) parsed into challenges, and Graph's claims challenge.

    WWW-Authenticate = 1#challenge
    challenge        = auth-scheme [ 1*SP ( token68 / #auth-param ) ]
    auth-param       = token BWS "=" BWS ( token / quoted-string )

A header may hold several challenges, a response several headers (equivalent to one, comma-joined: RFC 7230
§3.2.2), and parameters come in any order. Graph's claims challenge is a Bearer challenge with
error="insufficient_claims" and claims=<base64 of a JSON claims request>
(https://learn.microsoft.com/entra/identity-platform/claims-challenge).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

MAX_HEADER_CHARS = 16_384  # all WWW-Authenticate values together; Graph's are a few hundred characters
# The decoded claims travel in the sealed pending sign-in cookie (twice: as msal's flow field and in the
# authorize URL), which must stay under 4 KB; Entra's claims requests are tens to a few hundred bytes (nbf,
# acrs, capolids with a few policy ids).
MAX_CLAIMS_CHARS = 600

_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_TOKEN68 = re.compile(r"[A-Za-z0-9\-._~+/]+=*")
_WS = re.compile(r"[ \t]*")
_QDTEXT = re.compile(r"[\t \x21\x23-\x5b\x5d-\x7e\x80-\xff]+")
_QUOTED_PAIR_CHAR = re.compile(r"[\t \x21-\x7e\x80-\xff]")


class MalformedHeader(ValueError):
    """The header does not follow RFC 7235's grammar (or is too large to read)."""


class UnusableClaims(ValueError):
    """An insufficient_claims challenge whose claims are not base64 of a JSON object (or too large)."""


@dataclass(frozen=True)
class Challenge:
    scheme: str  # as sent; compare case-insensitively
    params: Mapping[str, str]  # names lower-cased (they are case-insensitive), values unquoted
    token68: str | None = None

    def is_scheme(self, name: str) -> bool:
        return self.scheme.lower() == name.lower()


def parse(values: Iterable[str]) -> list[Challenge]:
    """Every challenge in these header values, in order; MalformedHeader if any value breaks the grammar."""
    values = list(values)
    if sum(len(value) for value in values) > MAX_HEADER_CHARS:
        raise MalformedHeader("the WWW-Authenticate headers are too large")
    challenges: list[Challenge] = []
    for value in values:
        challenges.extend(_Parser(value).challenges())
    return challenges


def claims_challenge(values: Iterable[str]) -> str | None:
    """The decoded claims JSON of a Bearer insufficient_claims challenge, or None if there is none.

    MalformedHeader for a header that cannot be read; UnusableClaims for claims that cannot be used."""
    for challenge in parse(values):
        if not challenge.is_scheme("Bearer") or challenge.params.get("error") != "insufficient_claims":
            continue
        encoded = challenge.params.get("claims")
        if encoded is None:
            raise UnusableClaims("the insufficient_claims challenge carries no claims")
        return decode_claims(encoded)
    return None


def decode_claims(encoded: str) -> str:
    """The JSON text of base64 (standard or URL-safe, padding optional) claims; UnusableClaims otherwise."""
    text = encoded.strip()
    if len(text) > MAX_CLAIMS_CHARS * 4 // 3 + 4:
        raise UnusableClaims("the claims challenge is too large")
    try:
        raw = base64.b64decode(text.replace("-", "+").replace("_", "/") + "=" * (-len(text) % 4), validate=True)
        decoded = raw.decode("utf-8")
        claims = json.loads(decoded)
    except (binascii.Error, ValueError, RecursionError):
        raise UnusableClaims("the claims challenge is not base64 of JSON") from None
    if not isinstance(claims, dict) or not claims:
        raise UnusableClaims("the claims challenge is not a JSON object")
    if len(decoded) > MAX_CLAIMS_CHARS:
        raise UnusableClaims("the claims challenge is too large")
    return decoded


class _Parser:
    """One header value, read left to right."""

    def __init__(self, text: str):
        self.text = text
        self.pos = 0

    def challenges(self) -> list[Challenge]:
        found: list[Challenge] = []
        self._list_separators()
        while not self._at_end():
            found.append(self._challenge())
            self._list_separators()
        return found

    def _challenge(self) -> Challenge:
        scheme = self._match(_TOKEN)
        if scheme is None:
            raise MalformedHeader(f"an auth-scheme was expected at character {self.pos}")
        if not self._spaces():  # a scheme alone
            self._end_of_element()
            return Challenge(scheme, {})
        if self._at_end() or self.text[self.pos] == ",":
            return Challenge(scheme, {})
        if not self._param_ahead():
            token68 = self._match(_TOKEN68)
            if token68 is None:
                raise MalformedHeader(f"a token68 or auth-param was expected at character {self.pos}")
            self._end_of_element()
            return Challenge(scheme, {}, token68)
        params: dict[str, str] = {}
        while True:
            name, value = self._param()
            if name in params:  # RFC 7235 §2.1: each parameter name only once per challenge
                raise MalformedHeader(f"the parameter {name!r} appears twice in one challenge")
            params[name] = value
            # After a comma: another parameter of this challenge, or the next challenge.
            self._list_separators()
            if self._at_end() or not self._param_ahead():
                return Challenge(scheme, params)

    def _param_ahead(self) -> bool:
        """Whether `token BWS "="` (and not a token68's padding) starts here."""
        match = _TOKEN.match(self.text, self.pos)
        if match is None:
            return False
        after = _WS.match(self.text, match.end())
        end = after.end() if after else match.end()
        if end >= len(self.text) or self.text[end] != "=":
            return False
        # token68 ends in "=" padding followed by the end or a comma: "abc==" is not a parameter.
        rest = _WS.match(self.text, end + 1)
        nxt = rest.end() if rest else end + 1
        return nxt < len(self.text) and self.text[nxt] not in ",="

    def _param(self) -> tuple[str, str]:
        name = self._match(_TOKEN)
        if name is None:
            raise MalformedHeader(f"a parameter name was expected at character {self.pos}")
        self._spaces()
        if not self.text.startswith("=", self.pos):
            raise MalformedHeader(f"'=' was expected at character {self.pos}")
        self.pos += 1
        self._spaces()
        if self.text.startswith('"', self.pos):
            value = self._quoted()
        else:
            token = self._match(_TOKEN)
            if token is None:
                raise MalformedHeader(f"a parameter value was expected at character {self.pos}")
            value = token
        self._end_of_element()
        return name.lower(), value

    def _quoted(self) -> str:
        self.pos += 1  # the opening quote
        parts: list[str] = []
        while True:
            text = self._match(_QDTEXT)
            if text:
                parts.append(text)
            if self._at_end():
                raise MalformedHeader("a quoted string is not closed")
            char = self.text[self.pos]
            if char == '"':
                self.pos += 1
                return "".join(parts)
            if char == "\\" and self.pos + 1 < len(self.text):
                escaped = self.text[self.pos + 1]
                if not _QUOTED_PAIR_CHAR.fullmatch(escaped):
                    raise MalformedHeader(f"a control character is escaped at character {self.pos}")
                parts.append(escaped)
                self.pos += 2
                continue
            raise MalformedHeader(f"character {self.pos} is not allowed in a quoted string")

    def _end_of_element(self) -> None:
        """After a list element: spaces, then a comma or the end."""
        self._spaces()
        if not self._at_end() and self.text[self.pos] != ",":
            raise MalformedHeader(f"',' was expected at character {self.pos}")

    def _list_separators(self) -> None:
        """RFC 7230 §7: empty list elements and whitespace around commas are allowed."""
        while True:
            self._spaces()
            if self._at_end() or self.text[self.pos] != ",":
                return
            self.pos += 1

    def _spaces(self) -> bool:
        match = _WS.match(self.text, self.pos)
        moved = match is not None and match.end() > self.pos
        if match:
            self.pos = match.end()
        return moved

    def _match(self, pattern: re.Pattern[str]) -> str | None:
        match = pattern.match(self.text, self.pos)
        if match is None:
            return None
        self.pos = match.end()
        return match.group(0)

    def _at_end(self) -> bool:
        return self.pos >= len(self.text)
