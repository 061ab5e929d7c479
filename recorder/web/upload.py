"""The generic signed upload: metadata JSON + audio in one multipart request.

For a PBX without Twilio or Telnyx: ``POST /hooks/upload`` with Standard Webhooks headers
(``webhook-id``, ``webhook-timestamp``, ``webhook-signature``) over the raw multipart body,
plus ``content-length``, ``content-digest`` and ``callrec-upload-signature`` so the sender
is authenticated before the body is read (``recorder.ingest.verify.upload``). The body
holds a ``metadata`` part (the spool sidecar JSON, see ``recorder/ingest/sidecar.py``)
and an ``audio`` part (WAV or MP3).

The body is never held whole, and the audio never touches the disk in clear:

1. the headers, the early signature included, are checked by the web route
   (:func:`~recorder.ingest.verify.begin_upload`) before any body byte is read;
2. each body chunk feeds the HMAC and the streaming multipart parser, and the audio
   part's bytes go straight into :meth:`Vault.seal` under a throwaway *staging* id: on disk
   they are ciphertext from the first byte, and memory holds one chunk at a time;
3. only when the whole body's signature verifies is anything decoded: the staged blob is
   decrypted into an anonymous in-memory file (``memfd``, never a path on disk), and the
   normal capture path stores the call under its real id in one transaction;
4. the staging blob is discarded in every case (bad signature, over a limit, malformed
   part, invalid audio, success), so nothing half-written remains; a crash in between
   leaves an unregistered blob that ``fsck --repair`` removes.

Why capture in the request rather than enqueue a job: the audio is already here, so
there is no media to fetch, and answering 2xx only after the capture commits is the
strongest "2xx means durable" there is (I5). Capture is idempotent on
``("upload", source_id)``, so a retried upload is a 200 with the same recording id.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header

from recorder.capture import Captured, Capturer
from recorder.errors import InvalidEvent, MalformedRequest
from recorder.ingest.sidecar import MAX_SIDECAR_BYTES, parse_sidecar
from recorder.ingest.verify import UploadStream
from storage import crypto
from storage.models import ArtefactKind, Rng
from storage.vault import Sealed, Vault, new_id

#: Parts a request may carry (metadata + audio); more is refused.
MAX_PARTS = 2
MAX_PART_HEADERS = 8
PARTS = ("metadata", "audio")

#: Returns the next body chunk, ``b""`` at the end (raises on timeout/disconnect).
Pull = Callable[[], bytes]


@dataclass(slots=True)
class _Parts:
    """Collects what the multipart callbacks see."""

    header_field: bytearray
    header_value: bytearray
    current: str | None = None
    count: int = 0
    metadata: bytearray | None = None
    audio_seen: bool = False


def _disposition_name(value: bytes) -> str:
    kind, options = parse_options_header(value)
    name = options.get(b"name")
    if kind != b"form-data" or name is None:
        raise MalformedRequest("multipart: a part lacks Content-Disposition form-data name")
    try:
        text = name.decode("ascii")
    except UnicodeDecodeError:
        raise MalformedRequest("multipart: part name is not ASCII") from None
    if text not in PARTS:
        raise MalformedRequest("multipart: unexpected part (expected metadata and audio)")
    return text


def _parser(boundary: bytes, parts: _Parts, max_bytes: int, audio: list[bytes]) -> MultipartParser:
    """A streaming parser that appends the audio part's bytes to ``audio``."""

    def on_part_begin() -> None:
        parts.count += 1
        parts.current = None
        if parts.count > MAX_PARTS:
            raise MalformedRequest("multipart: more than 2 parts")

    def on_header_field(data: bytes, start: int, end: int) -> None:
        parts.header_field += data[start:end]

    def on_header_value(data: bytes, start: int, end: int) -> None:
        parts.header_value += data[start:end]

    def on_header_end() -> None:
        if bytes(parts.header_field).lower() == b"content-disposition":
            name = _disposition_name(bytes(parts.header_value))
            if (
                name == "metadata"
                and parts.metadata is not None
                or (name == "audio" and parts.audio_seen)
            ):
                raise MalformedRequest(f"multipart: {name} part given twice")
            parts.current = name
            if name == "metadata":
                parts.metadata = bytearray()
            else:
                parts.audio_seen = True
        parts.header_field.clear()
        parts.header_value.clear()

    def on_headers_finished() -> None:
        if parts.current is None:
            raise MalformedRequest("multipart: a part lacks Content-Disposition")

    def on_part_data(data: bytes, start: int, end: int) -> None:
        if parts.current == "audio":
            audio.append(data[start:end])
        elif parts.metadata is not None:
            parts.metadata += data[start:end]
            if len(parts.metadata) > MAX_SIDECAR_BYTES:
                raise MalformedRequest("multipart: metadata larger than 64 KiB", too_large=True)

    return MultipartParser(
        boundary,
        {
            "on_part_begin": on_part_begin,
            "on_header_field": on_header_field,
            "on_header_value": on_header_value,
            "on_header_end": on_header_end,
            "on_headers_finished": on_headers_finished,
            "on_part_data": on_part_data,
        },
        max_size=max_bytes,
        max_header_count=MAX_PART_HEADERS,
    )


def boundary_of(content_type: str | None) -> bytes:
    """The multipart boundary of a ``multipart/form-data`` content type, else 400."""
    kind, options = parse_options_header(content_type or "")
    boundary = options.get(b"boundary")
    if kind != b"multipart/form-data" or not boundary or len(boundary) > 70:
        raise MalformedRequest("content-type: expected multipart/form-data with a boundary")
    return boundary


@contextlib.contextmanager
def _plain_in_memory(vault: Vault, sealed: Sealed) -> Iterator[Path]:
    """The staged audio, decrypted into an anonymous memory file; yields a path to it.

    ``memfd_create`` files live in RAM and have no name in any directory, so the
    plaintext never reaches a disk; the path is ``/proc/self/fd/N``, good only inside
    this process and only while the ``with`` block runs.
    """
    key = sealed.key
    dek = crypto.unwrap_key(
        vault.keyring.kek(key.kek_version),
        key.kek_version,
        key.wrapped,
        recording_id=sealed.recording_id,
        artefact=sealed.kind,
    )
    fd = os.memfd_create("callrec-upload", os.MFD_CLOEXEC)
    try:
        with vault.blobs.open(sealed.artefact_id) as src:
            reader = crypto.SealedReader(
                src, dek, recording_id=sealed.recording_id, artefact=sealed.kind
            )
            for chunk in reader.read_range(0):
                view = memoryview(chunk)
                while view:
                    view = view[os.write(fd, view) :]
        yield Path(f"/proc/self/fd/{fd}")
    finally:
        os.close(fd)


def receive_upload(
    *,
    pull: Pull,
    auth: UploadStream,
    content_type: str | None,
    max_bytes: int,
    vault: Vault,
    capturer: Capturer,
    now: datetime,
    rng: Rng,
) -> Captured:
    """Verify, stage (sealed), then capture one upload. See the module docstring."""
    stream = auth
    parts = _Parts(header_field=bytearray(), header_value=bytearray())
    pending: list[bytes] = []
    parser = _parser(boundary_of(content_type), parts, max_bytes, pending)

    def audio_chunks() -> Iterator[bytes]:
        while chunk := pull():
            stream.update(chunk)
            try:
                parser.write(chunk)
            except MultipartParseError:
                raise MalformedRequest("multipart: malformed body") from None
            yield from pending
            pending.clear()
        try:
            parser.finalize()
        except MultipartParseError:
            raise MalformedRequest("multipart: malformed body") from None
        yield from pending
        pending.clear()

    staging_id = new_id(rng)
    sealed = vault.seal(staging_id, ArtefactKind.AUDIO, audio_chunks(), rng=rng)
    try:
        stream.verify()
        if parts.metadata is None or not parts.audio_seen:
            raise MalformedRequest("multipart: expected a metadata part and an audio part")
        if sealed.info.plaintext_size == 0:
            raise InvalidEvent("audio: empty part")
        with _plain_in_memory(vault, sealed) as audio_path:
            event = parse_sidecar(bytes(parts.metadata), audio_path, source="upload")
            return capturer.capture(event, now=now, rng=rng)
    finally:
        vault.discard(sealed)
