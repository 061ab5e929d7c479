"""Chat text redaction: e-mails, Nordic national ids (with checksums), cards and phone numbers.

The same rules as transcripts (numerals and number words of EN/NO/SV/DA/FI, via
:func:`transcribe.redact.digit_runs`) plus the identifiers typed text adds. Figures: 5
languages x 40 sentences x 6 kinds (4 national ids, cards, e-mails) = 1,200 sentences and
5 x 40 phone numbers x 4 formats = 800, each checked for 0 surviving identifiers; plus
spoken numbers per language, 50 checksum failures and what must stay (amounts, dates, times).
"""

from __future__ import annotations

import random
import re

import pytest

from tests.transcribe import idgen
from transcribe.identifiers import danish_ok, find_identifiers, normalise_email, swedish_ok
from transcribe.textredact import redact_text

LANGS = ("en", "no", "sv", "da", "fi")
TEMPLATES = {
    "en": "my {what} is {value}, please help",
    "no": "mitt {what} er {value}, kan du hjelpe meg?",
    "sv": "mitt {what} är {value} tack",
    "da": "mit {what} er {value} tak",
    "fi": "minun {what} on {value} kiitos",
}
KINDS = {
    "no_id": (idgen.norwegian, "[national-id]"),
    "se_id": (idgen.swedish, "[national-id]"),
    "fi_id": (idgen.finnish, "[national-id]"),
    "dk_id": (idgen.danish, "[national-id]"),
    "card": (idgen.luhn_card, "[card]"),
    "email": (idgen.email, "[email]"),
}


def _digits(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_identifier_is_redacted_in_every_language(lang: str, kind: str) -> None:
    make, token = KINDS[kind]
    rng = random.Random(f"{lang}-{kind}")
    for _ in range(40):
        value = make(rng)
        text = TEMPLATES[lang].format(what="nummer", value=value)
        out = redact_text(text, languages=(lang,))
        assert token in out.text, (kind, lang)
        assert value not in out.text
        assert not re.search(r"\d{5,}", out.text)
        assert _digits(value)[-4:] not in _digits(out.text) or not _digits(out.text)


@pytest.mark.parametrize("lang", LANGS)
def test_phone_numbers_in_any_format_are_redacted(lang: str) -> None:
    rng = random.Random(lang)
    for _ in range(40):
        n = f"{rng.randint(90, 99)}{rng.randint(0, 999999):06d}"
        for shape in (
            n,
            f"+47 {n[:3]} {n[3:5]} {n[5:]}",
            f"{n[:2]}-{n[2:5]}-{n[5:]}",
            f"(+46) {n}",
        ):
            out = redact_text(TEMPLATES[lang].format(what="tlf", value=shape), languages=(lang,))
            assert "[phone]" in out.text and n[-4:] not in out.text, shape


SPOKEN = {
    "en": "call me on nine one two three four five six seven",
    "no": "ring meg på ni en to tre fire fem seks sju",
    "sv": "ring mig på nio ett två tre fyra fem sex sju",
    "da": "ring på ni en to tre fire fem seks syv",
    "fi": "soita yhdeksän yksi kaksi kolme neljä viisi kuusi seitsemän",
}


@pytest.mark.parametrize("lang", LANGS)
def test_numbers_written_as_words_are_redacted_like_in_transcripts(lang: str) -> None:
    out = redact_text(SPOKEN[lang], languages=(lang,))
    assert out.counts["phone"] + out.counts["digits"] == 1
    words = SPOKEN[lang].split()
    assert words[-1] not in out.text.split()


def test_look_alikes_failing_their_checksum_are_not_called_ids_but_still_redacted() -> None:
    rng = random.Random(5)
    for _ in range(50):
        good = idgen.norwegian(rng)
        bad = good[:-1] + str((int(good[-1]) + 1) % 10)
        out = redact_text(f"fnr {bad}", languages=("no",))
        assert out.counts["national_id"] == 0 and out.counts["phone"] == 1
        assert bad not in out.text
    assert swedish_ok("8112189876") and not swedish_ok("8112189875")
    assert danish_ok("0707614285") and not danish_ok("0707614286")


def test_what_is_not_personal_stays() -> None:
    text = "Ordre 123456 kostet 1500 kr, møte 23.11.2026 kl 10:30 i rom 12"
    out = redact_text(text, languages=("no",))
    assert out.text == text and sum(out.counts.values()) == 0


def test_lines_and_spacing_are_kept_and_tokens_counted() -> None:
    text = "hei\n  kort 4111 1111 1111 1111 og a.b@example.no\nmvh"
    out = redact_text(text, languages=("no",))
    assert out.text == "hei\n  kort [card] og [email]\nmvh"
    assert out.counts["card"] == 1 and out.counts["email"] == 1


def test_obfuscated_and_unicode_addresses() -> None:
    for text in ("kari (at) example.no", "ølstad@eksempel.no", "x.y+z@sub.example.se"):
        assert redact_text(text).text.strip().endswith("[email]"), text
    assert normalise_email(" Kari@Example.NO ") == "kari@example.no"
    assert normalise_email("not an address") is None


def test_overlapping_matches_keep_one() -> None:
    found = find_identifiers("cpr 070761-4285 og a@b.no")
    assert [f.kind for f in found] == ["national_id", "email"]
