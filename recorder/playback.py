"""Playback: decide, audit (committed), and only then unseal and stream audio.

:func:`open_playback` does the access decision and writes the audit entry (allowed or
denied, with the purpose and the requested range) in its own committed transaction
*before* it returns; the audio iterator it returns is the only way to get bytes. If the
audit write fails, the exception propagates and nothing plays (RELIABILITY A1). A seek
decrypts only the segments the range needs; :meth:`Playback.read_bytes` serves any byte
range of the WAV file (the web player's HTTP Range requests).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import datetime

from recorder.access import Action, Assignments, Principal, allowed
from recorder.audit_events import access_event, for_access
from recorder.config import Config
from recorder.errors import AccessDenied, InvalidEvent
from recorder.wavfmt import HEADER_SIZE, PcmFormat, parse_header, wav_header
from storage.errors import IntegrityError, NotFoundError
from storage.models import ArtefactKind, Recording, State
from storage.vault import Vault

RECORDING_ID = re.compile(r"[0-9a-f]{32}")
PURPOSE = re.compile(r"[a-z][a-z_]{1,31}")


@dataclass(frozen=True, slots=True, kw_only=True)
class Playback:
    """An allowed, audited playback: the format, the range, and the audio."""

    recording: Recording
    fmt: PcmFormat
    start_ms: int
    frames: int
    _vault: Vault
    _artefact_id: str
    _offset: int

    @property
    def duration_ms(self) -> int:
        """Length of the range being played."""
        return self.frames * 1000 // self.fmt.sample_rate

    def wav_chunks(self) -> Iterator[bytes]:
        """A complete WAV file of the range: header, then authenticated PCM."""
        yield wav_header(self.fmt, self.frames)
        length = self.frames * self.fmt.frame_size
        if length == 0:
            return
        with self._vault.open_artefact(self._artefact_id) as reader:
            yield from reader.read_range(self._offset, length)

    @property
    def size(self) -> int:
        """Bytes of the WAV file :meth:`wav_chunks` yields (header included)."""
        return HEADER_SIZE + self.frames * self.fmt.frame_size

    def read_bytes(self, first: int, last: int) -> ByteRange:
        """Bytes ``first..last`` (inclusive, as in an HTTP Range) of that WAV file.

        For the web player's seeking: only the segments the range needs are decrypted.
        The artefact is opened (its catalog rows read) before this returns, so the
        iterator itself touches only the blob and may be consumed on another thread;
        ``close()`` it if it is abandoned early.
        """
        if not 0 <= first <= last < self.size:
            raise ValueError("byte range outside the file")
        head = wav_header(self.fmt, self.frames)[first : last + 1]
        pcm_first = max(first, HEADER_SIZE) - HEADER_SIZE
        length = last + 1 - HEADER_SIZE - pcm_first
        stack = ExitStack()
        parts: list[Iterator[bytes]] = [iter((head,))] if head else []
        if length > 0:
            reader = stack.enter_context(self._vault.open_artefact(self._artefact_id))
            parts.append(reader.read_range(self._offset + pcm_first, length))
        return ByteRange(stack, itertools.chain(*parts))


class ByteRange(Iterator[bytes]):
    """The chunks of :meth:`Playback.read_bytes`; the blob is closed at the end or on close()."""

    def __init__(self, stack: ExitStack, chunks: Iterator[bytes]) -> None:
        self._stack = stack
        self._chunks = chunks

    def __next__(self) -> bytes:
        try:
            return next(self._chunks)
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        """Release the blob (idempotent); the iterator is then exhausted."""
        self._chunks = iter(())
        self._stack.close()


def _audit(
    vault: Vault,
    principal: Principal,
    action: Action,
    *,
    now: datetime,
    recording_id: str | None,
    purpose: str,
    allowed: bool,
    reason: str,
    detail: dict[str, int | str],
) -> None:
    vault.audit.append(
        access_event(
            for_access(action),
            principal,
            ts=now,
            allowed=allowed,
            reason=reason,
            recording_id=recording_id,
            artefact=ArtefactKind.AUDIO,
            purpose=purpose,
            detail=detail,
        )
    )


def open_playback(
    vault: Vault,
    config: Config,
    principal: Principal,
    recording_id: str,
    *,
    purpose: str,
    now: datetime,
    start_ms: int = 0,
    duration_ms: int | None = None,
    action: Action = Action.PLAY,
    assignments: Assignments | None = None,
) -> Playback:
    """Decide and audit a playback request; raise :class:`AccessDenied` if refused.

    Unknown and malformed ids are denied and audited like any other refusal, with the
    same message, so guessing ids teaches nothing.
    """
    if not PURPOSE.fullmatch(purpose):
        raise InvalidEvent("purpose: expected a purpose code such as quality or dispute")
    if start_ms < 0 or (duration_ms is not None and duration_ms < 0):
        raise InvalidEvent("range: start and duration must not be negative")
    detail: dict[str, int | str] = {"start_ms": start_ms}
    if duration_ms is not None:
        detail["duration_ms"] = duration_ms
    known = RECORDING_ID.fullmatch(recording_id) is not None
    try:
        recording = vault.catalog.get_recording(recording_id) if known else None
    except NotFoundError:
        recording = None
    if recording is None or recording.state is not State.AVAILABLE:
        reason = "no such recording" if recording is None else "recording is gone"
        _audit(
            vault, principal, action, now=now, recording_id=recording_id if known else None,
            purpose=purpose, allowed=False, reason=reason, detail=detail,
        )  # fmt: skip
        raise AccessDenied("no such recording, or not yours to play")
    decision = allowed(
        config, principal, action, recording, purpose=purpose, assignments=assignments
    )
    _audit(
        vault, principal, action, now=now, recording_id=recording.id, purpose=purpose,
        allowed=decision.allowed, reason=decision.reason, detail=detail,
    )  # fmt: skip
    if not decision.allowed:
        raise AccessDenied(decision.reason)
    artefact = vault.catalog.artefact_by_kind(recording.id, ArtefactKind.AUDIO)
    if artefact is None:
        raise NotFoundError("recording has no audio")
    with vault.open_artefact(artefact.id) as reader:
        try:
            fmt, total = parse_header(b"".join(reader.read_range(0, HEADER_SIZE)))
        except ValueError:
            raise IntegrityError() from None
    first = min(fmt.frame_at(start_ms), total)
    last = total if duration_ms is None else min(total, first + fmt.frame_at(duration_ms))
    return Playback(
        recording=recording,
        fmt=fmt,
        start_ms=start_ms,
        frames=last - first,
        _vault=vault,
        _artefact_id=artefact.id,
        _offset=HEADER_SIZE + first * fmt.frame_size,
    )
