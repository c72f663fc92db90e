"""The cryptography of sessions: the cookie's ticket, sealed blobs, and the keys derived from SECRET_KEY.

A session cookie carries a ticket (oauth2-proxy's design): a random id and a random per-session secret. The
store key is a hash of the id, and the stored blob is AES-256-GCM ciphertext under the secret, bound to that key
and to its expiry as associated data. Read access to the store therefore yields neither a usable cookie nor a
token; only the browser holding the cookie can open its session. SECRET_KEY is not needed to read sessions:
it keys the HMACs (CSRF tokens, index names) and the pending sign-in cookies.
"""

import base64
import binascii
import functools
import hashlib
import hmac
import os
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from .session_store import HEADER, MAGIC

ID_BYTES, SECRET_BYTES, NONCE_BYTES = 16, 32, 12
TICKET_LENGTH = 64  # base64url of 48 bytes, no padding


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class Ticket:
    id: bytes
    secret: bytes

    @classmethod
    def new(cls) -> "Ticket":
        return cls(os.urandom(ID_BYTES), os.urandom(SECRET_BYTES))

    @classmethod
    def from_cookie(cls, value: str | None) -> "Ticket | None":
        """The ticket in a cookie value, or None for anything else (including an older app's session ids)."""
        if not value or len(value) != TICKET_LENGTH:
            return None
        try:
            raw = unb64(value)
        except (binascii.Error, ValueError):
            return None
        if len(raw) != ID_BYTES + SECRET_BYTES:
            return None
        return cls(raw[:ID_BYTES], raw[ID_BYTES:])

    @property
    def cookie(self) -> str:
        return b64(self.id + self.secret)

    @functools.cached_property  # read on every request of the session: hashed once per ticket
    def store_key(self) -> str:
        # A hash, so that the store's key names do not reveal even the id half of any cookie.
        return hashlib.sha256(b"session-key|" + self.id).hexdigest()[:32]

    def seal(self, plaintext: bytes, expires: int) -> bytes:
        header = HEADER.pack(MAGIC, expires)
        nonce = os.urandom(NONCE_BYTES)  # random per write; a session is written at most a few thousand times
        return header + nonce + AESGCM(self.secret).encrypt(nonce, plaintext, header + self.store_key.encode())

    def open(self, blob: bytes) -> bytes | None:
        """The plaintext, or None when the blob was not sealed by this ticket for this key (tampered, foreign)."""
        header, nonce = blob[: HEADER.size], blob[HEADER.size : HEADER.size + NONCE_BYTES]
        if len(nonce) != NONCE_BYTES:
            return None
        try:
            return AESGCM(self.secret).decrypt(
                nonce, blob[HEADER.size + NONCE_BYTES :], header + self.store_key.encode()
            )
        except (InvalidTag, ValueError):
            return None


class DerivedKeys:
    """Independent keys for each use of SECRET_KEY (HKDF-SHA256), so no two uses can be confused."""

    def __init__(self, secret_key: str):
        self._root = secret_key.encode()
        self.csrf = self._derive(b"csrf v1")
        self.index = self._derive(b"session index v1")
        self.pending = self._derive(b"pending sign-in v1")

    def _derive(self, purpose: bytes) -> bytes:
        return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(self._root)

    def index_name(self, kind: str, value: str) -> str:
        """An index name that reveals nothing of the user id or Entra session id it stands for."""
        digest = hmac.new(self.index, f"{kind}|{value}".encode(), hashlib.sha256).hexdigest()[:32]
        return f"{kind}-{digest}"

    def csrf_token(self, ticket: Ticket) -> str:
        return b64(hmac.new(self.csrf, ticket.id, hashlib.sha256).digest())
