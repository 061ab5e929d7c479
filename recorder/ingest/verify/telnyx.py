"""Telnyx webhooks: Ed25519 over ``"{telnyx-timestamp}|" + raw body``.

Headers ``telnyx-signature-ed25519`` (standard base64 of exactly 64 bytes) and
``telnyx-timestamp`` (unix seconds, accepted within ``tolerance`` of ``now`` either way;
Telnyx's SDK only refuses old ones, a future timestamp is refused here too). The public
key is the base64 string the Telnyx portal shows (32 raw bytes); listing two keys covers a
key rotation. The signature check itself is :func:`storage.crypto.verify_signature`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from recorder.errors import BadSignature, ConfigError
from recorder.ingest.verify._common import (
    TOLERANCE,
    HeaderInput,
    Headers,
    Limits,
    b64_exact,
    check_tolerance,
    fresh_timestamp,
    require,
)
from storage.crypto import verify_signature
from storage.errors import IntegrityError

SIGNATURE_HEADER = "telnyx-signature-ed25519"
TIMESTAMP_HEADER = "telnyx-timestamp"


@dataclass(frozen=True, slots=True, kw_only=True)
class TelnyxConfig:
    """Telnyx verification settings: the account's public key(s), base64."""

    public_keys: tuple[str, ...]
    tolerance: int = TOLERANCE
    limits: Limits = field(default_factory=Limits)
    _keys: tuple[bytes, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        keys = self.public_keys
        if isinstance(keys, str) or not isinstance(keys, tuple | list) or not keys:
            raise ConfigError("telnyx: public_keys must be a list of base64 keys")
        raw: list[bytes] = []
        for key in keys:
            decoded = b64_exact(key.strip(), 32) if isinstance(key, str) else None
            if decoded is None:
                raise ConfigError("telnyx: a public key is not base64 of 32 bytes")
            raw.append(decoded)
        check_tolerance(self.tolerance, "telnyx")
        object.__setattr__(self, "public_keys", tuple(keys))
        object.__setattr__(self, "_keys", tuple(raw))


@dataclass(frozen=True, slots=True, kw_only=True)
class TelnyxDelivery:
    """A verified Telnyx delivery."""

    timestamp: int


def verify_telnyx(
    body: bytes, headers: HeaderInput, *, now: datetime | float, config: TelnyxConfig
) -> TelnyxDelivery:
    """Verify a Telnyx webhook against ``now`` (aware datetime or unix seconds)."""
    config.limits.check_body(body)
    view = Headers(headers, config.limits)
    signature = b64_exact(require(view, SIGNATURE_HEADER), 64)
    if signature is None:
        raise BadSignature(f"{SIGNATURE_HEADER}: not base64 of 64 bytes")
    stamp_text = require(view, TIMESTAMP_HEADER)
    stamp = fresh_timestamp(stamp_text, TIMESTAMP_HEADER, now=now, tolerance=config.tolerance)
    message = stamp_text.encode("ascii") + b"|" + body
    matched = False
    for key in config._keys:
        try:
            verify_signature(key, message, signature)
        except IntegrityError:
            continue
        matched = True
    if not matched:
        raise BadSignature(f"{SIGNATURE_HEADER}: does not match")
    return TelnyxDelivery(timestamp=stamp)
