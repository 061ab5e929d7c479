"""Bad chat input is a clear error, never a crash, never a half-stored chat (T-INPUT, H4, H5).

Every case goes through the real reader and parser and then through ingest: the result
is :class:`InvalidChat` (an ``InvalidEvent``: HTTP 400, exit 1) naming a field, the message
never echoes the value, and the store holds no recording, artefact or blob afterwards.
Hypothesis fuzzes the parser: 0 exceptions outside the project's own tree.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recorder.chat.jsonin import read_json
from recorder.chat.parse import read_delivery
from recorder.config import Config
from recorder.errors import InvalidChat, RecorderError
from storage.vault import Vault
from tests.recorder.chat.helpers import T0, chat_config, chat_settings, doc, event, ingest, msg

Rng = Callable[[int], bytes]
#: Ids refused outright; printable ones (``../../etc/passwd``, ``+4791234567``) are accepted
#: but only ever stored as keyed digests (test_ingest, test_hostile_printable_ids...).
HOSTILE_IDS = ["a\x00b", "a\u202eb", "x" * 129, "", "a b", "ä", 7, None, "a;b\n", "x" * 1_000_000]


def _cases() -> list[tuple[str, bytes]]:
    good = doc()
    cases: list[tuple[str, Any]] = [
        ("not json", b"{not json"),
        ("not utf-8", b'{"v": 1, "x": "\xff"}'),
        ("array", b"[]"),
        ("deep", b"[" * 100_000 + b"]" * 100_000),
        ("deep object", b'{"a":' * 50 + b"1" + b"}" * 50),
        ("huge int", b'{"v": ' + b"9" * 5000 + b"}"),
        ("nan", b'{"v": NaN}'),
        ("duplicate key", b'{"v": 1, "v": 1}'),
        ("too large", json.dumps(doc(messages=[msg("m1", "customer", "x" * 3000)] * 200)).encode()),
        ("unknown field", good | {"extra": 1}),
        ("no version", {k: v for k, v in good.items() if k != "v"}),
        ("unknown platform", good | {"platform": "other"}),
        ("bad language", good | {"language": "xx"}),
        ("no messages or events", good | {"messages": []}),
        ("message not object", good | {"messages": ["hi"]}),
        ("unknown sender", good | {"messages": [msg("m1", "robot", "hi")]}),
        ("unknown advisor", good | {"messages": [msg("m1", "advisor:mallory", "hi")]}),
        (
            "naive time",
            good | {"messages": [msg("m1", "bot", "hi") | {"at": "2026-11-23T09:00:00"}]},
        ),
        (
            "time out of range",
            good | {"messages": [msg("m1", "bot", "hi") | {"at": "1899-01-01T00:00:00Z"}]},
        ),
        ("text too long", good | {"messages": [msg("m1", "bot", "x" * 4001)]}),
        ("text not a string", good | {"messages": [msg("m1", "bot", "x") | {"text": 5}]}),
        ("handover without advisor", good | {"events": [event("handover", 1)]}),
        ("ended with advisor", good | {"events": [event("ended", 1, advisor="anna")]}),
        ("unknown event", good | {"events": [event("exploded", 1)]}),
        ("bad ip", good | {"ip": "999.1.1.1"}),
        ("contact not object", good | {"contact": "kari"}),
        ("contact unknown field", good | {"contact": {"ssn": "x"}}),
        ("too many messages", good | {"messages": [msg(f"m{i}", "bot", "x") for i in range(1001)]}),
        ("topics not names", good | {"topics": [1, 2]}),
    ]
    for i, bad in enumerate(HOSTILE_IDS):
        cases.append((f"hostile conversation id {i}", good | {"conversation_id": bad}))
        cases.append(
            (f"hostile message id {i}", good | {"messages": [msg("m", "bot", "x") | {"id": bad}]})
        )
        if bad is not None:  # a null customer id means "not logged in"
            cases.append((f"hostile customer id {i}", good | {"customer_id": bad}))
    return [(n, c if isinstance(c, bytes) else json.dumps(c).encode()) for n, c in cases]


CASES = _cases()
FUZZ_CONFIG = chat_config()
FUZZ_SETTINGS = chat_settings(FUZZ_CONFIG)


@pytest.mark.parametrize(("name", "raw"), CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_refused_with_a_clear_error_and_stores_nothing(
    vault: Vault, config: Config, rng: Rng, name: str, raw: bytes
) -> None:
    with pytest.raises(InvalidChat) as caught:
        ingest(vault, config, raw, now=T0, rng=rng)
    message = str(caught.value)
    assert message and len(message) < 200
    assert "mallory" not in message and "passwd" not in message and "xxxx" not in message
    assert vault.catalog.list_recordings() == [] and list(vault.blobs.names()) == []


def test_the_reader_limits_depth_size_and_numbers() -> None:
    assert read_json(b'{"a": [1, 2.5, "x"]}', max_bytes=100) == {"a": [1, 2.5, "x"]}
    assert read_json(b'"[[[[[[[[[[[["', max_bytes=100) == "[" * 12  # brackets in strings
    with pytest.raises(InvalidChat, match="deeper"):
        read_json(b"[" * 9 + b"]" * 9, max_bytes=100)
    with pytest.raises(InvalidChat, match="larger"):
        read_json(b"1" * 101, max_bytes=100)


@settings(max_examples=300, deadline=None)
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=20),
        lambda kids: (
            st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=10), kids, max_size=4)
        ),
        max_leaves=20,
    )
)
def test_fuzzed_documents_never_escape_the_error_tree(value: object) -> None:
    for document in (
        value,
        doc() | {"messages": value},
        doc() | {"events": value},
        doc() | {"contact": value},
    ):
        try:
            read_delivery(json.dumps(document).encode(), FUZZ_SETTINGS, FUZZ_CONFIG)
        except RecorderError:
            pass


@pytest.mark.parametrize(
    "ident", ["../../etc/passwd", "+4791234567", "';DROP/**/TABLE/**/chats;--"]
)
def test_hostile_printable_ids_are_only_ever_digested(
    vault: Vault, config: Config, rng: Rng, ident: str, home: object
) -> None:
    result = ingest(vault, config, doc(ident, customer_id=ident), now=T0, rng=rng)
    assert result.status == "created"
    vault.catalog.checkpoint()
    from pathlib import Path

    root = Path(str(home))
    for path in root.rglob("*"):
        assert ident.encode() not in path.name.encode()
        if path.is_file():
            assert ident.encode() not in path.read_bytes()
