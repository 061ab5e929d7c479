"""F4 for the adapters: any signed-but-hostile parameters or JSON give a decision or
``InvalidEvent``, nothing else, and a payload never holds the caller's full number."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recorder.errors import InvalidEvent
from recorder.models import MaskedNumber
from recorder.web.adapters import (
    CallbackQuery,
    Ignored,
    NewJob,
    make_masker,
    parse_query,
    telnyx_decision,
    twilio_decision,
)
from tests.recorder.web.harness import NOW, telnyx_event, twilio_params

MASKER = make_masker(b"p" * 32, 1, "NO")
NAMES = ["AccountSid", "CallSid", "RecordingSid", "RecordingStatus", "RecordingDuration",
         "RecordingChannels", "RecordingStartTime", "CallStatus", "Other"]  # fmt: skip
GOOD = twilio_params("RE" + "a" * 32, "CA" + "b" * 32, "AC" + "c" * 32)
text = st.text(max_size=40) | st.sampled_from(
    ["completed", "in-progress", "RE" + "1" * 32, "CA" + "2" * 32, "AC" + "3" * 32, "-1",
     "99999999999999999999", "Mon, 23 Nov 2026 11:00:00 +0000", "Mon, 23 Nov 99999 11:00 +0000",
     "Tue, 31 Feb 2026 25:61:61 -9999", "\x00", "²"]
)  # fmt: skip
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(text, inner, max_size=4),
    max_leaves=20,
)


def decide_twilio(params: list[tuple[str, str]]) -> NewJob | Ignored | None:
    try:
        return twilio_decision(params, CallbackQuery())
    except InvalidEvent:
        return None


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(NAMES), text), max_size=12))
def test_twilio_params_decide_or_invalid(params: list[tuple[str, str]]) -> None:
    decide_twilio(params)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(range(len(GOOD))), text)
def test_one_twilio_field_replaced_decides_or_invalid(index: int, value: str) -> None:
    params = list(GOOD)
    params[index] = (params[index][0], value)
    decision = decide_twilio(params)
    if isinstance(decision, NewJob):
        json.dumps(decision.payload)  # always JSON


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_telnyx_any_json_decides_or_invalid(document: Any) -> None:
    try:
        telnyx_decision(document, CallbackQuery(), MASKER)
    except InvalidEvent:
        pass


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(["recording_id", "call_leg_id", "from", "to", "channels",
                        "recording_started_at", "recording_ended_at", "recording_urls"]),
       json_values)  # fmt: skip
def test_one_telnyx_field_replaced_decides_or_invalid(name: str, value: Any) -> None:
    document = telnyx_event("5d5a4c8e-3f1b-4d2a-9c7e-1b2a3c4d5e6f", caller="+4791234567")
    document["data"]["payload"][name] = value
    try:
        decision = telnyx_decision(document, CallbackQuery(), MASKER)
    except InvalidEvent:
        return
    assert isinstance(decision, NewJob)
    assert "91234567" not in json.dumps(decision.payload)


@given(st.lists(st.tuples(st.sampled_from(["agent", "service", "x"]), text), max_size=4))
def test_query_parses_or_invalid(pairs: list[tuple[str, str]]) -> None:
    try:
        parse_query(pairs)
    except InvalidEvent:
        pass


def test_ai_notice_comes_only_from_an_explicit_query_flag() -> None:
    """P18: a webhook call is AI-eligible only if the operator's callback URL says the caller
    was told (``?ai_notice=1``); absent means no notice, anything else is refused."""
    assert parse_query([("agent", "anna")]).ai_notice is False
    assert parse_query([("ai_notice", "1")]).ai_notice is True
    assert parse_query([("ai_notice", "0")]).ai_notice is False
    for bad in (["yes"], ["true"], ["1", "1"]):
        with pytest.raises(InvalidEvent):
            parse_query([("ai_notice", v) for v in bad])


def test_masker_keeps_only_the_masked_display() -> None:
    masked = MASKER("+47 912 34 567")
    assert isinstance(masked, MaskedNumber) and masked.display == "+4791234***"
    event = telnyx_event("6d5a4c8e-3f1b-4d2a-9c7e-1b2a3c4d5e6f", caller="+47 912 34 567")
    decision = telnyx_decision(event, CallbackQuery(agent_id="anna"), MASKER)
    assert isinstance(decision, NewJob)
    assert decision.payload["masked_caller"]["display"] == "+4791234***"
    assert decision.payload["service_number"] == "+4722000000"
    assert decision.payload["started_at"] is not None and NOW.tzinfo is not None
