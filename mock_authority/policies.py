"""Conditional Access and session revocation, per user, and what each sign-in (sid) proved: the state behind
conditional_access.py. Thread-safe; MockState holds one and replaces it on reset."""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass

MFA_CODES = (50076, 50079)  # 50076: MFA required; 50079: the user must register for MFA first


@dataclass(frozen=True)
class MfaPolicy:
    """A Conditional Access policy that requires MFA of one user: its id (sent back as capolids) and AADSTS code."""

    policy_id: str
    code: int


@dataclass(frozen=True)
class SignInFacts:
    """What an interactive sign-in of one sid proved, and when (the mock's clock)."""

    user_oid: str
    authenticated_at: float
    mfa: bool


class SignInPolicies:
    """Who is blocked, who must use MFA, whose sessions were revoked when; and each sid's last sign-in."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._blocked: dict[str, str] = {}  # oid -> blocking policy id
        self._mfa: dict[str, MfaPolicy] = {}
        self._revoked: dict[str, float] = {}  # oid -> when its sessions were revoked
        self._sign_ins: dict[str, SignInFacts] = {}  # sid -> facts
        self._mfa_approved: set[str] = set()  # oids who approved an MFA request on the way to a code

    def block(self, oid: str, blocked: bool = True) -> None:
        with self._lock:
            if blocked:
                self._blocked.setdefault(oid, str(uuid.uuid4()))
            else:
                self._blocked.pop(oid, None)

    def blocking_policy(self, oid: str) -> str | None:
        """The id of the policy that blocks this user, if one does."""
        with self._lock:
            return self._blocked.get(oid)

    def require_mfa(self, oid: str, code: int = 50076) -> MfaPolicy:
        if code not in MFA_CODES:
            raise ValueError(f"code must be one of {MFA_CODES}, not {code}")
        with self._lock:
            policy = MfaPolicy(self._mfa[oid].policy_id if oid in self._mfa else str(uuid.uuid4()), code)
            self._mfa[oid] = policy
            return policy

    def lift_mfa(self, oid: str) -> None:
        with self._lock:
            self._mfa.pop(oid, None)

    def mfa_policy(self, oid: str) -> MfaPolicy | None:
        with self._lock:
            return self._mfa.get(oid)

    def revoke(self, oid: str, when: float) -> float:
        """Revoke every session and refresh token of the user issued before `when`; returns `when`."""
        with self._lock:
            self._revoked[oid] = when
            return when

    def revoked_at(self, oid: str) -> float | None:
        with self._lock:
            return self._revoked.get(oid)

    def approve_mfa(self, oid: str) -> None:
        """The user approved the MFA request; the sign-in it belongs to (signed_in) takes the approval."""
        with self._lock:
            self._mfa_approved.add(oid)

    def signed_in(self, sid: str, user_oid: str, when: float) -> SignInFacts:
        """Note an interactive sign-in (with MFA if just approved); MFA done earlier in the same session, since any
        revocation, stays done."""
        with self._lock:
            facts = SignInFacts(user_oid, when, user_oid in self._mfa_approved)
            self._mfa_approved.discard(user_oid)
            previous = self._sign_ins.get(sid)
            revoked = self._revoked.get(facts.user_oid, float("-inf"))
            kept = previous is not None and previous.user_oid == facts.user_oid and previous.authenticated_at >= revoked
            mfa = facts.mfa or (kept and previous is not None and previous.mfa)
            self._sign_ins[sid] = SignInFacts(facts.user_oid, facts.authenticated_at, mfa)
            return self._sign_ins[sid]

    def sign_in_of(self, sid: str) -> SignInFacts | None:
        with self._lock:
            return self._sign_ins.get(sid)
