"""P20: Customer data is not used to train the language model.

- While the real pipeline transcribed the seven AI sample calls, every file the process
  opened for writing was recorded: none is in the model directory, and every model file
  has the same SHA-256 after as before.
- There is no path from transcripts to a model: no command or option of ``callrec`` trains,
  fine-tunes or exports a dataset, and the speech engine loads the model read-only from a
  local directory (never downloaded, never written).
"""

from __future__ import annotations

from pathlib import Path

import click
import pytest

from recorder.cli import cli
from tests.recorder.ai.real import AiSampleStore, ai_sample_store

FORBIDDEN = ("train", "finetune", "fine-tune", "fine_tune", "dataset", "corpus")


@pytest.fixture(scope="module")
def ai_samples(tmp_path_factory: pytest.TempPathFactory) -> AiSampleStore:
    return ai_sample_store(tmp_path_factory.mktemp)


def test_nothing_is_written_to_the_model_directory(ai_samples: AiSampleStore) -> None:
    model = ai_samples.model_dir.resolve()
    assert ai_samples.model_before and ai_samples.model_before == ai_samples.model_after
    assert ai_samples.writes  # the watch saw the encrypted artefacts being written ...
    for written in ai_samples.writes:  # ... and nothing else
        assert not Path(written).resolve().is_relative_to(model), written


def _commands(group: click.Group, prefix: str = "") -> list[tuple[str, click.Command]]:
    out: list[tuple[str, click.Command]] = []
    for name, command in group.commands.items():
        out.append((f"{prefix}{name}", command))
        if isinstance(command, click.Group):
            out += _commands(command, f"{prefix}{name} ")
    return out


def test_no_command_trains_or_exports_a_dataset() -> None:
    commands = _commands(cli)
    assert any(name == "ai run" for name, _ in commands)  # the walk sees the AI commands
    for name, command in commands:
        words = [name, *(opt for p in command.params for opt in getattr(p, "opts", ()))]
        for word in words:
            assert not any(bad in word.lower() for bad in FORBIDDEN), (name, word)
