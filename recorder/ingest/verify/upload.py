"""The signed upload's authentication: proven from the headers before any body byte is read.

A Standard Webhooks signature covers the whole body, so on its own it can only be checked
after the last byte arrived: an unauthenticated sender could make callrec take in (and seal)
256 MB before the 401. The upload therefore carries, besides the standard headers:

- ``content-length`` (required; chunked uploads are refused) and ``content-digest:
  sha-256=:<base64>:`` (RFC 9530), the SHA-256 of the exact body bytes;
- ``callrec-upload-signature``: a Standard Webhooks v1 signature, under the same secret,
  of the content ``"{webhook-id}.{webhook-timestamp}.{content-length}.{content-digest}"``
  (what ``standardwebhooks.Webhook(secret).sign(id, ts, f"{length}.{digest}")`` gives).

:func:`begin_upload` checks all of that, the timestamp window included, and only then may
the caller read the body: a sender without the secret is refused with zero body bytes
read. While the body streams in, :class:`UploadStream` hashes it and feeds the usual body
signature; :meth:`UploadStream.verify` then requires the exact length, the declared digest
and the body signature. What the early signature does not stop is a *replay* of captured
headers within the 5-minute window with another body of the same length: that body is
read (the server bounds how many such bodies run at once and for how long) and refused
at the end, nothing of it kept.
"""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass, field
from datetime import datetime

from recorder.errors import BadSignature, MalformedRequest
from recorder.ingest.verify._common import HeaderInput, Headers, b64_exact, require
from recorder.ingest.verify.standard import (
    ID_HEADER,
    TIMESTAMP_HEADER,
    StandardDelivery,
    StandardWebhooksConfig,
    StandardWebhookStream,
    begin_standard_webhook,
    check_signed,
)

EARLY_HEADER = "callrec-upload-signature"
DIGEST_HEADER = "content-digest"
_LENGTH = re.compile(r"0|[1-9][0-9]{0,15}")
_DIGEST = re.compile(r"sha-256=:([A-Za-z0-9+/=]{44}):")


def content_digest(body: bytes) -> str:
    """The ``content-digest`` header value of ``body`` (for uploaders and tests)."""
    return "sha-256=:" + base64.b64encode(hashlib.sha256(body).digest()).decode() + ":"


def early_content(msg_id: str, timestamp: str, length: int, digest: str) -> bytes:
    """What ``callrec-upload-signature`` signs (see the module docstring)."""
    return f"{msg_id}.{timestamp}.{length}.{digest}".encode("ascii")


@dataclass(slots=True)
class UploadStream:
    """A body authenticated by its headers, checked byte for byte as it streams in."""

    inner: StandardWebhookStream
    length: int
    digest: bytes
    seen: int = 0
    _hash: hashlib._Hash = field(default_factory=hashlib.sha256, repr=False)

    def update(self, chunk: bytes) -> None:
        """Add body bytes; more than ``content-length`` is :class:`MalformedRequest`."""
        self.seen += len(chunk)
        if self.seen > self.length:
            raise MalformedRequest("body longer than its content-length")
        self._hash.update(chunk)
        self.inner.update(chunk)

    def verify(self) -> StandardDelivery:
        """Exact length, the declared digest, then the Standard Webhooks body signature."""
        if self.seen != self.length:
            raise MalformedRequest("body shorter than its content-length")
        if self._hash.digest() != self.digest:
            raise BadSignature(f"{DIGEST_HEADER}: does not match the body")
        return self.inner.verify()


def begin_upload(
    headers: HeaderInput, *, now: datetime | float, config: StandardWebhooksConfig,
    max_bytes: int,
) -> UploadStream:  # fmt: skip
    """Authenticate an upload from its headers alone (module docstring), or raise
    :class:`BadSignature` (401) / :class:`MalformedRequest` (400, 413 over ``max_bytes``)."""
    view = Headers(headers, config.limits)
    length_text = view.single("content-length")
    if length_text is None or not _LENGTH.fullmatch(length_text):
        raise MalformedRequest("content-length: required (uploads are not chunked)")
    length = int(length_text)
    if length > max_bytes:
        raise MalformedRequest(f"body larger than {max_bytes} bytes", too_large=True)
    inner = begin_standard_webhook(headers, now=now, config=config, max_bytes=length)
    digest_text = require(view, DIGEST_HEADER)
    match = _DIGEST.fullmatch(digest_text)
    digest = b64_exact(match[1], 32) if match else None
    if digest is None:
        raise BadSignature(f"{DIGEST_HEADER}: expected sha-256=:<base64>:")
    content = early_content(
        require(view, ID_HEADER), require(view, TIMESTAMP_HEADER), length, digest_text
    )
    check_signed(config, require(view, EARLY_HEADER), EARLY_HEADER, content)
    return UploadStream(inner=inner, length=length, digest=digest)
