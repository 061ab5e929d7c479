"""The ``[ai]`` table: defaults, and errors that name the TOML path."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from recorder.ai_config import AiSettings, ai_settings, parse_ai
from recorder.config import parse_config
from recorder.errors import ConfigError
from transcribe.categorize import DEFAULT_TOPICS


def test_defaults_when_the_table_is_absent() -> None:
    settings = ai_settings(parse_config({}))
    assert settings == AiSettings()
    assert settings.topics == DEFAULT_TOPICS and settings.model is None
    assert settings.redaction_fill == "tone" and settings.threads == 2


def test_a_full_table() -> None:
    doc = tomllib.loads(
        """
        [ai]
        enabled = false
        model = "~/models/whisper-small-ct2"
        language = "auto"
        redaction_fill = "silence"
        threads = 4
        redact_languages = ["en", "sv"]
        [ai.topics.card_block]
        en = ["block my card"]
        sv = ["spärra kortet"]
        """
    )
    settings = ai_settings(parse_config(doc))
    assert not settings.enabled and settings.language is None
    assert settings.model == Path("~/models/whisper-small-ct2").expanduser()
    assert (settings.redaction_fill, settings.threads) == ("silence", 4)
    assert [t.name for t in settings.topics] == ["card_block"]


@pytest.mark.parametrize(
    ("table", "path"),
    [
        ({"threads": 0}, "ai.threads"),
        ({"threads": True}, "ai.threads"),
        ({"redaction_fill": "beep"}, "ai.redaction_fill"),
        ({"channels": "stereo"}, "ai.channels"),
        ({"language": 7}, "ai.language"),
        ({"model": ""}, "ai.model"),
        ({"enabled": "yes"}, "ai.enabled"),
        ({"redact_languages": ["de"]}, "ai.redact_languages"),
        ({"topics": {"Bad Name": {"en": ["x"]}}}, "ai.topics.Bad Name"),
        ({"topics": {"card": {"en": ["card 4111"]}}}, "ai.topics.card.en[0]"),
        ({"colour": "red"}, "ai: unknown key"),
    ],
)
def test_errors_name_the_toml_path(table: dict[str, object], path: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_ai(table)
    assert path in str(err.value)
