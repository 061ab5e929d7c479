"""The spool folder adapter (Asterisk/FreeSWITCH): audio files with JSON sidecars.

A pair is ``NAME.wav`` (or ``.mp3``) plus ``NAME.json``; the sidecar is written last, so
its presence means the pair is complete. One pass (:func:`run_spool`):

- a pair that captures (or was already captured) is removed from the spool, but only
  after the recording is durable and committed;
- a pair with bad audio or bad metadata is moved to ``rejected/`` with a
  ``NAME.reason.txt`` that says what was wrong (the error class and a fixed phrase: no
  number, no content) and the sidecar redacted (``NAME.json.redacted``: every
  number-like run replaced, the original deleted); nothing of it is stored;
- a pair that fails for a reason that may pass (disk full, database busy) stays in place
  for the next pass;
- a sidecar left alone by a removal interrupted between its two unlinks (audio first,
  then sidecar) is deleted once its call is known to be stored.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from recorder.capture import Captured, Capturer, Step
from recorder.errors import InvalidAudio, InvalidEvent
from recorder.ingest.sidecar import MAX_SIDECAR_BYTES, parse_sidecar
from recorder.logredact import redact
from recorder.models import CallEvent
from storage.models import Rng, State

log = logging.getLogger(__name__)

AUDIO_SUFFIXES = (".wav", ".mp3")
REJECTED = "rejected"


@dataclass(frozen=True, slots=True, kw_only=True)
class SpoolItem:
    """One complete pair in the spool."""

    name: str
    sidecar: Path
    audio: Path


@dataclass(slots=True, kw_only=True)
class SpoolReport:
    """What one pass did."""

    captured: list[Captured] = field(default_factory=list)
    duplicates: int = 0
    rejected: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    cleaned: int = 0


def pending_items(spool: Path) -> list[SpoolItem]:
    """Complete pairs in ``spool``, oldest sidecar first."""
    items = []
    for sidecar in spool.glob("*.json"):
        if not sidecar.is_file():
            continue
        for suffix in AUDIO_SUFFIXES:
            audio = sidecar.with_suffix(suffix)
            if audio.is_file():
                items.append(SpoolItem(name=sidecar.stem, sidecar=sidecar, audio=audio))
                break
    return sorted(items, key=lambda i: (i.sidecar.stat().st_mtime_ns, i.name))


class SpoolAdapter:
    """:class:`IngestAdapter` over a spool folder (sidecars that fail to parse are skipped)."""

    source = "spool"

    def __init__(self, spool: Path) -> None:
        self.spool = spool

    def events(self) -> Iterator[CallEvent]:
        """Every parseable pending pair as a :class:`CallEvent`."""
        for item in pending_items(self.spool):
            try:
                yield parse_sidecar(item.sidecar.read_bytes(), item.audio, source=self.source)
            except InvalidEvent:
                continue


def _reject(item: SpoolItem, spool: Path, exc: Exception) -> None:
    """Move a bad pair aside, keeping no full number: the sidecar is kept redacted.

    The sidecar is rewritten with every number-like run replaced by ``[number]`` (the
    caller, but also a number hidden in any other field or in broken JSON), so an operator
    can still see what was wrong; the original is deleted. The audio is kept as delivered
    for diagnosis: ``rejected/`` is the PBX's folder, outside callrec's encrypted store,
    and should be emptied once the cause is fixed.
    """
    target = spool / REJECTED
    target.mkdir(mode=0o700, exist_ok=True)
    reason = f"{type(exc).__name__}: {exc}\n"
    (target / f"{item.name}.reason.txt").write_text(reason, encoding="utf-8")
    raw = item.sidecar.read_bytes()[:MAX_SIDECAR_BYTES].decode("utf-8", errors="replace")
    (target / f"{item.name}.json.redacted").write_text(redact(raw), encoding="utf-8")
    item.sidecar.unlink()
    os.replace(item.audio, target / item.audio.name)


def _remove(item: SpoolItem) -> None:
    for path in (item.audio, item.sidecar):
        path.unlink(missing_ok=True)


def _remove_leftover_sidecars(spool: Path, capturer: Capturer) -> int:
    """Delete sidecars left by a removal interrupted between its two unlinks.

    A pair is removed audio first, then sidecar; a process killed in between leaves a
    sidecar (holding the full caller number) with no audio. It is a leftover - not a
    delivery in progress, which writes audio first - exactly when its call is already
    stored, and only then is it deleted.
    """
    cleaned = 0
    for sidecar in spool.glob("*.json"):
        if any(sidecar.with_suffix(s).exists() for s in AUDIO_SUFFIXES):
            continue
        try:
            event = parse_sidecar(sidecar.read_bytes(), sidecar.with_suffix(".wav"))
        except (InvalidEvent, OSError):
            continue
        found = capturer.vault.catalog.find_recording("spool", event.source_id)
        if found is not None and found.state is not State.PENDING:
            sidecar.unlink(missing_ok=True)
            cleaned += 1
    return cleaned


def run_spool(
    spool: Path,
    capturer: Capturer,
    *,
    now: Callable[[], datetime],
    rng: Rng,
    progress: Callable[[int, int], None] | None = None,
    step: Step | None = None,
) -> SpoolReport:
    """One pass over ``spool`` (see the module docstring)."""
    report = SpoolReport()
    report.cleaned = _remove_leftover_sidecars(spool, capturer)
    items = pending_items(spool)
    for done, item in enumerate(items, start=1):
        try:
            event = parse_sidecar(item.sidecar.read_bytes(), item.audio, source="spool")
            if step is None:
                result = capturer.capture(event, now=now(), rng=rng)
            else:
                result = capturer.capture(event, now=now(), rng=rng, step=step)
        except (InvalidAudio, InvalidEvent) as exc:
            _reject(item, spool, exc)
            report.rejected.append(item.name)
            log.warning("spool item %s rejected: %s", item.name, type(exc).__name__)
        except Exception as exc:  # noqa: BLE001 - any other failure: keep the pair, go on
            report.failed.append(item.name)
            log.error("spool item %s not captured, will retry: %s", item.name, type(exc).__name__)
        else:
            if result.duplicate:
                report.duplicates += 1
            else:
                report.captured.append(result)
            if step is not None:
                step("spool.captured")
            _remove(item)
            if step is not None:
                step("spool.removed")
        if progress is not None:
            progress(done, len(items))
    return report
