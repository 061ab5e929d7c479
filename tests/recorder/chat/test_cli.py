"""``callrec chat`` and ``callrec init --profile`` in-process, on a real store, fixed clock.

Every new command has ``--help`` with examples; ``chat ingest`` stores a file once and
prints its secret once; ``chat list/show`` follow the access table (exit 3 when denied);
``chat sample/stats`` print no ids; the DPO lists and carries out deletion requests;
``spool run`` picks up ``NAME.chat.json`` files and rejects bad ones redacted;
``init --profile`` writes each shipped profile and never overwrites another file.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

import recorder.cli.app as cli_app
from recorder import profiles
from recorder.cli import cli
from tests.recorder.chat.helpers import CHAT_TABLE, ORG, T0, advisor_chat, bot_chat

Run = Callable[..., Result]
NOW = T0 + timedelta(hours=1)


@pytest.fixture
def run(
    tmp_path: Path, rng: Callable[[int], bytes], monkeypatch: pytest.MonkeyPatch
) -> Iterator[Run]:
    class FixedContext(cli_app.Context):
        def __init__(self, **kwargs: Any) -> None:
            super().__init__(**{**kwargs, "now": lambda: NOW, "rng": rng})

    monkeypatch.setattr(cli_app, "Context", FixedContext)
    config = tmp_path / "callrec.toml"
    config.write_text(ORG + CHAT_TABLE)
    base = [
        "--home",
        str(tmp_path / "data"),
        "--keyring",
        str(tmp_path / "k" / "kr.json"),
        "--config",
        str(config),
    ]

    def invoke(*args: str) -> Result:
        return CliRunner().invoke(cli, [*base, *args], catch_exceptions=False)

    assert invoke("init").exit_code == 0
    yield invoke


def _file(tmp_path: Path, name: str, document: dict[str, Any]) -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(document))
    return path


@pytest.mark.parametrize(
    "command",
    ["ingest", "list", "show", "sample", "stats", "requests", "erase"],
)
def test_every_chat_command_has_help_with_examples(command: str) -> None:
    result = CliRunner().invoke(cli, ["chat", command, "--help"])
    assert result.exit_code == 0 and "Example" in result.output


def test_ingest_list_show_and_denials(run: Run, tmp_path: Path) -> None:
    created = run("chat", "ingest", str(_file(tmp_path, "a.json", advisor_chat("c-cli"))), "--json")
    assert created.exit_code == 0, created.output
    data = json.loads(created.stdout)
    assert data["status"] == "created" and data["secret"].startswith("cs1_")
    again = json.loads(run("chat", "ingest", str(tmp_path / "a.json"), "--json").stdout)
    assert again["status"] == "duplicate" and again["secret"] is None
    listed = json.loads(run("chat", "list", "--as", "anna", "--json").stdout)
    assert [r["chat_id"] for r in listed] == [data["chat_id"]]
    assert listed[0]["contact_number"] == "+4791234***"
    shown = run("chat", "show", data["chat_id"], "--as", "anna", "--text")
    assert (
        shown.exit_code == 0 and "advisor:anna: Hei" in shown.stdout and "[phone]" in shown.stdout
    )
    contact = json.loads(run("chat", "show", data["chat_id"], "--as", "anna", "--contact").stdout)
    assert contact["email"] == "kari@example.no"
    assert run("chat", "show", data["chat_id"], "--as", "bjorn").exit_code == 3
    assert run("chat", "show", data["chat_id"], "--as", "siri", "--contact").exit_code == 3
    assert run("chat", "show", data["chat_id"], "--as", "dpo1", "--purpose", "dsar").exit_code == 0


def test_sample_stats_requests_and_erase(run: Run, tmp_path: Path) -> None:
    bot = json.loads(
        run("chat", "ingest", str(_file(tmp_path, "b.json", bot_chat())), "--json").stdout
    )
    adv = json.loads(
        run("chat", "ingest", str(_file(tmp_path, "a.json", advisor_chat())), "--json").stdout
    )
    sample = run("chat", "sample", "--as", "qa1", "--count", "5", "--seed", "3")
    assert sample.exit_code == 0 and "[card]" in sample.stdout and "seed 3" in sample.stdout
    assert bot["chat_id"] not in sample.stdout and adv["chat_id"] not in sample.stdout
    assert run("chat", "sample", "--as", "anna").exit_code == 3
    stats = json.loads(run("chat", "stats", "--as", "siri", "--json").stdout)
    assert stats == [
        {"day": "2026-11-23", "conversations": 2, "handovers": 1, "complaints": 0, "topics": {}}
    ]
    assert json.loads(run("chat", "requests", "--as", "dpo1", "--json").stdout) == []
    assert run("chat", "requests", "--as", "anna").exit_code == 3
    erased = run("chat", "erase", adv["chat_id"], "--as", "dpo1")
    assert erased.exit_code == 0 and "erased" in erased.stdout
    assert json.loads(run("chat", "list", "--as", "anna", "--json").stdout) == []


def test_subject_commands_take_an_email_or_customer_id(run: Run, tmp_path: Path) -> None:
    run("chat", "ingest", str(_file(tmp_path, "a.json", advisor_chat())))
    found = run("subject", "find", "--email", "kari@example.no", "--as", "dpo1", "--json")
    assert found.exit_code == 0 and len(json.loads(found.stdout)) == 1
    both = run(
        "subject", "find", "--email", "kari@example.no", "--number", "+4791234567", "--as", "dpo1"
    )
    assert both.exit_code == 2
    erased = run("subject", "erase", "--email", "kari@example.no", "--as", "dpo1", "--json")
    assert erased.exit_code == 0 and '"erased"' in erased.stdout


def test_spool_run_picks_up_chat_files(run: Run, tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    spool.mkdir()
    _file(spool, "one.chat.json", bot_chat("c-sp1"))
    (spool / "bad.chat.json").write_text(
        '{"v": 1, "platform": "webchat", "text": "kort 4111 1111 1111 1111"'
    )
    elsewhere = _file(tmp_path, "elsewhere.json", bot_chat("c-sp2"))
    before = elsewhere.read_bytes()
    (spool / "link.chat.json").symlink_to(elsewhere)
    result = run("spool", "run", str(spool))
    assert "chats: 1 stored, 0 already stored, 2 rejected" in result.stdout, result.output
    assert not (spool / "one.chat.json").exists() and not (spool / "bad.chat.json").exists()
    redacted = (spool / "rejected" / "bad.chat.json.redacted").read_text()
    assert "[card]" in redacted and "4111" not in redacted
    assert (spool / "rejected" / "bad.reason.txt").read_text().startswith("InvalidChat")
    # The symlink is moved aside as it is, with a reason: never followed, its target untouched.
    assert not (spool / "link.chat.json").exists() and not (spool / "link.chat.json").is_symlink()
    assert (spool / "rejected" / "link.chat.json").is_symlink()
    assert "not a regular file" in (spool / "rejected" / "link.reason.txt").read_text()
    assert elsewhere.read_bytes() == before


@pytest.mark.parametrize("name", profiles.available())
def test_init_with_each_profile(tmp_path: Path, name: str) -> None:
    home = tmp_path / "data"
    base = ["--home", str(home), "--keyring", str(tmp_path / "k" / "kr.json")]
    result = CliRunner().invoke(cli, [*base, "init", "--profile", name])
    assert result.exit_code == 0, result.output
    written = home / "callrec.toml"
    assert written.read_bytes() == profiles.profile_path(name).read_bytes()
    again = CliRunner().invoke(cli, [*base, "init", "--profile", name])
    assert again.exit_code == 0 and "already in place" in again.stdout
    other = next(p for p in profiles.available() if p != name)
    refused = CliRunner().invoke(cli, [*base, "init", "--profile", other])
    assert (
        refused.exit_code == 2 and written.read_bytes() == profiles.profile_path(name).read_bytes()
    )


def test_init_refuses_an_unknown_profile(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["--home", str(tmp_path / "d"), "init", "--profile", "nope"])
    assert result.exit_code == 2 and "known:" in result.output
    assert len(profiles.available()) == 4


def test_holds_by_email_or_customer_id_cover_their_chats(run: Run, tmp_path: Path) -> None:
    adv = json.loads(run("chat", "ingest", str(_file(tmp_path, "a.json", advisor_chat())),
                         "--json").stdout)  # fmt: skip
    placed = run("hold", "place", "--email", "kari@example.no", "--reason", "complaint case",
                 "--as", "legal1", "--json")  # fmt: skip
    assert placed.exit_code == 0, placed.output
    assert json.loads(placed.stdout)["label"] == adv["chat_id"]
    erased = run("chat", "erase", adv["chat_id"], "--as", "dpo1")
    assert "pending" in erased.stdout  # the hold beats the deletion
    nothing = run("hold", "place", "--customer", "nobody", "--reason", "x", "--as", "legal1")
    assert nothing.exit_code == 1 and "no chats" in nothing.output
    released = run("hold", "release", "--email", "kari@example.no", "--reason", "closed",
                   "--as", "legal1")  # fmt: skip
    assert released.exit_code == 0
