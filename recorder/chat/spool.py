"""Chat files in a spool folder: ``NAME.chat.json``, one delivery each.

The chat platform (or an export job) drops a delivery document (the format of
:mod:`recorder.chat.parse`) as ``NAME.chat.json``, written to a temporary name first and
renamed, so a file that exists is complete. One pass (:func:`run_chat_spool`):

- a file that is stored (or was already) is deleted, after the chat is committed;
- a malformed file moves to ``rejected/`` as ``NAME.chat.json.redacted`` -- its text
  through the chat redaction (card, phone, e-mail, national id), the original deleted --
  with ``NAME.reason.txt`` (the error class and a fixed phrase); nothing of it is stored.
  The retention sweep deletes ``rejected/`` files after 24 hours;
- a file that fails for a reason that may pass (database busy, disk full) stays for the
  next pass. Symlinks and other non-regular files are never read.

Call spool pairs (``NAME.wav`` + ``NAME.json``) in the same folder are left to
:mod:`recorder.ingest.spool`; the two never touch each other's files.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from recorder.chat.ingest import IngestResult, ingest_delivery
from recorder.chat.parse import read_delivery
from recorder.chat.settings import ChatSettings
from recorder.config import Config
from recorder.errors import InvalidEvent
from recorder.ingest.spool import REJECTED
from storage.models import Rng
from storage.vault import Vault
from transcribe.textredact import redact_text

log = logging.getLogger(__name__)
SUFFIX = ".chat.json"


@dataclass(slots=True, kw_only=True)
class ChatSpoolReport:
    """What one pass did."""

    stored: list[IngestResult] = field(default_factory=list)
    duplicates: int = 0
    rejected: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


def pending_chats(spool: Path) -> list[Path]:
    """Regular ``*.chat.json`` files in ``spool`` (no symlinks), oldest first."""
    found = []
    for path in spool.glob("*" + SUFFIX):
        try:
            if path.is_symlink() or not path.is_file():
                continue
            found.append((path.stat().st_mtime_ns, path.name, path))
        except OSError:
            continue
    return [p for _, _, p in sorted(found)]


def _read(path: Path, limit: int) -> bytes:
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    with os.fdopen(fd, "rb") as fh:
        return fh.read(limit + 1)


def _reject(path: Path, spool: Path, raw: bytes, exc: Exception, settings: ChatSettings) -> None:
    target = spool / REJECTED
    target.mkdir(mode=0o700, exist_ok=True)
    name = path.name.removesuffix(SUFFIX)
    (target / f"{name}.reason.txt").write_text(f"{type(exc).__name__}: {exc}\n", encoding="utf-8")
    text = raw[: settings.max_bytes].decode("utf-8", errors="replace")
    safe = redact_text(text, languages=(*settings.languages, "en")).text
    (target / f"{path.name}.redacted").write_text(safe, encoding="utf-8")
    path.unlink(missing_ok=True)


def run_chat_spool(
    spool: Path,
    vault: Vault,
    config: Config,
    settings: ChatSettings,
    *,
    now: Callable[[], datetime],
    rng: Rng,
) -> ChatSpoolReport:
    """One pass over the chat files of ``spool`` (see the module docstring)."""
    report = ChatSpoolReport()
    for path in pending_chats(spool):
        raw = b""
        try:
            raw = _read(path, settings.max_bytes)
            delivery = read_delivery(raw, settings, config)
            result = ingest_delivery(
                vault, config, settings, delivery, source="spool", now=now(), rng=rng
            )
        except InvalidEvent as exc:
            _reject(path, spool, raw, exc, settings)
            report.rejected.append(path.name)
            log.warning("chat file %s rejected: %s", path.name, type(exc).__name__)
        except Exception as exc:  # noqa: BLE001 - keep the file for the next pass
            report.failed.append(path.name)
            log.error("chat file %s not stored, will retry: %s", path.name, type(exc).__name__)
        else:
            if result.status == "duplicate":
                report.duplicates += 1
            else:
                report.stored.append(result)
            path.unlink(missing_ok=True)
    return report
