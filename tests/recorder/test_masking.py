"""T-MASK M1, M2, M4 (pure) and F4 for the number masker.

``phonenumbers`` is the test oracle here (tests are outside the import rule): it supplies
example numbers for every region and number type, renders them in every format, and says
what the E.164 form must be. The masker must agree with it on every accepted input, and
turn everything else into the documented "withheld" outcome without ever raising.
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache

import phonenumbers
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from phonenumbers import PhoneNumber, PhoneNumberFormat, PhoneNumberType, ValidationResult

from recorder.errors import ConfigError
from recorder.masking import digest_for_lookup, mask, normalise
from recorder.models import WITHHELD, MaskedNumber
from storage.crypto import lookup_digest
from storage.models import LookupDigest

PEPPER = bytes(range(32))
VERSION = 3
NORDIC = ("NO", "SE", "FI", "DK", "IS")
M1_NUMBERS = 20_000
MASKED_SHAPE = re.compile(r"\+[0-9]{1,12}\*\*\*")
NUMBER_TYPES = tuple(
    getattr(PhoneNumberType, name) for name in dir(PhoneNumberType) if name.isupper()
)


def masked(raw: str | None, region: str = "NO") -> MaskedNumber:
    return mask(raw, pepper=PEPPER, pepper_version=VERSION, default_region=region)


def expected_display(e164: str) -> str:
    return e164[:-3] + "***"


def check_policy(result: MaskedNumber) -> None:
    """Whatever the input: withheld, or exactly ``+`` digits ``***`` with at most 12 shown."""
    if result.display == WITHHELD:
        assert result.digest is None
    else:
        assert MASKED_SHAPE.fullmatch(result.display), result.display
        assert result.digest is not None


# --- M1: 20,000 numbers, every format --------------------------------------------------


@dataclass(frozen=True)
class Sample:
    region: str  # the region whose national format is rendered
    number: PhoneNumber
    e164: str
    valid: bool  # only valid numbers are rendered nationally (see renderings)


def _scatter(digits: str, rnd: random.Random) -> str:
    """``digits`` with random spaces, dashes and dots between some of them."""
    out = []
    for i, digit in enumerate(digits):
        if i and rnd.random() < 0.3:
            out.append(rnd.choice([" ", "-", ".", " - ", "  "]))
        out.append(digit)
    return "".join(out)


def renderings(sample: Sample, rnd: random.Random) -> Iterator[tuple[str, str]]:
    """(text, default region) pairs that must all mask to the same E.164."""
    number, e164 = sample.number, sample.e164
    home = sample.region if sample.region in NORDIC else "NO"
    other = rnd.choice(NORDIC)
    yield e164, other
    yield phonenumbers.format_number(number, PhoneNumberFormat.INTERNATIONAL), other
    yield phonenumbers.format_number(number, PhoneNumberFormat.RFC3966), other
    yield "00" + e164[1:], home  # 00 is the international prefix of all five regions
    yield "00 " + _scatter(e164[1:], rnd), home
    yield "+" + _scatter(e164[1:], rnd), other
    if sample.valid:
        national = phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL)
        yield national, sample.region
        yield _scatter(re.sub(r"[^0-9]", "", national), rnd), sample.region


def _vary(example: PhoneNumber, rnd: random.Random) -> PhoneNumber:
    """The example with its last (up to) four digits replaced: same range, new number."""
    nsn = phonenumbers.national_significant_number(example)
    keep = max(len(nsn) - 4, 1)
    tail = "".join(rnd.choice("0123456789") for _ in range(len(nsn) - keep))
    return phonenumbers.parse("+" + str(example.country_code) + nsn[:keep] + tail)


def _examples(region: str) -> list[PhoneNumber]:
    found = (phonenumbers.example_number_for_type(region, kind) for kind in NUMBER_TYPES)
    return [n for n in found if n is not None]


@cache
def m1_corpus() -> tuple[Sample, ...]:
    """≥ 20,000 distinct valid numbers: 3,200 per Nordic region, the rest worldwide."""
    rnd = random.Random(20261123)
    samples: dict[str, Sample] = {}

    def add(region: str, number: PhoneNumber) -> None:
        e164 = phonenumbers.format_number(number, PhoneNumberFormat.E164)
        valid = phonenumbers.is_valid_number_for_region(number, region)
        if valid and e164 not in samples:
            samples[e164] = Sample(region=region, number=number, e164=e164, valid=True)

    for region in NORDIC:
        bases = _examples(region)
        start = len(samples)
        while len(samples) - start < 3_200:
            add(region, _vary(rnd.choice(bases), rnd))
    others = sorted(phonenumbers.SUPPORTED_REGIONS - set(NORDIC))
    for region in others:
        for example in _examples(region):
            add(region, example)
    for code in sorted(phonenumbers.COUNTRY_CODES_FOR_NON_GEO_REGIONS):
        non_geo = phonenumbers.example_number_for_non_geo_entity(code)
        if non_geo is not None:
            e164 = phonenumbers.format_number(non_geo, PhoneNumberFormat.E164)
            samples[e164] = Sample(region="001", number=non_geo, e164=e164, valid=False)
    attempts = 0
    while len(samples) < M1_NUMBERS and attempts < 200_000:
        attempts += 1
        region = rnd.choice(others)
        bases = _examples(region)
        if bases:
            add(region, _vary(rnd.choice(bases), rnd))
    return tuple(samples.values())


def test_m1_corpus_covers_the_nordics_and_the_world() -> None:
    corpus = m1_corpus()
    assert len(corpus) >= M1_NUMBERS
    regions = {s.region for s in corpus}
    assert set(NORDIC) <= regions
    assert len(regions) >= 200  # nearly every region has at least one example
    assert sum(s.region in NORDIC for s in corpus) >= 16_000


def test_m1_every_format_masks_to_e164_with_last_three_digits_hidden() -> None:
    rnd = random.Random(7)
    started = time.perf_counter()
    failures: list[tuple[str, str, str, str]] = []
    checked = 0
    for sample in m1_corpus():
        want = LookupDigest(pepper_version=VERSION, digest=lookup_digest(PEPPER, sample.e164))
        for text, region in renderings(sample, rnd):
            result = masked(text, region)
            checked += 1
            if result.display != expected_display(sample.e164) or result.digest != want:
                failures.append((text, region, sample.e164, result.display))
                continue
            check_policy(result)
            assert result.display[:-3] == sample.e164[:-3]
            assert not any(c.isdigit() for c in result.display[-3:])
    assert failures == [], failures[:20]
    assert checked >= 7 * M1_NUMBERS
    assert time.perf_counter() - started < 60


def _possible_lengths(region: str) -> tuple[int, ...]:
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
    assert metadata is not None and metadata.general_desc is not None
    return tuple(metadata.general_desc.possible_length)


_REGIONS = (*NORDIC, *sorted(phonenumbers.SUPPORTED_REGIONS - set(NORDIC)))


@st.composite
def generated_numbers(draw: st.DrawFn) -> tuple[str, PhoneNumber]:
    """A random national significant number of a possible length for a region."""
    region = draw(st.one_of(st.sampled_from(NORDIC), st.sampled_from(_REGIONS)))
    length = draw(st.sampled_from(_possible_lengths(region)))
    first = draw(st.sampled_from("123456789"))
    rest = draw(st.text(alphabet="0123456789", min_size=length - 1, max_size=length - 1))
    code = phonenumbers.country_code_for_region(region)
    return region, PhoneNumber(country_code=code, national_number=int(first + rest))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(generated_numbers(), st.randoms(use_true_random=False))
def test_m1_generated_numbers_agree_with_the_oracle(
    case: tuple[str, PhoneNumber], rnd: random.Random
) -> None:
    region, number = case
    e164 = phonenumbers.format_number(number, PhoneNumberFormat.E164)
    accepted = (
        phonenumbers.is_possible_number_with_reason(number) == ValidationResult.IS_POSSIBLE
        or phonenumbers.is_valid_number(number)
    ) and 4 <= len(e164) - 1 <= 15  # the policy also caps E.164 at 15 digits
    sample = Sample(
        region=region,
        number=number,
        e164=e164,
        valid=phonenumbers.is_valid_number_for_region(number, region),
    )
    digests = set()
    for text, default in renderings(sample, rnd):
        result = masked(text, default)
        check_policy(result)
        oracle = phonenumbers.parse(text, default)
        if phonenumbers.format_number(oracle, PhoneNumberFormat.E164) != e164:
            continue  # a national rendering phonenumbers reads differently (invalid number)
        if accepted:
            assert result.display == expected_display(e164), text
            digests.add(result.digest)
        else:
            assert result.display == WITHHELD, text
    assert len(digests) <= 1


def test_display_and_digest_of_one_number_in_many_formats() -> None:
    formats = [
        ("+4791234567", "NO"),
        ("+47 912 34 567", "NO"),
        ("912 34 567", "NO"),
        ("91234567", "NO"),
        ("0047 91234567", "NO"),
        ("00 47 912-34-567", "SE"),
        ("tel:+47-912-34-567", "FI"),
        ("TEL:+4791234567", "NO"),
        ("  +47 (912) 34.567  ", "DK"),
        ("+47/912/34/567", "IS"),
    ]
    results = {masked(text, region) for text, region in formats}
    assert len(results) == 1
    (result,) = results
    assert result.display == "+4791234***"
    assert result.digest == LookupDigest(
        pepper_version=VERSION, digest=lookup_digest(PEPPER, "+4791234567")
    )
    assert not result.withheld


@pytest.mark.parametrize(
    ("text", "region", "e164"),
    [
        ("08-123 456 78", "SE", "+46812345678"),
        ("(0)8-123 456 78", "SE", "+46812345678"),
        ("+46 (0)8 123 456 78", "SE", "+46812345678"),
        ("+46 8 123 456 78", "NO", "+46812345678"),
        ("040 123 4567", "FI", "+358401234567"),
        ("+358 40 1234567", "NO", "+358401234567"),
        ("32 12 34 56", "DK", "+4532123456"),
        ("611 1234", "IS", "+3546111234"),
        ("+39 06 1234 5678", "NO", "+390612345678"),  # Italian leading zero is kept
        ("+1 650 253 0000", "NO", "+16502530000"),
        ("+800 1234 5678", "NO", "+80012345678"),  # non-geographic
    ],
)
def test_national_and_international_examples(text: str, region: str, e164: str) -> None:
    assert normalise(text, default_region=region) == e164
    assert masked(text, region).display == expected_display(e164)


def test_possible_but_unallocated_numbers_are_kept() -> None:
    # A Norwegian number from a range the metadata does not (yet) know is still a caller.
    number = phonenumbers.parse("+4712345678")
    assert not phonenumbers.is_valid_number(number)
    assert masked("+47 123 45 678").display == "+4712345***"


def test_digest_is_the_storage_recipe_and_carries_the_pepper_version() -> None:
    result = masked("+4791234567")
    assert result.digest is not None
    assert result.digest.pepper_version == VERSION
    assert result.digest.digest == lookup_digest(PEPPER, "+4791234567")
    other = mask("+4791234567", pepper=b"q" * 32, pepper_version=4)
    assert other.digest is not None and other.digest.digest != result.digest.digest


def test_repr_never_shows_the_digest_or_the_number() -> None:
    result = masked("+4791234567")
    assert result.digest is not None
    assert "91234567" not in repr(result)
    assert result.digest.digest not in repr(result)


# --- M2: withheld and hostile input ----------------------------------------------------

WITHHELD_INPUTS = [
    None,
    "",
    " ",
    "   \t ",
    "\n",
    "anonymous",
    "Anonymous",
    "ANONYMOUS",
    "restricted",
    "Restricted",
    "unknown",
    "private",
    "unavailable",
    "sip:+4791234567@pbx.example",
    "sips:+4791234567@pbx.example",
    "sip:alice@pbx.example",
    "client:alice",
    "tel:91234567",  # local tel: URI without phone-context
    "tel:+4791234567;phone-context=example.com",
    "+47 912 34 567 ext. 12",
    "+4791234567;ext=12",
    "+4791234567#12",
    "1-800-FLOWERS",
    "+1-800-FLOWERS",
    "123",
    "112",
    "+47 1",
    "+1234567890123456",  # 16 digits: beyond E.164
    "+47" + "9" * 20,
    "+999 1234 5678",  # unassigned country code
    "+47 (0) 912 34 567",  # NO has no trunk prefix: impossible length
    "＋４７９１２３４５６７",  # fullwidth
    "+47９１２３４５６７",
    "+٤٧٩١٢٣٤٥٦٧",  # Arabic-Indic
    "+۴۷۹۱۲۳۴۵۶۷",  # Extended Arabic-Indic (Persian)
    "+४७९१२३४५६७",  # Devanagari
    "\u202e+4791234567",  # RTL override
    "+4791234567\u202c",
    "+47\u200b91234567",  # zero-width space
    "+47\u00a091234567",  # no-break space
    "+4791234567\x00",
    "\x00",
    "+47\t91234567",
    "+47\n91234567",
    "4791234567+",
    "++4791234567",
    "(+47) 91234567",
    "+47 912 34 567 " + " " * 60,  # over the length cap
    "9" * 1_000_000,
    "+47 " * 250_000,
    "caller +4791234567",
    "+4791234567 x",
    "%2B4791234567",
    "()-./",
]


@pytest.mark.parametrize("raw", WITHHELD_INPUTS, ids=lambda raw: repr(raw)[:32])
def test_m2_withheld_outcome(raw: str | None) -> None:
    assert normalise(raw) is None
    result = masked(raw)
    assert result == MaskedNumber(display=WITHHELD, digest=None)
    assert result.withheld
    assert digest_for_lookup(raw or "", pepper=PEPPER, pepper_version=VERSION) is None


def test_m2_non_str_input_is_withheld_not_an_error() -> None:
    for raw in (b"+4791234567", 4791234567, 47.5, ["+4791234567"]):
        assert masked(raw) == MaskedNumber(display=WITHHELD, digest=None)  # type: ignore[arg-type]


def test_m2_short_e164_still_hides_three_digits() -> None:
    # Niue: 4-digit national numbers, 7 digits in E.164. The policy is "last three hidden".
    result = masked("+683 4002")
    assert result.display == "+6834***"


def _number_like_text() -> st.SearchStrategy[str]:
    """Text close to caller ids, so most cases reach phonenumbers, not just the filter."""
    pieces = st.sampled_from(
        [*"0123456789", "+", " ", "-", ".", "(", ")", "/", "00", "tel:", "TEL:", "sip:"]
        + ["ext", ";", "#", "*", "\x00", "\u202e", "９", "٣", "e", "x", "%2B", "+47", "+46"]
    )
    return st.lists(pieces, max_size=40).map("".join)


@settings(max_examples=1500, deadline=None)
@given(st.one_of(st.text(max_size=80), _number_like_text()), st.sampled_from(NORDIC))
def test_f4_arbitrary_text_never_raises_and_respects_the_policy(raw: str, region: str) -> None:
    result = masked(raw, region)  # any exception (phonenumbers' or ours) fails the test
    check_policy(result)
    e164 = normalise(raw, default_region=region)
    if e164 is None:
        assert result.display == WITHHELD
    else:
        assert result.display == expected_display(e164)
        assert re.fullmatch(r"\+[1-9][0-9]{3,14}", e164)
        assert raw.isascii()


def test_f4_an_unexpected_library_error_becomes_withheld_without_the_number(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(number: str, region: str) -> PhoneNumber:
        raise RuntimeError(f"boom on {number}")

    monkeypatch.setattr(phonenumbers, "parse", broken)  # the module masking uses
    with caplog.at_level("WARNING", logger="recorder.masking"):
        result = masked("+47 912 34 567")
    assert result == MaskedNumber(display=WITHHELD, digest=None)
    assert "RuntimeError" in caplog.text
    assert "912" not in caplog.text


# --- configuration errors (not input errors) -------------------------------------------


@pytest.mark.parametrize("raw", ["+4791234567", None, "anonymous"])
def test_short_pepper_is_a_config_error_whatever_the_input(raw: str | None) -> None:
    with pytest.raises(ConfigError) as info:
        mask(raw, pepper=b"short", pepper_version=1)
    assert "short" not in str(info.value) and "912" not in str(info.value)


@pytest.mark.parametrize("region", ["no", "NOR", "", "ZZ", "001"])
def test_unsupported_default_region_is_a_config_error(region: str) -> None:
    with pytest.raises(ConfigError):
        normalise("+4791234567", default_region=region)


# --- M4: look up by full number ---------------------------------------------------------

CALLERS: dict[str, list[tuple[str, str]]] = {
    "+4791234567": [("+4791234567", "NO"), ("912 34 567", "NO"), ("0047-912-34-567", "SE")],
    "+4791234568": [("+47 912 34 568", "NO"), ("tel:+47-91234568", "NO")],  # same display
    "+46812345678": [
        ("08-123 456 78", "SE"),
        ("+46 (0)8 123 456 78", "SE"),
        ("0046812345678", "FI"),
    ],
    "+358401234567": [("040 123 4567", "FI"), ("+358 40 123 4567", "NO")],
    "+4532123456": [("32 12 34 56", "DK"), ("+45 32123456", "IS")],
    "+3546111234": [("611 1234", "IS"), ("00354 611 1234", "NO")],
    "+16502530000": [("+1 (650) 253-0000", "NO"), ("001 650 253 0000", "SE")],
}


def test_m4_lookup_by_full_number_finds_all_and_only_that_callers_calls() -> None:
    stored: list[tuple[str, str, MaskedNumber]] = []  # (call id, true caller, as stored)
    for caller, calls in CALLERS.items():
        for i, (text, region) in enumerate(calls):
            stored.append((f"{caller}#{i}", caller, masked(text, region)))
    stored.append(("withheld#0", "", masked("anonymous")))
    for caller, calls in CALLERS.items():
        # The person gives their number in yet another format.
        query = digest_for_lookup(
            "00" + caller[1:], pepper=PEPPER, pepper_version=VERSION, default_region="NO"
        )
        assert query is not None
        found = {call for call, _, kept in stored if kept.digest == query}
        assert found == {call for call, who, _ in stored if who == caller}
        assert len(found) == len(calls)


def test_m4_numbers_sharing_a_display_are_told_apart_by_the_digest() -> None:
    a, b = masked("+4791234567"), masked("+4791234568")
    assert a.display == b.display == "+4791234***"
    assert a.digest != b.digest


def test_m4_lookup_under_a_rotated_pepper_does_not_match_old_digests() -> None:
    stored = masked("+4791234567")
    rotated = digest_for_lookup("+4791234567", pepper=b"r" * 32, pepper_version=VERSION + 1)
    assert rotated is not None and rotated != stored.digest
    same = digest_for_lookup("+4791234567", pepper=PEPPER, pepper_version=VERSION)
    assert same == stored.digest
