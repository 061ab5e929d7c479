"""Data-subject export (GDPR Art. 15 and 20; P08) and lawful disclosure (P22).

One job: gather everything callrec holds about one caller into an encrypted bundle
(:mod:`recorder.bundle`): each recording's audio, byte for byte as decrypted, the redacted
transcripts, the summaries a person reviewed (a draft is not a record), metadata with the
masked number only, and the consultation report (:mod:`recorder.consultation`).

Order of work, so a damaged recording never becomes a partial export: decide and audit
per recording (before any byte), then verify every artefact in full
(:meth:`Vault.verify_artefact`: decrypt everything, compare size and SHA-256), then stream
the bundle, hashing each artefact again as it is written; the bundle file appears only when
complete. Any failure: no bundle, an ``error`` audit entry, :class:`BundleError`.

Export by ``legal`` with purpose ``legal`` is the lawful disclosure to an authority or the
complaints board: the same bundle, the same audit trail, with the purpose recorded.
"""

from __future__ import annotations

import hashlib
import importlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from recorder import consultation
from recorder.access import Action, Principal, allowed
from recorder.bundle import BundleInfo, Lock, Member, write_bundle
from recorder.chat.subjects import SubjectKey
from recorder.config import Config
from recorder.errors import AccessDenied, BundleError
from recorder.subject import audit, ensure, group, recordings_of
from storage import subjects
from storage.errors import IntegrityError, StorageError
from storage.models import Artefact, ArtefactKind, Recording, Rng, State
from storage.vault import Vault


@dataclass(frozen=True, slots=True, kw_only=True)
class ExportReport:
    """What an export wrote."""

    bundle: BundleInfo
    recordings: int
    audio_files: int
    transcripts: int
    summaries: int


# -- export ----------------------------------------------------------------------------------


def _masked_service_number(value: str | None) -> str | None:
    if value is None:
        return None
    digits = "".join(ch for ch in value if ch.isdigit())
    if len(digits) < 4:
        return "withheld"
    return ("+" if value.strip().startswith("+") else "") + digits[:-3] + "***"


def _metadata(vault: Vault, recordings: list[Recording]) -> bytes:
    rows = []
    for r in recordings:
        rows.append(
            {
                "recording_id": r.id,
                "started_at": r.started_at.isoformat(),
                "answered_at": r.answered_at.isoformat() if r.answered_at else None,
                "ended_at": r.ended_at.isoformat() if r.ended_at else None,
                "duration_ms": r.duration_ms,
                "caller": r.caller_display,
                "service_number": _masked_service_number(r.service_number),
                "agent": "(withheld)",
                "channels": r.channels,
                "retention_class": r.retention_class,
                "expires_at": r.expires_at.isoformat() if r.expires_at else None,
                "state": "erased" if r.state is State.DESTROYED else str(r.state),
                "restricted": r.restricted,
                "ai_opted_out": r.ai_opted_out,
                "rectified": [
                    {"field": x.field, "at": x.rectified_at.isoformat()}
                    for x in subjects.rectifications(vault.catalog, r.id)
                ],
            }
        )
    return json.dumps({"recordings": rows}, indent=2, ensure_ascii=False).encode("utf-8")


def _const(data: bytes) -> Callable[[], list[bytes]]:
    return lambda: [data]


def _verified_chunks(vault: Vault, artefact: Artefact) -> Callable[[], Iterator[bytes]]:
    """Stream an artefact's plaintext, re-checking size and SHA-256 at the end."""

    def chunks() -> Iterator[bytes]:
        digest = hashlib.sha256()
        size = 0
        with vault.open_artefact(artefact.id) as reader:
            for chunk in reader.read_range(0):
                digest.update(chunk)
                size += len(chunk)
                yield chunk
        if size != artefact.plaintext_size or digest.hexdigest() != artefact.plaintext_sha256:
            raise IntegrityError()

    return chunks


def _reviewed_summary(vault: Vault, recording_id: str) -> bytes | None:
    """The summary a person approved or edited (``recorder.ai_review.reviewed_summary``),
    as JSON: text, topics, decision, date. The reviewer's identity is withheld. A draft is
    never exported; without the AI module there is nothing to export."""
    try:
        module: Any = importlib.import_module("recorder.ai_review")
    except ImportError:
        return None
    fetch = getattr(module, "reviewed_summary", None)
    result = None if fetch is None else fetch(vault, recording_id)
    if result is None:
        return None
    reviewed_at = getattr(result, "reviewed_at", None)
    document = {
        "text": str(getattr(result, "text", "")),
        "topics": [str(t) for t in getattr(result, "topics", ())],
        "decision": str(getattr(result, "decision", "")),
        "reviewed_at": reviewed_at.isoformat() if isinstance(reviewed_at, datetime) else None,
    }
    return json.dumps(document, indent=2, ensure_ascii=False).encode("utf-8")


#: Text artefacts exported as they are stored (redacted), and the folder of each. A chat's
#: history copy is the same text as its analysis copy; only one of them is exported.
_TEXT_KINDS = (
    (ArtefactKind.TRANSCRIPT, "transcripts"),
    (ArtefactKind.CHAT, "chats"),
    (ArtefactKind.CHAT_HISTORY, "chats"),
    (ArtefactKind.CHAT_CONTACT, "chats/contact"),
)


_README = """callrec data-subject export
===========================

metadata.json       your recordings: times, duration, your number (masked), state
audio/*.wav         the audio of each recording, exactly as stored
transcripts/*.json  machine transcripts (card and phone numbers redacted), if any
chats/*.json        your chat conversations as stored (card, phone, e-mail and id numbers
                    redacted); chats/contact/ the contact details you gave for a follow-up
summaries/*         summaries a person reviewed, if any
consultations.json  every access to your recordings: date, action, purpose, outcome and
                    the role of whoever acted (employee identities are withheld)
"""


def export(
    vault: Vault,
    config: Config,
    principal: Principal,
    number: str | SubjectKey,
    out: Path,
    *,
    purpose: str,
    lock: Lock,
    expires_at: datetime,
    now: datetime,
    rng: Rng,
) -> ExportReport:
    """Write the caller's export bundle to ``out`` (see the module docstring); audited.

    Every audio, transcript and summary artefact is verified in full first; if any fails,
    nothing is written and :class:`BundleError` says which recording.
    """
    ensure(vault, config, principal, Action.EXPORT, purpose, now=now, audit_action="subject.export")
    recordings = recordings_of(vault, config, number)
    for rec in recordings:
        decision = allowed(config, principal, Action.EXPORT, rec, purpose=purpose)
        audit(
            vault,
            principal,
            "subject.export",
            now=now,
            outcome="allowed" if decision.allowed else "denied",
            recording_id=rec.id,
            purpose=purpose,
            reason=decision.reason,
            artefact="bundle",
        )
        if not decision.allowed:
            raise AccessDenied(decision.reason)
    members: list[Member] = []
    counts = {"audio": 0, "transcript": 0, "summary": 0}
    to_verify: list[tuple[Recording, Artefact]] = []
    for index, rec in enumerate(recordings, start=1):
        if rec.state is not State.AVAILABLE:
            continue
        stem = f"{index:03d}-{rec.started_at.strftime('%Y%m%dT%H%M%SZ')}-{rec.id[:8]}"
        audio = vault.catalog.artefact_by_kind(rec.id, ArtefactKind.AUDIO)
        if audio is not None and audio.state is State.AVAILABLE:
            to_verify.append((rec, audio))
            members.append(
                Member(
                    name=f"audio/{stem}.wav", chunks=_verified_chunks(vault, audio), compress=False
                )
            )
            counts["audio"] += 1
        folders: set[str] = set()
        for kind, folder in _TEXT_KINDS:
            text = vault.catalog.artefact_by_kind(rec.id, kind)
            if text is not None and text.state is State.AVAILABLE and folder not in folders:
                folders.add(folder)
                to_verify.append((rec, text))
                members.append(
                    Member(name=f"{folder}/{stem}.json", chunks=_verified_chunks(vault, text))
                )
                counts["transcript"] += 1
    for rec, artefact in to_verify:
        try:
            vault.verify_artefact(artefact.id)
        except StorageError as exc:
            audit(
                vault,
                principal,
                "subject.export.bundle",
                now=now,
                outcome="error",
                recording_id=rec.id,
                purpose=purpose,
                artefact=str(artefact.kind),
                reason="artefact failed verification; no bundle written",
            )
            raise BundleError(
                f"recording {rec.id}: {artefact.kind} failed verification "
                f"({type(exc).__name__}); no bundle written"
            ) from exc
    for index, rec in enumerate(recordings, start=1):
        if rec.state is not State.AVAILABLE:
            continue
        summary = _reviewed_summary(vault, rec.id)
        if summary is not None:
            stem = f"{index:03d}-{rec.started_at.strftime('%Y%m%dT%H%M%SZ')}-{rec.id[:8]}"
            members.append(Member(name=f"summaries/{stem}.json", chunks=_const(summary)))
            counts["summary"] += 1
    meta = _metadata(vault, recordings)
    report = consultation.as_dicts(
        consultation.consultations(vault.audit, [r.id for r in recordings])
    )
    consult = json.dumps({"consultations": report}, indent=2).encode("utf-8")
    members = [
        Member(name="README.txt", chunks=_const(_README.encode("utf-8"))),
        Member(name="metadata.json", chunks=_const(meta)),
        *members,
        Member(name="consultations.json", chunks=_const(consult)),
    ]
    try:
        info = write_bundle(out, members, lock=lock, created_at=now, expires_at=expires_at, rng=rng)
    except StorageError as exc:
        audit(
            vault,
            principal,
            "subject.export.bundle",
            now=now,
            outcome="error",
            purpose=purpose,
            reason="artefact failed while writing; no bundle written",
        )
        raise BundleError(
            f"an artefact failed while writing ({type(exc).__name__}); no bundle written"
        ) from exc
    audit(
        vault,
        principal,
        "subject.export.bundle",
        now=now,
        outcome="ok",
        purpose=purpose,
        artefact="bundle",
        detail={
            "bundle_id": group(info.bundle_id),
            "recordings": len(recordings),
            "audio": counts["audio"],
            "transcripts": counts["transcript"],
            "summaries": counts["summary"],
            "lock": info.lock,
            "expires_at": info.expires_at.isoformat(),
        },
    )
    return ExportReport(
        bundle=info,
        recordings=len(recordings),
        audio_files=counts["audio"],
        transcripts=counts["transcript"],
        summaries=counts["summary"],
    )
