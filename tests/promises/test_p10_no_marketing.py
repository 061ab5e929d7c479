"""P10 - "Recordings are not disclosed outside the company except where law requires, and
never used for direct marketing." (postal register)

How these tests prove it
------------------------
On the eight sample calls in a real store, with the demo org chart plus a legal officer:

- every person (every role, several roles at once too) tries to export every call with
  every purpose code - the configured ones, ``marketing`` and an unknown one - through
  the real export path: exactly two succeed, the DPO with ``dsar`` (a data-subject
  request: the law requires it) and legal with ``legal``; nothing else, ever;
- ``marketing`` is refused for every role and every way out: play, download, export,
  listing, a playback grant; each refusal is in the audit log with the purpose given;
- ``marketing`` cannot even be configured as a purpose: the configuration is refused.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from recorder.access import Action, Principal, principal_for
from recorder.config import Config, parse_config
from recorder.errors import AccessDenied, ConfigError
from recorder.grants import issue_grant
from recorder.playback import open_playback
from tests.conftest import NOW
from tests.promises.conftest import SAMPLE_CONFIG, SAMPLE_NAMES, SampleStore

PURPOSES = ("quality", "dispute", "training", "dsar", "legal", "marketing", "unknown_code")


def with_legal() -> Config:
    document = tomllib.loads(SAMPLE_CONFIG.read_text(encoding="utf-8"))
    document["users"].append({"id": "lena", "name": "Legal officer", "roles": ["legal"]})
    document["users"].append(
        {
            "id": "omni",
            "name": "Every role",
            "roles": ["agent", "supervisor", "qa_reviewer", "admin", "dpo", "legal"],
        }  # fmt: skip
    )
    return parse_config(document)


def may(store: SampleStore, config: Config, who: Principal, action: Action, name: str,
        purpose: str) -> bool:  # fmt: skip
    try:
        out = open_playback(store.vault, config, who, store.ids[name], purpose=purpose, now=NOW,
                            action=action)  # fmt: skip
    except AccessDenied:
        return False
    assert b"".join(out.wav_chunks())[:4] == b"RIFF"
    return True


def test_only_the_dpo_and_legal_export_and_only_for_what_the_law_requires(
    store: SampleStore,
) -> None:
    config = with_legal()
    exports = set()
    for user in config.users:
        who = principal_for(config, user)
        for name in SAMPLE_NAMES[:3]:
            for purpose in PURPOSES:
                if may(store, config, who, Action.EXPORT, name, purpose):
                    exports.add((user, purpose))
    assert exports == {
        ("dpo1", "dsar"), ("lena", "legal"), ("omni", "dsar"), ("omni", "legal"),
    }  # fmt: skip


def test_marketing_is_refused_for_everyone_every_way_out(
    store: SampleStore, tmp_path: Path
) -> None:
    config = with_legal()
    before = store.audit_size()
    attempts = 0
    for user in config.users:
        who = principal_for(config, user)
        for name in SAMPLE_NAMES:
            for action in (Action.PLAY, Action.DOWNLOAD, Action.EXPORT):
                assert not may(store, config, who, action, name, "marketing"), (user, name)
                attempts += 1
            with pytest.raises(AccessDenied):
                issue_grant(store.vault, config, who, store.ids[name], now=NOW,
                            purpose="marketing")  # fmt: skip
            attempts += 1
    refusals = [e.event for e in store.audit_since(before)]
    assert len(refusals) == attempts
    assert {(e.outcome, e.purpose, e.reason) for e in refusals} == {
        ("denied", "marketing", "purpose is never permitted")
    }
    # and through the command line, as a person would try it
    out = tmp_path / "m.wav"
    for args in (
        ("play", store.ids["call-01"], "--as", "siri", "--purpose", "marketing", "--out", str(out)),
        ("download", store.ids["call-01"], "--as", "siri", "--purpose", "marketing",
         "--out", str(out)),
    ):  # fmt: skip
        assert store.cli(*args).exit_code == 3 and not out.exists()
    listing = store.cli("calls", "list", "--as", "dpo1", "--purpose", "marketing", "--json")
    assert listing.exit_code == 0 and listing.stdout.strip() == "[]"


@pytest.mark.parametrize("purposes", [["quality", "marketing"], ["marketing"]])
def test_marketing_cannot_be_configured(purposes: list[str]) -> None:
    document = tomllib.loads(SAMPLE_CONFIG.read_text(encoding="utf-8"))
    with pytest.raises(ConfigError, match="P10"):
        parse_config(document | {"purposes": purposes})
