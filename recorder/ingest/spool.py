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
  then sidecar) is deleted once its call is known to be stored; a sidecar whose audio
  never came is rejected once it is older than :data:`ORPHAN_AGE`.

The spool is someone else's folder (the PBX writes it), so it is handled as hostile
(``storage.safedir``): nothing in it, in ``rejected/`` or below is reached through a
symlink, and nothing but a regular file is ever opened. A spool whose ``rejected/`` is a
symlink (or not a directory) is refused as a whole. A symlink, FIFO, socket or device
named like a sidecar or an audio file is moved, never opened, to ``rejected/`` with a
reason; a directory named like one cannot be moved safely and is reported on every pass
(``SpoolReport.refused``). Sizes are checked on ``fstat`` before reading: a sidecar
over 64 KiB is rejected unread (only its first 64 KiB go, redacted, to ``rejected/``). A
rejected item whose name is number-shaped is renamed ``item-<digest>`` in ``rejected/``,
so no number rests in a file name there either.
"""

from __future__ import annotations

import errno
import hashlib
import logging
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from recorder.capture import Captured, Capturer, Step
from recorder.errors import ConfigError, InvalidAudio, InvalidEvent
from recorder.ingest.sidecar import MAX_SIDECAR_BYTES, parse_sidecar
from recorder.logredact import redact
from recorder.models import CallEvent
from storage.models import Rng, State
from storage.numbershape import number_shaped
from storage.safedir import Entry, SafeDir

log = logging.getLogger(__name__)

AUDIO_SUFFIXES = (".wav", ".mp3")
SIDECAR = ".json"
#: Chat deliveries share the folder (``recorder.chat.spool``); call passes leave them alone.
CHAT_SUFFIX = ".chat.json"
REJECTED = "rejected"
#: A sidecar without its audio for this long is rejected (the audio is written first).
ORPHAN_AGE = timedelta(hours=1)


@dataclass(frozen=True, slots=True, kw_only=True)
class SpoolItem:
    """One complete pair in the spool (entry names in the spool folder)."""

    name: str
    sidecar: str
    audio: str


@dataclass(slots=True, kw_only=True)
class SpoolReport:
    """What one pass did. ``refused``: (name, reason) of entries it could not move."""

    captured: list[Captured] = field(default_factory=list)
    duplicates: int = 0
    rejected: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    cleaned: int = 0
    refused: list[tuple[str, str]] = field(default_factory=list)


def _stem(name: str) -> str | None:
    if name.endswith(CHAT_SUFFIX):
        return None  # a chat delivery, not part of a call pair
    for suffix in (SIDECAR, *AUDIO_SUFFIXES):
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return None


@contextmanager
def open_spool(spool: Path) -> Iterator[SafeDir]:
    """The spool folder, refused (:class:`ConfigError`) if its ``rejected/`` is unsafe."""
    try:
        root = SafeDir.open(spool)
    except OSError as exc:
        raise ConfigError(f"spool folder unusable: {exc.strerror}") from None
    try:
        found = root.lstat(REJECTED)
        if found is not None and found.kind != "directory":
            raise ConfigError(
                f"spool refused: {REJECTED}/ is a {found.kind}, not a directory "
                "(a symlink there could make callrec write or delete files elsewhere)"
            )
        yield root
    finally:
        root.close()


def rejected_dir(root: SafeDir) -> SafeDir:
    try:
        return root.subdir(REJECTED, create=True)
    except OSError as exc:  # replaced by a symlink since the pass began
        raise ConfigError(f"spool refused: {REJECTED}/ is not a plain directory") from exc


def safe_name(name: str) -> str:
    """``name`` as it may rest in ``rejected/``: a number-shaped stem is replaced."""
    stem = _stem(name) or name
    if not number_shaped(stem):
        return name
    return "item-" + hashlib.sha256(stem.encode()).hexdigest()[:16] + name[len(stem) :]


class _Pass:
    """One pass over an open spool folder."""

    def __init__(self, root: SafeDir, report: SpoolReport) -> None:
        self.root, self.report = root, report

    def reject(self, name: str, names: list[str], reason: str, sidecar: bytes | None) -> None:
        """Move ``names`` (entries of the item ``name``) aside with ``reason``.

        ``sidecar`` is the sidecar text as read (bounded), kept redacted; the original
        sidecar entry is deleted, every other entry is moved as it is (a symlink as a
        symlink, never followed). The reason goes in first, so a crash never leaves an
        unexplained item in ``rejected/``.
        """
        with rejected_dir(self.root) as target:
            safe = safe_name(f"{name}{SIDECAR}")[: -len(SIDECAR)]
            target.write_atomic(f"{safe}.reason.txt", f"{reason}\n".encode())
            if sidecar is not None:
                text = redact(sidecar[:MAX_SIDECAR_BYTES].decode("utf-8", errors="replace"))
                target.write_atomic(f"{safe}{SIDECAR}.redacted", text.encode("utf-8"))
                self.root.unlink(f"{name}{SIDECAR}")
            for entry in names:
                if sidecar is not None and entry == f"{name}{SIDECAR}":
                    continue
                try:
                    self.root.move_to(entry, target, safe_name(entry))
                except FileNotFoundError:
                    continue
        self.report.rejected.append(name)
        log.warning("spool item %s rejected: %s", name, reason.split(":", 1)[0])

    def odd_entries(self, entries: list[Entry]) -> set[str]:
        """Reject (or report) every entry named like ours that is not a regular file."""
        odd: dict[str, list[Entry]] = {}
        for entry in entries:
            stem = _stem(entry.name)
            if stem is not None and entry.kind != "regular":
                odd.setdefault(stem, []).append(entry)
        for stem, bad in odd.items():
            for entry in bad:
                if entry.kind == "directory":
                    self.report.refused.append((entry.name, "a directory, not a file"))
                    log.warning("spool entry %s is a directory: move it away", entry.name)
            names = [e.name for e in entries if _stem(e.name) == stem and e.kind != "directory"]
            if names:  # the rest of the item goes; a directory cannot be moved safely
                kinds = ", ".join(sorted({e.kind for e in bad}))
                sidecar = self._sidecar_prefix(f"{stem}{SIDECAR}", names)
                self.reject(stem, names, f"InvalidEvent: not a regular file ({kinds}); "
                            "not opened", sidecar)  # fmt: skip
        return set(odd)

    def _sidecar_prefix(self, name: str, names: list[str]) -> bytes | None:
        if name not in names:
            return None
        try:
            return self.root.read_bounded(name, MAX_SIDECAR_BYTES, prefix=True)
        except OSError:
            return None  # not a regular file: moved as it is, never read

    def read_sidecar(self, name: str) -> bytes:
        """The sidecar's bytes; :class:`InvalidEvent` if it is over 64 KiB (fstat first)."""
        try:
            return self.root.read_bounded(name, MAX_SIDECAR_BYTES)
        except OSError as exc:
            if exc.errno == errno.EFBIG:
                raise InvalidEvent("sidecar: larger than 64 KiB") from None
            raise


def _items(entries: list[Entry], skip: set[str]) -> tuple[list[SpoolItem], list[Entry]]:
    """Complete pairs (oldest sidecar first) and lone sidecars."""
    by_name = {e.name: e for e in entries if e.kind == "regular"}
    items, lone = [], []
    for entry in sorted(by_name.values(), key=lambda e: (e.mtime_ns, e.name)):
        stem = _stem(entry.name)
        if not entry.name.endswith(SIDECAR) or stem is None or stem in skip:
            continue
        audio = next((f"{stem}{s}" for s in AUDIO_SUFFIXES if f"{stem}{s}" in by_name), None)
        if audio is None:
            lone.append(entry)
        else:
            items.append(SpoolItem(name=stem, sidecar=entry.name, audio=audio))
    return items, lone


def pending_items(spool: Path) -> list[SpoolItem]:
    """Complete pairs of regular files in ``spool``, oldest sidecar first."""
    with open_spool(spool) as root:
        return _items(root.entries(), set())[0]


class SpoolAdapter:
    """:class:`IngestAdapter` over a spool folder (sidecars that fail to parse are skipped)."""

    source = "spool"

    def __init__(self, spool: Path) -> None:
        self.spool = spool

    def events(self) -> Iterator[CallEvent]:
        """Every parseable pending pair as a :class:`CallEvent`."""
        with open_spool(self.spool) as root:
            for item in _items(root.entries(), set())[0]:
                try:
                    raw = _Pass(root, SpoolReport()).read_sidecar(item.sidecar)
                    yield parse_sidecar(raw, self.spool / item.audio, source=self.source)
                except (InvalidEvent, OSError):
                    continue


def _lone_sidecars(run: _Pass, lone: list[Entry], capturer: Capturer, now: datetime) -> None:
    """Sidecars without audio: a leftover of an interrupted removal is deleted once its
    call is stored; one whose audio never came is rejected after :data:`ORPHAN_AGE`.

    A pair is removed audio first, then sidecar; a process killed in between leaves a
    sidecar (holding the full caller number) with no audio. It is a leftover - not a
    delivery in progress, which writes audio first - exactly when its call is stored.
    """
    cutoff = (now - ORPHAN_AGE).timestamp() * 1e9
    for entry in lone:
        stem = entry.name[: -len(SIDECAR)]
        try:
            raw = run.read_sidecar(entry.name)
            event = parse_sidecar(raw, Path(os.devnull))
        except (InvalidEvent, OSError):
            raw, event = None, None
        found = None if event is None else capturer.vault.catalog.find_recording(
            "spool", event.source_id
        )  # fmt: skip
        if found is not None and found.state is not State.PENDING:
            run.root.unlink(entry.name)
            run.report.cleaned += 1
        elif entry.mtime_ns < cutoff:
            if raw is None:
                raw = run._sidecar_prefix(entry.name, [entry.name])
            run.reject(stem, [entry.name], "InvalidEvent: sidecar without an audio file", raw)


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
    with open_spool(spool) as root:
        run = _Pass(root, report)
        entries = root.entries()
        odd = run.odd_entries(entries)
        items, lone = _items(entries, odd)
        _lone_sidecars(run, lone, capturer, now())
        for done, item in enumerate(items, start=1):
            _one(run, item, capturer, now=now, rng=rng, step=step)
            if progress is not None:
                progress(done, len(items))
    return report


def _one(
    run: _Pass,
    item: SpoolItem,
    capturer: Capturer,
    *,
    now: Callable[[], datetime],
    rng: Rng,
    step: Step | None,
) -> None:
    report, root = run.report, run.root
    raw: bytes | None = None
    try:
        raw = run.read_sidecar(item.sidecar)
        try:
            fd = root.open_regular(item.audio)
        except OSError:
            raise InvalidAudio("audio file unreadable (not a regular file?)") from None
        try:
            event = parse_sidecar(raw, Path(f"/proc/self/fd/{fd}"), source="spool")
            if step is None:
                result = capturer.capture(event, now=now(), rng=rng)
            else:
                result = capturer.capture(event, now=now(), rng=rng, step=step)
        finally:
            os.close(fd)
    except (InvalidAudio, InvalidEvent) as exc:
        if raw is None:
            raw = run._sidecar_prefix(item.sidecar, [item.sidecar])
        run.reject(item.name, [item.sidecar, item.audio], f"{type(exc).__name__}: {exc}", raw)
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
        for name in (item.audio, item.sidecar):
            root.unlink(name)
        if step is not None:
            step("spool.removed")
