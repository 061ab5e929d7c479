"""Redaction of spoken and written card and phone numbers (T-PCI P2, text side of P1).

Examples first (each way a recogniser writes digits, each language), then properties: for
generated Luhn-valid PANs and phone numbers, spoken in each language with random grouping,
punctuation, case and numerals, the redacted text holds no Luhn-valid 13-19 digit run and no
7+ digit run according to the independent oracle in ``pci_oracle.py``, and the redacted spans
cover the number's words.
"""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.transcribe.pci_oracle import WORDS, card_runs, luhn, normalised_runs, phone_runs
from transcribe.models import Segment, Transcript, Word
from transcribe.redact import (
    AUDIO_MARGIN_S,
    TOKENS,
    WORD_SLACK_S,
    RedactedSpan,
    Redaction,
    digit_runs,
    luhn_valid,
    merge_spans,
    padded,
    redact,
)

LANGS = ("en", "no", "sv", "da", "fi")


def transcript(*turns: tuple[str, str], language: str = "en", step: float = 0.4) -> Transcript:
    """Turns of (speaker, text) -> a transcript with one word per whitespace token, timed."""
    t = 0.0
    segments = []
    for speaker, text in turns:
        words = []
        start = t
        for token in text.split():
            words.append(
                Word(text=token, start=round(t, 3), end=round(t + step * 0.8, 3), probability=0.9)
            )
            t += step
        segments.append(
            Segment(
                start=round(start, 3),
                end=round(t, 3),
                text=text,
                words=tuple(words),
                speaker=speaker,
            )
        )
        t += 0.5
    return Transcript(
        language=language, duration=math.ceil(t + 1), segments=tuple(segments), model="test"
    )


def redacted_text(text: str, language: str = "en") -> str:
    return redact(transcript(("customer", text), language=language), languages=(language,)).text


# --- examples --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("my card is four one one one one one one one one one one one one one one one", "card"),
        ("my card is 4111 1111 1111 1111 thanks", "card"),
        ("my card is 4111-1111-1111-1111.", "card"),
        ("it is 41, 1, 1, 1 11 11 11 11 11 1. Thanks", "card"),
        ("it's 5555 5555 5555 4444", "card"),
        ("FOUR two Four TWO, 4242. four two four two 4 2 4 2", "card"),
        ("call plus four seven nine one two three four five six seven", "phone"),
        ("call +47 912 34 567 please", "phone"),
        ("my number is nine one two, double three, four five six", "phone"),
        ("oh seven seven double oh nine triple one two", "phone"),
        ("nine one two three four five six seven eight nine zero one two three", "digits"),
        ("it is " + "one " * 37 + "done", "digits"),
        ("the pin is one two three four", "digits"),
        ("forty one, eleven, eleven, eleven, eleven, eleven, eleven, eleven", "card"),
        ("plus 4th and 912, 3, 4, 5, 6th, 7th", "phone"),
    ],
)
def test_numbers_become_one_token(text: str, kind: str) -> None:
    result = redact(transcript(("customer", text)))
    assert TOKENS[kind] in result.text
    assert result.text.count(TOKENS[kind]) == 1
    assert [s.kind for s in result.spans] == [kind]
    assert card_runs(result.text) == [] and phone_runs(result.text) == []


@pytest.mark.parametrize(
    ("language", "text"),
    [
        ("no", "kortnummeret er fire en en en en en en en en en en en en en en en"),
        ("no", "ring meg på pluss fire sju ni en to tre fire fem seks syv"),
        ("no", "nummeret er ni åtte sju seks fem fire tre to"),
        ("sv", "mitt nummer är noll sju noll ett två tre fyra fem sex sju"),
        ("sv", "kortet är fyra ett ett ett, ett ett ett ett, ett ett ett ett, ett ett ett ett"),
        ("sv", "det är tjugoett fyrtiotvå noll noll sju"),
        ("da", "mit nummer er plus fire fem to otte syv seks fem fire tre"),
        ("da", "det er enogtyve femogfyrre tre to ni"),
        ("fi", "numeroni on nolla neljä viisi yksi kaksi kolme neljä viisi kuusi"),
        (
            "fi",
            "kortti neljä yksi yksi yksi yksi yksi yksi yksi yksi yksi yksi yksi yksi yksi yksi"
            " yksi",
        ),
        ("fi", "se on kaksikymmentäkolme neljäkymmentä yksitoista kahdeksan"),
    ],
)
def test_nordic_number_words(language: str, text: str) -> None:
    result = redact(transcript(("customer", text), language=language), languages=(language,))
    assert result.spans, result.text
    assert card_runs(result.text, language) == []
    assert phone_runs(result.text, language) == []


@pytest.mark.parametrize(
    "text",
    [
        "I paid 250 kroner on the 3rd at 10:30",
        "the meeting is on 23.11.2026 at 14:00",
        "it costs nineteen ninety nine",
        "I want to go for a walk to the shop",
        "en ett to",  # articles and prepositions
        "we have 3 cards and 2 accounts and 1 loan",
        "about 4000 kroner, maybe 4500",
        "oh, I see",
    ],
)
def test_short_numbers_and_ordinary_words_stay(text: str) -> None:
    for language in ("en", "no", "sv"):
        result = redact(transcript(("customer", text), language=language), languages=(language,))
        assert result.spans == ()
        assert result.text == text


def test_numbers_split_across_segments_and_speakers_are_one_run() -> None:
    t = transcript(
        ("customer", "it is four one one one"),
        ("customer", "one one one one one"),
        ("agent", "one one one one one one"),
    )
    result = redact(t)
    assert card_runs(result.text) == [] and phone_runs(result.text) == []
    assert len(result.spans) == 1


def test_structure_and_times_are_kept() -> None:
    t = transcript(
        ("agent", "how can I help"), ("customer", "my card is 4111 1111 1111 1111 thanks")
    )
    result = redact(t)
    out = result.transcript
    assert [len(s.words) for s in out.segments] == [len(s.words) for s in t.segments]
    assert [(w.start, w.end) for w in out.words] == [(w.start, w.end) for w in t.words]
    assert out.segments[0] == t.segments[0]
    assert out.segments[1].text == "my card is [card] thanks"
    assert [w.text for w in out.segments[1].words] == [
        "my",
        "card",
        "is",
        "[card]",
        "",
        "",
        "",
        "thanks",
    ]
    # the span covers the number's words, widened into the neighbours only up to their middle
    words = t.segments[1].words
    span = result.spans[0]
    assert span.start <= words[3].start and span.end >= words[6].end
    assert span.start >= (words[2].start + words[2].end) / 2
    assert span.end <= (words[7].start + words[7].end) / 2
    assert span.start >= words[3].start - WORD_SLACK_S


def test_nothing_to_redact_returns_the_same_transcript() -> None:
    t = transcript(("agent", "hello how can I help"))
    result = redact(t)
    assert result.transcript is t and result.spans == ()
    assert result.counts == {"card": 0, "phone": 0, "digits": 0}


def test_segments_without_words_are_redacted_on_their_text() -> None:
    seg = Segment(
        start=2.0, end=6.0, text="call me on 912 34 567 please", words=(), speaker="customer"
    )
    t = Transcript(language="en", duration=8.0, segments=(seg,), model="test")
    result = redact(t)
    assert result.text == "call me on [phone] please"
    assert result.spans == (RedactedSpan("phone", 2.0, 6.0),)


def test_the_transcript_language_is_always_read() -> None:
    t = transcript(("customer", "nummeret er ni åtte sju seks fem fire tre to"), language="no")
    assert redact(t).spans  # languages defaults to ("en",) but the call is Norwegian


def test_merge_and_pad() -> None:
    spans = [
        RedactedSpan("phone", 5.0, 6.0),
        RedactedSpan("card", 1.0, 2.0),
        RedactedSpan("digits", 5.5, 7.0),
    ]
    assert merge_spans(spans) == (RedactedSpan("card", 1.0, 2.0), RedactedSpan("phone", 5.0, 7.0))
    wide = padded(spans, duration=7.1)
    assert wide == (RedactedSpan("card", 0.75, 2.25), RedactedSpan("phone", 4.75, 7.1))
    assert padded([RedactedSpan("card", 0.1, 1.0), RedactedSpan("digits", 1.4, 2.0)]) == (
        RedactedSpan("card", 0.0, 2.0 + AUDIO_MARGIN_S),
    )


def test_digit_runs_reports_short_runs_too() -> None:
    runs = digit_runs(
        "room 12, I said, please four one one one one one one one one one one one one one one one"
    )
    assert [(r.digits, r.kind) for r in runs] == [("12", None), ("4111111111111111", "card")]


@pytest.mark.parametrize(
    ("digits", "valid"),
    [
        ("4111111111111111", True),
        ("5555555555554444", True),
        ("4242424242424242", True),
        ("4111111111111112", False),
        ("0", False),
        ("", False),
        ("12a4", False),
    ],
)
def test_luhn(digits: str, valid: bool) -> None:
    assert luhn_valid(digits) is valid


def test_redaction_holds_no_text_in_repr_of_spans() -> None:
    result = redact(transcript(("customer", "my card is 4111 1111 1111 1111")))
    assert "4111" not in repr(result.spans)
    assert isinstance(result, Redaction)


# --- properties ------------------------------------------------------------------------------

#: Extra renderings the recogniser or speaker may use, per language (beyond WORDS).
SPOKEN = {lang: {d: w for w, d in WORDS[lang].items()} for lang in LANGS}
SPOKEN["en"][0] = "zero"
SPOKEN["no"][1] = "en"
SPOKEN["sv"][1] = "ett"
SPOKEN["da"][1] = "en"
SPOKEN["fi"][1] = "yksi"
ALT_ZERO = {"en": "oh"}
CARRIER = {
    "en": ("my number is", "thank you"),
    "no": ("nummeret mitt er", "takk skal du ha"),
    "sv": ("mitt nummer är", "tack så mycket"),
    "da": ("mit nummer er", "mange tak"),
    "fi": ("numeroni on", "kiitos paljon"),
}


@st.composite
def pans(draw: st.DrawFn) -> str:
    length = draw(st.integers(13, 19))
    body = draw(st.text("0123456789", min_size=length - 1, max_size=length - 1))
    for check in "0123456789":
        if luhn(body + check):
            return body + check
    raise AssertionError("unreachable")


@st.composite
def phones(draw: st.DrawFn) -> str:
    return draw(st.text("0123456789", min_size=7, max_size=12))


@st.composite
def spoken(draw: st.DrawFn, digits: str, language: str, plus: bool) -> list[str]:
    """``digits`` as words/numerals in random groups with random separators and case."""
    tokens: list[str] = []
    if plus:
        tokens.append(
            draw(st.sampled_from(["plus", "Plus", "+", "pluss" if language == "no" else "plus"]))
        )
    i = 0
    while i < len(digits):
        size = draw(st.integers(1, 4))
        group = digits[i : i + size]
        i += size
        style = draw(st.sampled_from(["words", "numeral", "mixed"]))
        if style == "numeral":
            parts = [group]
        else:
            parts = []
            for d in group:
                if style == "mixed" and draw(st.booleans()):
                    parts.append(d)
                    continue
                word = SPOKEN[language][int(d)]
                if d == "0" and language in ALT_ZERO and draw(st.booleans()):
                    word = ALT_ZERO[language]
                case = draw(st.sampled_from([str.lower, str.upper, str.capitalize]))
                parts.append(case(word))
        sep = draw(st.sampled_from(["", ",", ".", "-", "..."]))
        joiner = draw(st.sampled_from([" ", "-"])) if style != "numeral" else " "
        tokens.append(joiner.join(parts) + sep)
    return " ".join(tokens).split()


def check_clean(digits: str, language: str, plus: bool, words: list[str]) -> None:
    before, after = CARRIER[language]
    text = f"{before} {' '.join(words)} {after}"
    t = transcript(("customer", text), language=language)
    result = redact(t, languages=(language,))
    assert card_runs(result.text, language) == [], (text, result.text)
    assert phone_runs(result.text, language) == [], (text, result.text)
    assert digits not in "".join(normalised_runs(result.text, language))
    # the number's words lie inside the redacted spans
    first = len(before.split())
    number_words = t.segments[0].words[first : first + len(words)]
    for w in number_words:
        if any(ch.isdigit() for ch in w.text) or w.text.strip(",.-").casefold() in WORDS[language]:
            assert any(s.start <= w.start and w.end <= s.end for s in result.spans), w


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(LANGS), pans(), st.data())
def test_property_no_card_survives(language: str, pan: str, data: st.DataObject) -> None:
    words = data.draw(spoken(pan, language, plus=False))
    check_clean(pan, language, False, words)


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(LANGS), phones(), st.booleans(), st.data())
def test_property_no_phone_survives(
    language: str, phone: str, plus: bool, data: st.DataObject
) -> None:
    words = data.draw(spoken(phone, language, plus=plus))
    check_clean(phone, language, plus, words)


@settings(max_examples=100, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=80))
def test_property_any_text_is_handled(text: str) -> None:
    """Arbitrary text never crashes and never leaves a 7+ digit numeral run."""
    tokens = text.split()
    if not tokens:
        return
    t = transcript(("customer", " ".join(tokens)))
    result = redact(t)
    assert [len(s.words) for s in result.transcript.segments] == [len(tokens)]
    assert phone_runs(result.text) == []


@settings(max_examples=100, deadline=None)
@given(
    st.sampled_from(LANGS),
    st.lists(st.integers(0, 999_999), min_size=1, max_size=3),
    st.sampled_from(["kr", "kroner", "euro", "items", "%"]),
)
def test_property_amounts_stay(language: str, amounts: list[int], unit: str) -> None:
    """Amounts written as one numeral each, with a unit word between, are not redacted."""
    before, after = CARRIER[language]
    text = f"{before} " + " and then ".join(f"{a} {unit}" for a in amounts) + f" {after}"
    result = redact(transcript(("customer", text), language=language), languages=(language,))
    assert result.spans == ()
    assert result.text == text


UNITS_EN = "zero one two three four five six seven eight nine".split()
TENS_WORDS = "_ ten twenty thirty forty fifty sixty seventy eighty ninety".split()
TEENS_WORDS = (
    "ten eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen".split()
)


@st.composite
def english_pairs(draw: st.DrawFn, digits: str) -> list[str]:
    """``digits`` read the way people read card numbers: "forty one, eleven, oh five"."""
    words: list[str] = []
    i = 0
    while i < len(digits):
        pair = digits[i : i + 2]
        if len(pair) == 2 and pair[0] != "0" and draw(st.booleans()):
            tens, unit = int(pair[0]), int(pair[1])
            if tens == 1:
                words.append(TEENS_WORDS[unit])
            elif unit == 0:
                words.append(TENS_WORDS[tens])
            else:
                words += [TENS_WORDS[tens], UNITS_EN[unit]]
            i += 2
        else:
            words.append("oh" if pair[0] == "0" and draw(st.booleans()) else UNITS_EN[int(pair[0])])
            i += 1
        if draw(st.booleans()):
            words[-1] += draw(st.sampled_from([",", ".", "..."]))
    return words


@settings(max_examples=100, deadline=None)
@given(st.one_of(pans(), phones()), st.data())
def test_property_tens_and_teens_in_english(number: str, data: st.DataObject) -> None:
    check_clean(number, "en", False, data.draw(english_pairs(number)))
