"""The ``[chat]`` table is validated at start with errors that name the TOML path.

Defaults give the postal chatbot's classes; each bad value is a :class:`ConfigError` naming
where it is, never echoing a secret; environment variables replace the file's secrets.
"""

from __future__ import annotations

import tomllib

import pytest

from recorder.chat.settings import load_chat_settings
from recorder.config import parse_config
from recorder.errors import ConfigError
from tests.recorder.chat.helpers import BANK_PUBLIC, CHAT_SECRET, ORG


def _load(extra: str, env: dict[str, str] | None = None) -> object:
    return load_chat_settings(parse_config(tomllib.loads(ORG + extra)), env or {})


def test_defaults() -> None:
    settings = load_chat_settings(parse_config(tomllib.loads(ORG)), {})
    assert {p: c.name for p, c in settings.classes.items()} == {
        "bot": "chat_bot_1m", "advisor": "chat_advisor_18m", "complaint": "chat_complaint_42m",
    }  # fmt: skip
    assert settings.webhook is None and settings.history is None and settings.ip == "truncated"


@pytest.mark.parametrize(
    ("extra", "where"),
    [
        ("[chat]\nmystery = 1\n", "chat.mystery"),
        ('[chat]\nip = "full"\n', "chat.ip"),
        ('[chat]\nlanguages = ["xx"]\n', "chat.languages"),
        ('[chat]\nplatforms = ["Web Chat"]\n', "chat.platforms"),
        ('[chat.classes]\nbot = "standard_6m"\n', "chat.classes.bot"),
        ('[chat.classes]\nbot = "nope"\n', "chat.classes.bot"),
        ('[chat.classes]\nsomething = "chat_1y"\n', "chat.classes.something"),
        ("[chat.selfservice]\nper_minute = 0\n", "chat.selfservice.per_minute"),
        ("[chat.selfservice]\nttl = 3\n", "chat.selfservice.ttl"),
        ('[chat.history]\npublic_keys = ["c2hvcnQ="]\n', "chat.history.public_keys"),
        ("[chat.history]\nvisible = 3\n", "chat.history.visible"),
        ('[webhooks.chat]\nsecrets = ["whsec_c2hvcnQ="]\n', "webhooks.chat"),
    ],
)
def test_bad_values_name_their_path(extra: str, where: str) -> None:
    with pytest.raises(ConfigError, match=where.replace(".", r"\.")) as caught:
        _load(extra)
    assert "c2hvcnQ" not in str(caught.value)


def test_secrets_and_keys_from_the_environment() -> None:
    settings = load_chat_settings(
        parse_config(tomllib.loads(ORG + "[chat.history]\nvisible_months = 36\n")),
        {"CALLREC_CHAT_SECRET": CHAT_SECRET, "CALLREC_CHAT_HISTORY_KEY": BANK_PUBLIC},
    )
    assert settings.webhook is not None
    assert settings.history is not None and len(settings.history.public_keys) == 1
