"""The [qa] table: default criteria, custom scales and weights, errors naming the TOML path."""

from __future__ import annotations

import tomllib
from typing import Any

import pytest

from recorder.config import parse_config
from recorder.errors import ConfigError, QaError
from recorder.qa_config import DEFAULT_CRITERIA, qa_settings


def settings_of(toml: str) -> Any:
    return qa_settings(parse_config(tomllib.loads(toml)))


def test_defaults_without_a_qa_table() -> None:
    s = settings_of("")
    assert [c.name for c in s.criteria] == [
        "greeting", "identification", "resolution", "compliance", "tone",
    ]  # fmt: skip
    assert s.criteria == DEFAULT_CRITERIA and s.comment_max == 2000


def test_custom_criteria_scales_and_weights() -> None:
    s = settings_of(
        """
        [qa]
        comment_max = 50
        criteria = [
          { name = "empathy", scale = [0, 10], weight = 3 },
          { name = "accuracy" },
        ]
        """
    )
    assert [(c.name, c.low, c.high, c.weight) for c in s.criteria] == [
        ("empathy", 0, 10, 3.0), ("accuracy", 1, 5, 1.0),
    ]  # fmt: skip
    assert s.validate({"accuracy": 5, "empathy": 10}) == {"empathy": 10, "accuracy": 5}
    assert s.weighted_percent({"empathy": 10.0, "accuracy": 1.0}) == 75.0
    with pytest.raises(QaError, match="empathy: must be between 0 and 10"):
        s.validate({"empathy": 11, "accuracy": 3})


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ("[qa]\ncriteria = []", "qa.criteria must be a non-empty list"),
        ("[qa]\ncriteria = [{ name = 'Tone!' }]", r"qa.criteria\[0\].name"),
        ("[qa]\ncriteria = [{ name = 'tone', scale = [5, 1] }]", r"qa.criteria\[0\].scale"),
        ("[qa]\ncriteria = [{ name = 'tone', scale = [1] }]", r"qa.criteria\[0\].scale"),
        ("[qa]\ncriteria = [{ name = 'tone', scale = [1.5, 3] }]", r"scale\[0\]"),
        ("[qa]\ncriteria = [{ name = 'tone', weight = 0 }]", r"qa.criteria\[0\].weight"),
        ("[qa]\ncriteria = [{ name = 'tone', colour = 'red' }]", "unknown key"),
        ("[qa]\ncriteria = [{ name = 'tone' }, { name = 'tone' }]", r"\[1\].name: duplicate"),
        ("[qa]\ncriteria = ['tone']", r"qa.criteria\[0\] must be a table"),
        ("[qa]\ncomment_max = -1", "qa.comment_max"),
        ("[qa]\nrubric = 1", "qa: unknown key"),
        ("qa = 3", r"\[qa\] must be a table"),
    ],
)
def test_bad_qa_tables_name_the_path(toml: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        settings_of(toml)
