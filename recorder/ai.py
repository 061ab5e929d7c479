"""The AI path, orchestrated: transcribe, redact, categorise and summarise one call.

What runs, for one captured call (``AiPipeline.process``)::

    checks         AI enabled; the call record says the AI notice was given (P18); not
                   opted out; not restricted; not processed before
    unseal         the stored WAV is decrypted into memory (never a plaintext file)
    cut            audio after the opt-out point is dropped before anything hears it (P17)
    transcribe     a dual-channel call per channel (agent / customer), merged into
                   speaker-labelled turns; or, with ``[ai] channels = "mixed"``, once mixed,
                   each word given to the louder channel (``recorder.ai_speakers``: 2-3x
                   faster, but on the sample calls it lost greetings and a topic)
    redact         card and phone numbers, spoken as digits or number words, in the text;
                   their time spans +-250 ms silenced or beeped over in the audio
    categorise     predefined topics from the configuration (P15)
    summarise      a DRAFT summary, from redacted text only (P14: not a record until a
                   person approves or edits it, see ``recorder.ai_review``)
    seal           four artefacts, each under its own data key: redacted audio, redacted
                   transcript (JSON), categories (JSON), draft summary (JSON)
    commit         one transaction: the four artefact rows with the ``ai_30d`` expiry, the
                   AI run, the parent's move to ``ai_30d`` (unless a longer MIN class such as
                   ``regulated_5y`` applies) and the audit entry ``ai.run``

The unredacted transcript exists only in memory. Nothing here logs or audits text: the
audit entry carries counts, topic names, the model name and the covered milliseconds.

Opting out (``opt_out``) shreds every AI artefact of the call, puts the recording back in
the class it had before AI, and is audited. The decision for a *partial* opt-out (``at_ms
> 0``) after AI already ran on more than that: the AI artefacts are shredded and the call
becomes pending again, so the next ``ai run`` covers only the audio before the opt-out
point; a full opt-out (``at_ms == 0``) leaves no AI output at all, ever.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from recorder import policy
from recorder.ai_audio import fill_spans, suspect_spans
from recorder.ai_config import AiSettings
from recorder.ai_speakers import attribute, mix
from recorder.audit_events import record
from recorder.policy import RetentionClass
from recorder.retention import resolve
from recorder.wavfmt import HEADER_SIZE, PcmFormat, parse_header, wav_header
from storage import ai_store
from storage.ai_store import AiRun
from storage.errors import IntegrityError
from storage.models import ArtefactKind, Recording, Rng, State
from storage.vault import Sealed, Vault
from transcribe.audio import merge_turns, pcm16_to_channels
from transcribe.categorize import Category, categorize
from transcribe.engine import SpeechEngine
from transcribe.errors import TranscribeError, UnsupportedLanguage
from transcribe.models import Transcript, Word
from transcribe.redact import AUDIO_MARGIN_S, redact
from transcribe.summarize import ExtractiveSummarizer, Summarizer, Summary

log = logging.getLogger(__name__)

#: The artefacts the AI path derives from a call, in the order they are written.
AI_KINDS: Final = (
    ArtefactKind.REDACTED_AUDIO,
    ArtefactKind.TRANSCRIPT,
    ArtefactKind.CATEGORIES,
    ArtefactKind.SUMMARY,
)
AI_CLASS: Final = "ai_30d"
SYSTEM: Final = "system"
#: Channel roles of a dual-channel call, by channel index (samples/README.md).
DUAL_ROLES: Final = ("agent", "customer")
ENVELOPE_VERSION: Final = 1


@dataclass(frozen=True, slots=True, kw_only=True)
class AiOutcome:
    """What the pipeline did with one call (ids, counts and names only: no text)."""

    recording_id: str
    done: bool
    reason: str
    covered_ms: int = 0
    redacted_spans: int = 0
    topics: tuple[str, ...] = ()
    model: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class OptOutOutcome:
    """What an opt-out did: the point recorded, how many artefacts were shredded."""

    recording_id: str
    at_ms: int
    shredded: int
    pending_again: bool
    retention_class: str


def json_bytes(data: Any) -> bytes:
    """Canonical UTF-8 JSON (sorted keys, no ASCII escaping) for an artefact."""
    return json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def summary_envelope(summary: Summary, *, edit: Mapping[str, Any] | None = None) -> bytes:
    """The SUMMARY artefact's plaintext: the summary and, after an edit, the edit's diff."""
    return json_bytes({"v": ENVELOPE_VERSION, "summary": summary.to_dict(), "edit": edit})


def category_dicts(categories: Iterable[Category]) -> list[dict[str, Any]]:
    """Categories as JSON-ready dicts."""
    return [c.to_dict() for c in categories]


def _start(recording: Recording) -> datetime:
    return recording.answered_at or recording.started_at


def ai_expiry(
    recording: Recording, classes: Mapping[str, RetentionClass] | None = None
) -> datetime:
    """When the AI artefacts of ``recording`` expire: ``ai_30d`` from the answer (P16)."""
    cls = (classes or policy.CLASSES).get(AI_CLASS) or policy.retention_class(AI_CLASS)
    return policy.expires_at(cls, _start(recording))


def parent_class(
    recording: Recording, classes: Mapping[str, RetentionClass] | None = None
) -> tuple[str, datetime | None]:
    """The parent recording's class once AI ran (issue 8's conflict rule, ``resolve``):
    a longer MIN obligation (``regulated_5y``) stays; otherwise the shorter of its MAX class
    and ``ai_30d`` (so a 24-hour buffer call is never kept longer because AI ran)."""
    known = classes or policy.CLASSES
    base = known.get(recording.retention_class)
    ai = known.get(AI_CLASS) or policy.retention_class(AI_CLASS)
    if base is None:  # a class this code does not know: leave the parent alone
        return recording.retention_class, recording.expires_at
    chosen = resolve([base, ai], _start(recording))
    return chosen.governed_by, chosen.expires_at


def words_by_channel(transcript: Transcript, channels: int) -> list[list[Word]]:
    """The recognised words per audio channel, in time order (one list for a mixed call)."""
    if channels == len(DUAL_ROLES):
        return [
            sorted(
                (w for s in transcript.segments if s.speaker == role for w in s.words),
                key=lambda w: w.start,
            )  # fmt: skip
            for role in DUAL_ROLES
        ]
    return [list(transcript.words)]


def _audit(
    vault: Vault,
    *,
    now: datetime,
    action: str,
    recording_id: str,
    outcome: str = "ok",
    actor_id: str = SYSTEM,
    actor_role: str = SYSTEM,
    reason: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    record(
        vault.audit, (actor_id, actor_role), action, now=now, outcome=outcome,
        recording_id=recording_id, reason=reason, detail=detail,
    )  # fmt: skip


def read_audio(vault: Vault, recording_id: str) -> tuple[PcmFormat, bytes]:
    """The stored audio of a recording, decrypted into memory: (format, PCM bytes)."""
    artefact = vault.catalog.artefact_by_kind(recording_id, ArtefactKind.AUDIO)
    if artefact is None or artefact.state is State.DESTROYED:
        raise IntegrityError("recording has no readable audio")
    with vault.open_artefact(artefact.id) as reader:
        data = reader.read_all()
    try:
        fmt, frames = parse_header(data[:HEADER_SIZE])
    except ValueError:
        raise IntegrityError() from None
    return fmt, data[HEADER_SIZE : HEADER_SIZE + frames * fmt.frame_size]


class AiPipeline:
    """Runs the AI path on stored calls of one vault (see the module docstring)."""

    def __init__(
        self,
        vault: Vault,
        settings: AiSettings,
        engine: SpeechEngine,
        *,
        summarizer: Summarizer | None = None,
        model_name: str | None = None,
        classes: Mapping[str, RetentionClass] | None = None,
    ) -> None:
        """``classes``: the retention classes in force (``recorder.retention.load_classes``);
        default: the built-in table of ``recorder.policy``."""
        self.vault = vault
        self.classes = classes
        self.settings = settings
        self.engine = engine
        self.summarizer: Summarizer = summarizer or ExtractiveSummarizer()
        self.model_name = model_name or str(getattr(engine, "model_name", "scripted"))

    def why_not(self, recording: Recording) -> str | None:
        """Why AI must not run on ``recording`` now, or None if it may."""
        if not self.settings.enabled:
            return "AI is disabled in the configuration"
        if recording.state is not State.AVAILABLE:
            return "recording is not available"
        flags = ai_store.ai_flags(self.vault.catalog, recording.id)
        if not flags.notice:
            return "the call record does not say the AI notice was given"
        if flags.opted_out or recording.ai_opted_out or flags.optout_at_ms == 0:
            return "the customer opted out of AI"
        if recording.restricted:
            return "processing of the recording is restricted"
        if ai_store.get_run(self.vault.catalog, recording.id) is not None:
            return "already processed"
        return None

    def process(self, recording_id: str, *, now: datetime, rng: Rng) -> AiOutcome:
        """Run the AI path on one call; a refusal is audited and returned, not raised."""
        catalog = self.vault.catalog
        recording = catalog.get_recording(recording_id)
        reason = self.why_not(recording)
        if reason is not None:
            if reason != "already processed":
                _audit(self.vault, now=now, action="ai.skip", recording_id=recording_id,
                       outcome="ok", reason=reason)  # fmt: skip
            return AiOutcome(recording_id=recording_id, done=False, reason=reason)
        flags = ai_store.ai_flags(catalog, recording_id)
        fmt, pcm = read_audio(self.vault, recording_id)
        if flags.optout_at_ms is not None:
            pcm = pcm[: fmt.frame_at(flags.optout_at_ms) * fmt.frame_size]
        covered_ms = len(pcm) // fmt.frame_size * 1000 // fmt.sample_rate
        language = flags.language or self.settings.language
        try:
            transcript = self._transcribe(pcm, fmt, language)
            redaction = redact(transcript, languages=self.settings.redact_languages)
            categories = categorize(redaction.transcript, self.settings.topics)
            summary = self.summarizer.summarize(redaction, categories)
        except UnsupportedLanguage:
            reason = "the configured speech model does not know the call's language"
            _audit(self.vault, now=now, action="ai.skip", recording_id=recording_id,
                   outcome="ok", reason=reason)  # fmt: skip
            return AiOutcome(recording_id=recording_id, done=False, reason=reason)
        except TranscribeError as exc:
            reason = f"AI failed: {type(exc).__name__}"
            _audit(self.vault, now=now, action="ai.run", recording_id=recording_id,
                   outcome="error", reason=reason)  # fmt: skip
            log.warning("AI path failed on %s (%s)", recording_id, type(exc).__name__)
            return AiOutcome(recording_id=recording_id, done=False, reason=reason)
        spans = [(s.start, s.end) for s in redaction.spans]
        suspects = suspect_spans(
            pcm, fmt, words_by_channel(transcript, fmt.channels),
            languages=self.settings.redact_languages,
        )  # fmt: skip
        del transcript  # the unredacted text goes no further
        redacted_pcm = fill_spans(
            pcm, fmt, spans + suspects, fill=self.settings.redaction_fill, margin_s=AUDIO_MARGIN_S
        )
        frames = len(redacted_pcm) // fmt.frame_size
        payloads: dict[ArtefactKind, Callable[[], Iterable[bytes]]] = {
            ArtefactKind.REDACTED_AUDIO: lambda: (wav_header(fmt, frames), redacted_pcm),
            ArtefactKind.TRANSCRIPT: lambda: (json_bytes(redaction.transcript.to_dict()),),
            ArtefactKind.CATEGORIES: lambda: (json_bytes(category_dicts(categories)),),
            ArtefactKind.SUMMARY: lambda: (summary_envelope(summary),),
        }
        topics = tuple(str(c.topic) for c in categories)
        detail: dict[str, Any] = {
            "covered_ms": covered_ms,
            "redacted_spans": len(spans),
            "audio_suspect_spans": len(suspects),
            "topics": ",".join(topics),
            "model": self.model_name,
            "summary": "draft",
        }
        detail |= {f"redacted_{kind}": n for kind, n in redaction.counts.items()}
        self._commit(recording, payloads, now=now, rng=rng, covered_ms=covered_ms, detail=detail)
        return AiOutcome(
            recording_id=recording_id,
            done=True,
            reason="processed",
            covered_ms=covered_ms,
            redacted_spans=len(spans),
            topics=topics,
            model=self.model_name,
        )

    def _transcribe(self, pcm: bytes, fmt: PcmFormat, language: str | None) -> Transcript:
        channels = pcm16_to_channels(pcm, sample_rate=fmt.sample_rate, channels=fmt.channels)
        if len(channels) == len(DUAL_ROLES):
            if self.settings.channels == "mixed":
                heard = self.engine.transcribe(mix(channels), language=language)
                return attribute(heard, channels, DUAL_ROLES)
            per_channel = {
                role: self.engine.transcribe(samples, language=language, speaker=role)
                for role, samples in zip(DUAL_ROLES, channels, strict=True)
            }
            return merge_turns(per_channel)
        if len(channels) == 1:
            return self.engine.transcribe(channels[0], language=language)
        return self.engine.transcribe(mix(channels), language=language)

    def _commit(
        self,
        recording: Recording,
        payloads: Mapping[ArtefactKind, Callable[[], Iterable[bytes]]],
        *,
        now: datetime,
        rng: Rng,
        covered_ms: int,
        detail: dict[str, Any],
    ) -> None:
        catalog = self.vault.catalog
        sealed: list[Sealed] = []
        try:
            for kind in AI_KINDS:
                sealed.append(self.vault.seal(recording.id, kind, payloads[kind](), rng=rng))
            new_class, new_expiry = parent_class(recording, self.classes)
            derived = ai_expiry(recording, self.classes)
            if new_expiry is not None:  # derived artefacts never outlive their parent
                derived = min(derived, new_expiry)
            with catalog.transaction():
                for item in sealed:
                    self.vault.register(item, now=now, expires_at=derived)
                ai_store.put_run(
                    catalog,
                    AiRun(
                        recording_id=recording.id,
                        state="done",
                        ran_at=now,
                        model=self.model_name,
                        covered_ms=covered_ms,
                        base_class=recording.retention_class,
                        base_expires_at=recording.expires_at,
                    ),
                )
                ai_store.set_retention(
                    catalog, recording.id, retention_class=new_class, expires_at=new_expiry
                )
                _audit(self.vault, now=now, action="ai.run", recording_id=recording.id,
                       detail=detail | {"retention_class": new_class})  # fmt: skip
        except BaseException:
            for item in sealed:
                self.vault.discard(item)
            raise

    def run_pending(
        self, *, now: Callable[[], datetime], rng: Rng, limit: int | None = None
    ) -> list[AiOutcome]:
        """Process every call waiting for AI (oldest first), up to ``limit``."""
        ids = ai_store.pending(self.vault.catalog)
        if limit is not None:
            ids = ids[:limit]
        return [self.process(rid, now=now(), rng=rng) for rid in ids]


def live_ai_artefacts(vault: Vault, recording_id: str) -> list[str]:
    """Ids of the recording's AI artefacts that are not destroyed."""
    return [
        a.id
        for a in vault.catalog.artefacts_for(recording_id)
        if a.kind in AI_KINDS and a.state is not State.DESTROYED
    ]


def opt_out(
    vault: Vault,
    recording_id: str,
    *,
    at_ms: int | None,
    now: datetime,
    actor_id: str,
    actor_role: str,
) -> OptOutOutcome:
    """Stop AI for a call from ``at_ms`` after the answer (None or 0: entirely). Audited.

    An earlier opt-out point is never moved later. Every AI artefact made from audio past
    the new point is shredded (all of them, since a transcript or summary cannot be split
    reliably), the recording returns to the class it had before AI, and a partial opt-out
    leaves the call pending so the next run covers only the audio before the point.
    """
    if at_ms is not None and at_ms < 0:
        raise ValueError("at_ms must be >= 0")
    catalog = vault.catalog
    recording = catalog.get_recording(recording_id)
    flags = ai_store.ai_flags(catalog, recording_id)
    point = 0 if at_ms is None else at_ms
    if flags.optout_at_ms is not None:
        point = min(point, flags.optout_at_ms)
    run = ai_store.get_run(catalog, recording_id)
    stale = (
        run is not None
        and run.state == "done"
        and (point == 0 or run.covered_ms is None or run.covered_ms > point)
    )
    shredded = 0
    if stale:
        for artefact_id in live_ai_artefacts(vault, recording_id):
            if vault.shred_artefact(
                artefact_id, now=now, reason="ai.optout", actor_id=actor_id, actor_role=actor_role
            ):
                shredded += 1
    retention_class = recording.retention_class
    with catalog.transaction():
        ai_store.set_optout(catalog, recording_id, at_ms=point)
        if stale and run is not None:
            retention_class = run.base_class
            ai_store.set_retention(
                catalog, recording_id, retention_class=run.base_class,
                expires_at=run.base_expires_at,
            )  # fmt: skip
            ai_store.delete_run(catalog, recording_id)
        _audit(vault, now=now, action="ai.optout", recording_id=recording_id,
               actor_id=actor_id, actor_role=actor_role,
               detail={"at_ms": point, "shredded": shredded,
                       "retention_class": retention_class})  # fmt: skip
    return OptOutOutcome(
        recording_id=recording_id,
        at_ms=point,
        shredded=shredded,
        pending_again=point > 0 and stale,
        retention_class=retention_class,
    )
