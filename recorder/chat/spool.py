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
  next pass;
- a symlink, FIFO, socket or device named ``NAME.chat.json`` is moved to ``rejected/``
  as it is, never opened, with a reason; a directory so named is reported.

The folder is handled as hostile exactly like call pairs are (``recorder.ingest.spool``
opens it, ``storage.safedir`` reaches every entry relative to it without following a
symlink, and sizes are checked on ``fstat``). Call pairs (``NAME.wav`` + ``NAME.json``)
are left to :mod:`recorder.ingest.spool`; the two never touch each other's files.
"""

from __future__ import annotations

import errno
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from recorder.chat.ingest import IngestResult, ingest_delivery
from recorder.chat.parse import read_delivery
from recorder.chat.settings import ChatSettings
from recorder.config import Config
from recorder.errors import InvalidEvent
from recorder.ingest.spool import CHAT_SUFFIX, open_spool, rejected_dir, safe_name
from storage.models import Rng
from storage.safedir import Entry, SafeDir
from storage.vault import Vault
from transcribe.textredact import redact_text

log = logging.getLogger(__name__)
SUFFIX = CHAT_SUFFIX


@dataclass(slots=True, kw_only=True)
class ChatSpoolReport:
    """What one pass did."""

    stored: list[IngestResult] = field(default_factory=list)
    duplicates: int = 0
    rejected: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


def _chat_entries(root: SafeDir) -> list[Entry]:
    """Entries named ``*.chat.json``, oldest first."""
    found = [e for e in root.entries() if e.name.endswith(SUFFIX) and len(e.name) > len(SUFFIX)]
    return sorted(found, key=lambda e: (e.mtime_ns, e.name))


def _reject(root: SafeDir, name: str, reason: str, raw: bytes | None, s: ChatSettings) -> None:
    """Move the chat file ``name`` aside: the reason first, then the text redacted (the
    original deleted) or, for what is not a regular file, the entry itself, unopened."""
    stem = name.removesuffix(SUFFIX)
    with rejected_dir(root) as target:
        safe = safe_name(f"{stem}.json")[: -len(".json")]
        target.write_atomic(f"{safe}.reason.txt", f"{reason}\n".encode())
        if raw is None:
            root.move_to(name, target, f"{safe}{SUFFIX}")
            return
        text = raw[: s.max_bytes].decode("utf-8", errors="replace")
        safe_text = redact_text(text, languages=(*s.languages, "en")).text
        target.write_atomic(f"{safe}{SUFFIX}.redacted", safe_text.encode("utf-8"))
        root.unlink(name)


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
    with open_spool(spool) as root:
        for entry in _chat_entries(root):
            _one(root, entry, vault, config, settings, report, now=now, rng=rng)
    return report


def _one(
    root: SafeDir,
    entry: Entry,
    vault: Vault,
    config: Config,
    settings: ChatSettings,
    report: ChatSpoolReport,
    *,
    now: Callable[[], datetime],
    rng: Rng,
) -> None:
    name = entry.name
    if entry.kind == "directory":
        report.failed.append(name)
        log.warning("chat spool entry %s is a directory: move it away", name)
        return
    if entry.kind != "regular":
        _reject(root, name, f"InvalidChat: not a regular file ({entry.kind}); not opened", None,
                settings)  # fmt: skip
        report.rejected.append(name)
        return
    raw: bytes | None = None
    try:
        raw = root.read_bounded(name, settings.max_bytes)
        delivery = read_delivery(raw, settings, config)
        result = ingest_delivery(vault, config, settings, delivery, source="spool", now=now(),
                                 rng=rng)  # fmt: skip
    except InvalidEvent as exc:
        _reject(root, name, f"{type(exc).__name__}: {exc}", raw or b"", settings)
        report.rejected.append(name)
        log.warning("chat file %s rejected: %s", name, type(exc).__name__)
    except OSError as exc:
        if exc.errno != errno.EFBIG:
            report.failed.append(name)
            log.error("chat file %s not stored, will retry: %s", name, type(exc).__name__)
            return
        prefix = root.read_bounded(name, settings.max_bytes, prefix=True)
        _reject(root, name, f"InvalidChat: larger than {settings.max_bytes} bytes", prefix,
                settings)  # fmt: skip
        report.rejected.append(name)
    except Exception as exc:  # noqa: BLE001 - keep the file for the next pass
        report.failed.append(name)
        log.error("chat file %s not stored, will retry: %s", name, type(exc).__name__)
    else:
        if result.status == "duplicate":
            report.duplicates += 1
        else:
            report.stored.append(result)
        root.unlink(name)
