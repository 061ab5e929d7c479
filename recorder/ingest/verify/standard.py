"""Standard Webhooks (standardwebhooks.com): the generic signed upload.

Headers ``webhook-id``, ``webhook-timestamp`` (unix seconds, within ``tolerance`` of
``now``) and ``webhook-signature``: a space-separated list of ``v1,<base64>`` entries;
entries of other versions (``v1a`` is Ed25519) are skipped, and any v1 entry may match,
so a sender can rotate its secret. Signed content is ``"{id}.{timestamp}." + raw body``,
HMAC-SHA256 under the secret ``whsec_<base64>``; a receiver may list two secrets too.

The body of an upload may be large, so verification also streams:
:func:`begin_standard_webhook` checks the headers before any body byte is read, the
caller feeds chunks to :meth:`StandardWebhookStream.update` while it writes them out
sealed, and commits nothing until :meth:`StandardWebhookStream.verify` has passed.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass, field
from datetime import datetime

from recorder.errors import BadSignature, ConfigError, MalformedRequest
from recorder.ingest.verify._common import (
    TOLERANCE,
    HeaderInput,
    Headers,
    Limits,
    Secret,
    b64_exact,
    check_tolerance,
    fresh_timestamp,
    require,
    secrets_tuple,
)

ID_HEADER = "webhook-id"
TIMESTAMP_HEADER = "webhook-timestamp"
SIGNATURE_HEADER = "webhook-signature"
_PREFIX = "whsec_"  # the conventional prefix of a secret
#: Shortest secret accepted (the spec recommends 24 to 64 bytes).
MIN_SECRET_BYTES = 16

# Printable ASCII without space and without '.', the separator of the signed content:
# an id containing '.' could shift bytes between id, timestamp and body.
_ID = re.compile(r"[!-\-/-~]{1,256}")
_BASE64 = re.compile(r"[A-Za-z0-9+/]+={0,2}")
_VERSION = re.compile(r"v[0-9]{1,3}[a-z]{0,3}")


def _key(secret: Secret) -> Secret:
    try:
        text = secret.reveal().decode("ascii").strip()
    except UnicodeDecodeError:
        raise ConfigError("standard webhooks: a secret is not whsec_<base64>") from None
    text = text.removeprefix(_PREFIX)
    padded = text + "=" * (-len(text) % 4)
    try:
        raw = base64.b64decode(padded, validate=True) if _BASE64.fullmatch(text) else b""
    except ValueError:
        raw = b""
    if len(raw) < MIN_SECRET_BYTES:
        raise ConfigError(
            f"standard webhooks: a secret is not whsec_<base64> of at least "
            f"{MIN_SECRET_BYTES} bytes"
        )
    return Secret(raw)


@dataclass(frozen=True, slots=True, kw_only=True)
class StandardWebhooksConfig:
    """Receiver settings: the secret(s) as ``whsec_...`` text, wrapped in :class:`Secret`."""

    secrets: tuple[Secret, ...] = field(repr=False)
    tolerance: int = TOLERANCE
    limits: Limits = field(default_factory=Limits)
    _keys: tuple[Secret, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        secrets = secrets_tuple(self.secrets, "standard webhooks")
        check_tolerance(self.tolerance, "standard webhooks")
        object.__setattr__(self, "secrets", secrets)
        object.__setattr__(self, "_keys", tuple(_key(s) for s in secrets))


@dataclass(frozen=True, slots=True, kw_only=True)
class StandardDelivery:
    """A verified delivery: ``msg_id`` is the sender's idempotency key."""

    msg_id: str
    timestamp: int


class StandardWebhookStream:
    """Incremental verification of one delivery's body (see the module docstring)."""

    __slots__ = ("_delivery", "_finished", "_macs", "_max_bytes", "_signatures", "_size")

    def __init__(
        self,
        delivery: StandardDelivery,
        macs: list[hmac.HMAC],
        signatures: list[bytes],
        max_bytes: int,
    ) -> None:
        self._delivery = delivery
        self._macs = macs
        self._signatures = signatures
        self._max_bytes = max_bytes
        self._size = 0
        self._finished = False

    def update(self, chunk: bytes) -> None:
        """Add the next body bytes; over ``max_bytes`` → MalformedRequest (too large)."""
        if self._finished:
            raise ValueError("stream already verified")
        self._size += len(chunk)
        if self._size > self._max_bytes:
            self._finished = True
            raise MalformedRequest(f"body larger than {self._max_bytes} bytes", too_large=True)
        for mac in self._macs:
            mac.update(chunk)

    def verify(self) -> StandardDelivery:
        """Check the signature over everything fed so far; BadSignature unless it matches."""
        if self._finished:
            raise ValueError("stream already verified")
        self._finished = True
        matched = False
        for mac in self._macs:
            digest = mac.digest()
            for signature in self._signatures:
                matched |= hmac.compare_digest(digest, signature)
        if not matched:
            raise BadSignature(f"{SIGNATURE_HEADER}: no signature matches")
        return self._delivery


def _signatures(header: str, name: str = SIGNATURE_HEADER) -> list[bytes]:
    """The v1 signatures of the header. Other versions are skipped; a malformed entry,
    or a v1 entry that is not base64 of 32 bytes, makes the whole header garbled."""
    found = []
    for entry in header.split():
        version, separator, value = entry.partition(",")
        if not separator or not _VERSION.fullmatch(version) or not value:
            raise BadSignature(f"{name}: garbled")
        if version == "v1":
            raw = b64_exact(value, 32)
            if raw is None:
                raise BadSignature(f"{name}: garbled")
            found.append(raw)
    if not found:
        raise BadSignature(f"{name}: no v1 signature")
    return found


def check_signed(config: StandardWebhooksConfig, header: str, name: str, content: bytes) -> None:
    """:class:`BadSignature` unless a v1 signature in ``header`` (the value of the header
    ``name``) is HMAC-SHA256 of ``content`` under one of the configured secrets."""
    signatures = _signatures(header, name)
    matched = False
    for key in config._keys:
        digest = hmac.new(key.reveal(), content, hashlib.sha256).digest()
        for signature in signatures:
            matched |= hmac.compare_digest(digest, signature)
    if not matched:
        raise BadSignature(f"{name}: no signature matches")


def begin_standard_webhook(
    headers: HeaderInput,
    *,
    now: datetime | float,
    config: StandardWebhooksConfig,
    max_bytes: int | None = None,
) -> StandardWebhookStream:
    """Check the headers and start verifying a body of at most ``max_bytes``.

    ``max_bytes`` defaults to ``config.limits.max_body``; an upload endpoint passes its
    audio cap instead.
    """
    view = Headers(headers, config.limits)
    msg_id = require(view, ID_HEADER)
    if not _ID.fullmatch(msg_id):
        raise BadSignature(f"{ID_HEADER}: not a message id")
    stamp_text = require(view, TIMESTAMP_HEADER)
    signatures = _signatures(require(view, SIGNATURE_HEADER))
    stamp = fresh_timestamp(stamp_text, TIMESTAMP_HEADER, now=now, tolerance=config.tolerance)
    prefix = f"{msg_id}.{stamp_text}.".encode("ascii")
    macs = [hmac.new(key.reveal(), prefix, hashlib.sha256) for key in config._keys]
    limit = config.limits.max_body if max_bytes is None else max_bytes
    return StandardWebhookStream(
        StandardDelivery(msg_id=msg_id, timestamp=stamp), macs, signatures, limit
    )


def verify_standard_webhook(
    body: bytes, headers: HeaderInput, *, now: datetime | float, config: StandardWebhooksConfig
) -> StandardDelivery:
    """Verify a whole (small) Standard Webhooks delivery."""
    config.limits.check_body(body)
    stream = begin_standard_webhook(headers, now=now, config=config)
    stream.update(body)
    return stream.verify()
