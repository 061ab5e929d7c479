"""Signed callback query parameters, for providers that do not sign the URL (Telnyx).

The callback URL an operator configures at a provider carries call metadata as query
parameters: ``agent`` (whose call it is: access), ``service`` (the line that was called)
and ``ai_notice`` (the caller was told AI is used: P18). Twilio's signature covers the
whole URL; Telnyx's covers only the body, so anyone who captured one genuine Telnyx
delivery could replay it within the timestamp window as ``?agent=carla&ai_notice=1``.

So for Telnyx those parameters count only with ``sig``: HMAC-SHA256 (base64url, no
padding) over the canonical query, under a key derived from the keyring
(:func:`query_key`). ``callrec webhooks callback-url`` prints such URLs. Canonical query:
the signed names present, sorted, each ``name=value`` with RFC 3986 percent-encoding,
joined by ``&`` (other parameters are ignored, as before). A missing, wrong or
duplicated ``sig`` is :class:`~recorder.errors.BadSignature`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Sequence
from urllib.parse import quote

from recorder.errors import BadSignature
from storage.crypto import derive_mac_key, mac

SIGNED = ("agent", "ai_notice", "service")
SIG = "sig"
_INFO = b"callrec callback query v1"


def query_key(audit_signing_seed: bytes) -> bytes:
    """The query-signing key: HKDF of the keyring's integrity seed with its own label."""
    return derive_mac_key(audit_signing_seed, info=_INFO)


def _canonical(pairs: Sequence[tuple[str, str]]) -> bytes:
    signed = sorted((n, v) for n, v in pairs if n in SIGNED)
    return "&".join(f"{quote(n, safe='')}={quote(v, safe='')}" for n, v in signed).encode()


def sign_query(key: bytes, pairs: Sequence[tuple[str, str]]) -> str:
    """The ``sig`` value for the signed parameters among ``pairs``."""
    return base64.urlsafe_b64encode(mac(key, _canonical(pairs))).rstrip(b"=").decode()


def check_query(key: bytes, pairs: Sequence[tuple[str, str]]) -> None:
    """:class:`BadSignature` unless the signed parameters present carry a valid ``sig``
    (no signed parameter at all needs none)."""
    if not any(n in SIGNED for n, _ in pairs):
        return
    sigs = [v for n, v in pairs if n == SIG]
    if len(sigs) != 1:
        raise BadSignature("query: agent, service and ai_notice need one sig (callrec "
                           "webhooks callback-url)")  # fmt: skip
    expected = sign_query(key, pairs)
    if not hmac.compare_digest(
        hashlib.sha256(sigs[0].encode()).digest(), hashlib.sha256(expected.encode()).digest()
    ):
        raise BadSignature("query: sig does not match its parameters")
