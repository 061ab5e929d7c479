"""The online bank's sign-in assertion: who the logged-in customer is, for a few minutes.

callrec has no customer accounts. When a customer signed in to the online bank opens their
chat history, the bank's server vouches for them with a short-lived token signed by the
bank's Ed25519 key; callrec holds only the public key (``[chat.history] public_keys``), so
it can check an assertion but never mint one. Format (version ``cba1``)::

    cba1.<base64url(payload JSON)>.<base64url(Ed25519 signature over "cba1." + payload part)>

    payload: {"sub": "<customer id>", "aud": "<audience>", "iat": <unix s>, "exp": <unix s>}

Rules: the signature verifies under one of the configured keys (checked before the payload
is read); ``aud`` equals the configured audience; ``exp - iat`` is at most
``max_age_seconds`` (default 300); ``iat - 60 <= now < exp`` (a minute of clock skew);
``sub`` is 1-128 printable ASCII characters. The token is at most 2,048 characters and
travels as ``Authorization: Bearer cba1...``. An assertion may be presented more than once
while it lives (listing is read-only). Refusals are :class:`BadAssertion` with a fixed reason;
the customer id is turned into its keyed digest at once and never logged.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from datetime import datetime
from typing import Any, Final

from recorder.chat.settings import HistorySettings
from recorder.errors import BadAssertion
from storage.crypto import sign, verify_signature
from storage.errors import IntegrityError

VERSION: Final = "cba1"
MAX_TOKEN: Final = 2048
SKEW_SECONDS: Final = 60
_SUB: Final = re.compile(r"[!-~]{1,128}")


def _unb64(text: str) -> bytes:
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise BadAssertion("malformed") from None
    if base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii") != text:
        raise BadAssertion("malformed")
    return raw


def _seconds(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 10**11:
        raise BadAssertion("malformed")
    return value


def verify_assertion(token: str | None, settings: HistorySettings, *, now: datetime) -> str:
    """The customer id the bank vouches for; :class:`BadAssertion` for anything else."""
    if token is None or not token.isascii() or len(token) > MAX_TOKEN:
        raise BadAssertion("missing or malformed")
    parts = token.split(".")
    if len(parts) != 3 or parts[0] != VERSION:
        raise BadAssertion("unsupported version")
    signature = _unb64(parts[2])
    message = f"{parts[0]}.{parts[1]}".encode("ascii")
    for key in settings.public_keys:
        try:
            verify_signature(key, message, signature)
            break
        except IntegrityError:
            continue
    else:
        raise BadAssertion("bad signature")
    try:
        payload: Any = json.loads(_unb64(parts[1]))
    except (ValueError, UnicodeDecodeError):
        raise BadAssertion("malformed") from None
    if not isinstance(payload, dict):
        raise BadAssertion("malformed")
    if payload.get("aud") != settings.audience:
        raise BadAssertion("other audience")
    iat, exp = _seconds(payload.get("iat")), _seconds(payload.get("exp"))
    if exp <= iat or exp - iat > settings.max_age_seconds:
        raise BadAssertion("lifetime too long")
    stamp = now.timestamp()
    if stamp < iat - SKEW_SECONDS:
        raise BadAssertion("not yet valid")
    if stamp >= exp:
        raise BadAssertion("expired")
    sub = payload.get("sub")
    if not isinstance(sub, str) or not _SUB.fullmatch(sub):
        raise BadAssertion("malformed")
    return sub


def make_assertion(seed: bytes, customer_id: str, *, audience: str, issued: int, ttl: int) -> str:
    """An assertion as the bank's side makes it (for tests, the sample and the docs)."""
    body = {"sub": customer_id, "aud": audience, "iat": issued, "exp": issued + ttl}
    part = base64.urlsafe_b64encode(json.dumps(body).encode()).rstrip(b"=").decode("ascii")
    signature = sign(seed, f"{VERSION}.{part}".encode("ascii"))
    return f"{VERSION}.{part}." + base64.urlsafe_b64encode(signature).rstrip(b"=").decode("ascii")
