"""The per-conversation self-service secret: issued once, stored as a keyed digest, checked
in constant time.

Token: ``cs1_`` + base64url of 32 random bytes (256 bits). Stored: HMAC-SHA256 under a
key derived (HKDF, info ``callrec chat self-service secret v1``) from the lookup pepper,
over ``chat id ‖ 0x1f ‖ token``, so a copy of the database neither holds a secret nor lets
anyone test guesses, and a secret of one chat is worthless for another.

:func:`check` answers one yes/no for every way a request can be wrong -- unknown chat,
malformed token, wrong token, spent (a delete used it up), expired -- and does the same
work for an unknown chat as for a known one (a digest over a stand-in, compared with
``hmac.compare_digest``), so neither the answer nor its timing says whether the chat exists.
"""

from __future__ import annotations

import base64
import hmac
import re
from datetime import datetime
from typing import Final

from storage.chats import SecretRow
from storage.crypto import derive_mac_key, mac
from storage.keyring import KeyRing
from storage.models import Rng

PREFIX: Final = "cs1_"
_TOKEN: Final = re.compile(r"cs1_[A-Za-z0-9_-]{43}")
_INFO: Final = b"callrec chat self-service secret v1"
_STAND_IN: Final = "0" * 64


def _digest(keyring: KeyRing, version: int, recording_id: str, token: str) -> str:
    key = derive_mac_key(keyring.pepper(version), info=_INFO)
    return mac(key, f"{recording_id}\x1f{token}".encode("ascii")).hex()


def new_token(rng: Rng) -> str:
    """A fresh secret (shown once, to the platform, for the customer's browser)."""
    return PREFIX + base64.urlsafe_b64encode(rng(32)).rstrip(b"=").decode("ascii")


def issue(
    keyring: KeyRing,
    recording_id: str,
    *,
    rng: Rng,
    now: datetime,
    expires_at: datetime,
    delivery: str,
) -> tuple[str, SecretRow]:
    """A new token and the row that stores only its digest."""
    token = new_token(rng)
    version = keyring.active_pepper_version()
    row = SecretRow(
        recording_id=recording_id,
        digest=_digest(keyring, version, recording_id, token),
        pepper_version=version,
        delivery=delivery,
        issued_at=now,
        expires_at=expires_at,
        spent_at=None,
    )
    return token, row


def well_formed(token: str | None) -> bool:
    """True if ``token`` has the shape of a secret (checked before anything else is read)."""
    return token is not None and _TOKEN.fullmatch(token) is not None


def check(
    keyring: KeyRing, row: SecretRow | None, recording_id: str, token: str | None, *, now: datetime
) -> bool:
    """True only for the right, unspent, unexpired secret of an existing chat."""
    version = row.pepper_version if row is not None else keyring.active_pepper_version()
    presented = token if well_formed(token) else PREFIX + "A" * 43
    expected = row.digest if row is not None else _STAND_IN
    got = _digest(keyring, version, recording_id, str(presented))
    same = hmac.compare_digest(got.encode("ascii"), expected.encode("ascii"))
    if row is None or not well_formed(token):
        return False
    return same and row.spent_at is None and now < row.expires_at
