"""The one bounded JSON reader: what it accepts, and every way a hostile document is refused.

Each refusal is the one error ``MalformedJson`` (never ``RecursionError``, ``ValueError``
or a parse that picks one of two values), so every caller can map it to "malformed".
"""

from __future__ import annotations

import pytest

from storage.errors import MalformedJson
from storage.safejson import JsonLimits, loads


def test_an_ordinary_document_is_read() -> None:
    assert loads(b'{"a": [1, 2.5, "x", null, true], "b": {"c": -3}}') == {
        "a": [1, 2.5, "x", None, True],
        "b": {"c": -3},
    }


@pytest.mark.parametrize(
    ("raw", "limits"),
    [
        (b"[" * 30_000 + b"]" * 30_000, JsonLimits()),  # recursion bomb
        (b'{"a": ' + b"9" * 5_000 + b"}", JsonLimits()),  # 5,000-digit integer
        (b'{"a": "' + b"x" * 70_000 + b'"}', JsonLimits()),  # over the size limit
        (b'{"a": NaN}', JsonLimits()),
        (b'{"a": 1e999999}', JsonLimits()),
        (b'{"a": 1, "a": 2}', JsonLimits()),  # a key given twice
        (b'{"a": {"b": 1, "b": 1}}', JsonLimits()),  # also deeper down
        (b"\xff\xfe{\x00}\x00", JsonLimits()),  # UTF-16, not UTF-8
        (b'{"a": 1', JsonLimits()),
        (b"[[[1]]]", JsonLimits(max_depth=2)),
    ],
)
def test_hostile_documents_are_malformed(raw: bytes, limits: JsonLimits) -> None:
    with pytest.raises(MalformedJson):
        loads(raw, limits=limits)


def test_depth_counts_brackets_outside_strings_only() -> None:
    assert loads(b'{"a": "[[[[[[[[[["}', limits=JsonLimits(max_depth=1)) == {"a": "[[[[[[[[[["}
