"""Caller numbers: raw caller id -> E.164 -> masked display + keyed lookup digest.

The only module that imports ``phonenumbers`` (ARCHITECTURE.md §1): one place decides what
a number becomes. The full number exists only in local variables here; it is never logged,
never put in an exception message, and no ``phonenumbers`` exception escapes.

What is accepted (all of it, in this order)
-------------------------------------------
1. A ``str`` of at most :data:`MAX_INPUT_CHARS` characters (cap first: bounded work on
   hostile input). Leading/trailing ASCII spaces are ignored.
2. The whole string matches :data:`ACCEPTED_SYNTAX`: optionally ``tel:`` (any case) that
   must be followed by ``+`` (an RFC 3966 global number; local ``tel:`` numbers need
   ``;phone-context`` and parameters are not accepted); then an optional leading ``+``;
   then only ASCII digits ``0-9`` and the separators space, ``-``, ``.``, ``/``, ``(``,
   ``)``. So ``912 34 567``, ``+47 912 34 567``, ``0047 91234567``, ``(0)8-123 456 78``
   (region SE), ``+46 (0)8 123 456 78`` and ``tel:+47-912-34-567`` are all accepted.
3. ``phonenumbers`` parses it with ``default_region`` (NO unless told otherwise): ``00``
   is the international prefix of NO, SE, FI, DK and IS, and the national trunk prefix
   (``0`` in SE and FI) is dropped the way that region dials.
4. The parsed number is *possible* (``is_possible_number_with_reason == IS_POSSIBLE``: its
   length fits the country) or, failing that, *valid* (a few numbers the metadata lists
   as valid lie outside their country's general lengths, e.g. Canada's ``+1 310-1234``);
   it has no extension; and its E.164 form has 4 to 15 digits.

Why *possible* and not *valid*: ``is_valid_number`` checks the digits against the number
ranges in the library's metadata, and regulators open new ranges every year. A real caller
from a new range would become "withheld" until we upgrade ``phonenumbers``: the display
would be lost and, worse, the caller's own calls could not be found for a subject-access
request (M4). Accepting a possible-but-unallocated number costs nothing: it is masked and
digested like any other. ``IS_POSSIBLE_LOCAL_ONLY`` (a local number without its area
code) is refused, because its E.164 form would be wrong.

Withheld outcome (``normalise`` -> None, ``mask`` -> ``display="withheld", digest=None``)
------------------------------------------------------------------------------------------
=====================================================  =========================================
input                                                  why withheld
=====================================================  =========================================
``None``, ``""``, only spaces                          no caller id delivered
``anonymous``, ``restricted``, ``unknown``,            the network's "number withheld" words
``private``, ``unavailable`` (any case)                (any letter at all is refused, rule 2)
``sip:...``, ``sips:...``                              the user part of a SIP URI is a user
                                                       name; the ingest adapter that knows its
                                                       provider extracts the number, we do not
                                                       guess
``client:alice`` (Twilio client ids)                   not a phone number
``1-800-FLOWERS`` (vanity letters)                     letters are refused: no vanity mapping
``+47 912 34 567 ext. 12``, ``;ext=12``                caller ids carry no extension; letters
                                                       and ``;`` are refused
``tel:91234567``, ``tel:+47...;phone-context=...``     local ``tel:`` number / URI parameters
fullwidth ``＋４７…``, Arabic-Indic ``٩١٢…``, other     refused, not normalised: look-alike
non-ASCII digits                                       digits are a spoofing/confusion vector
control characters (NUL, tab, newline), RTL            refused by rule 2
override and any other non-ASCII character
``+`` not in first place, two ``+``                    refused by rule 2
more than 64 characters (e.g. a 1 MB string)           refused before any parsing (rule 1)
fewer than 4 or more than 15 digits in E.164           E.164 bounds; short codes (``112``)
unknown country code (``+999...``), impossible         ``phonenumbers`` cannot place it
length for the country, local-only number
=====================================================  =========================================

No ``str`` (or ``None``) input raises: every refusal is the withheld outcome.

Display and digest
------------------
``display`` is the E.164 form with exactly its last three digits replaced by ``*``
(``+4791234567`` -> ``+4791234***``): always ``+``, 1 to 12 digits, ``***``. ``digest`` is
``HMAC-SHA256(pepper, e164)`` via :func:`storage.crypto.lookup_digest` with the pepper
version beside it, so the same number in any accepted format gets the same digest.

Digests must stay stable across ``phonenumbers`` upgrades (a lookup next year must find
this year's calls). The E.164 form of a number written internationally (``+``/``00``) is
fixed by its digits; a nationally written one also depends on the region's trunk-prefix
rule in the metadata (``0`` in SE/FI, none in NO/DK/IS), which practically never changes.
An upgrade can change what is *accepted* (new country codes, new lengths).

After a pepper rotation, old calls keep digests under old versions: a subject lookup
computes :func:`digest_for_lookup` once per pepper version still in the catalog.
"""

from __future__ import annotations

import logging
import re

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat, ValidationResult

from recorder.errors import ConfigError
from recorder.models import WITHHELD, MaskedNumber
from storage.crypto import lookup_digest
from storage.models import LookupDigest

logger = logging.getLogger(__name__)

#: Longer inputs are withheld before any parsing (an E.164 number with separators and a
#: ``tel:`` prefix fits easily).
MAX_INPUT_CHARS = 64
#: Digits kept visible are all but these many at the end.
MASKED_DIGITS = 3
#: Shortest lookup pepper accepted (the key ring makes 32-byte peppers).
MIN_PEPPER_BYTES = 16

#: The whole input must match this (after stripping ASCII spaces at the ends). ``[0-9]``,
#: never ``\d``: only ASCII digits pass.
ACCEPTED_SYNTAX = re.compile(r"(?:[Tt][Ee][Ll]:(?=\+))?\+?[0-9 ./()-]+")
_E164 = re.compile(r"\+[1-9][0-9]{3,14}")


def _check_region(default_region: str) -> None:
    if default_region not in phonenumbers.SUPPORTED_REGIONS:
        # A typo ("no", "NOR") would silently make every national number "withheld".
        raise ConfigError("default_region is not a supported two-letter region code")


def _check_pepper(pepper: bytes) -> None:
    # Checked before looking at the input, so a bad pepper fails on the first call, not
    # on the first call that happens to carry a number.
    if len(pepper) < MIN_PEPPER_BYTES:
        raise ConfigError(f"lookup pepper must be at least {MIN_PEPPER_BYTES} bytes")


def _parse(candidate: str, default_region: str) -> str | None:
    """E.164 for a pre-screened ``candidate``, or None; nothing from phonenumbers escapes."""
    try:
        number = phonenumbers.parse(candidate, default_region)
    except NumberParseException:
        return None
    except Exception as exc:  # a library bug must not lose a recording
        # Withheld is the safe outcome; say which error (never the input) so it is seen.
        logger.warning("phonenumbers failed on a caller id: %s", type(exc).__name__)
        return None
    if number.extension is not None:
        return None
    try:
        possible = phonenumbers.is_possible_number_with_reason(number)
        if possible != ValidationResult.IS_POSSIBLE and not phonenumbers.is_valid_number(number):
            return None
        e164 = phonenumbers.format_number(number, PhoneNumberFormat.E164)
    except Exception as exc:  # same reasoning as above
        logger.warning("phonenumbers failed on a caller id: %s", type(exc).__name__)
        return None
    return e164 if _E164.fullmatch(e164) else None


def normalise(raw: str | None, *, default_region: str = "NO") -> str | None:
    """The E.164 form of a caller id (``"+4791234567"``), or None when it is withheld.

    See the module docstring for exactly what is accepted and the withheld table. Never
    raises on a ``str`` or ``None``; raises :class:`ConfigError` for an unsupported
    ``default_region`` (a configuration mistake, not an input).
    """
    _check_region(default_region)
    if not isinstance(raw, str) or len(raw) > MAX_INPUT_CHARS:
        return None
    candidate = raw.strip(" ")
    if not ACCEPTED_SYNTAX.fullmatch(candidate):
        return None
    return _parse(candidate, default_region)


def _display(e164: str) -> str:
    return e164[:-MASKED_DIGITS] + "*" * MASKED_DIGITS


def mask(
    raw: str | None, *, pepper: bytes, pepper_version: int, default_region: str = "NO"
) -> MaskedNumber:
    """What callrec keeps of a caller id: masked display and lookup digest.

    ``display`` is E.164 with exactly the last three digits as ``*``; withheld input gives
    ``MaskedNumber(display="withheld", digest=None)``. Never raises on a ``str`` or
    ``None``; :class:`ConfigError` for a pepper under 16 bytes or an unsupported region.
    """
    _check_pepper(pepper)
    e164 = normalise(raw, default_region=default_region)
    if e164 is None:
        return MaskedNumber(display=WITHHELD, digest=None)
    digest = LookupDigest(pepper_version=pepper_version, digest=lookup_digest(pepper, e164))
    return MaskedNumber(display=_display(e164), digest=digest)


def digest_for_lookup(
    raw: str, *, pepper: bytes, pepper_version: int, default_region: str = "NO"
) -> LookupDigest | None:
    """The lookup digest to search a person's calls by their full number (M4).

    Same normalisation as :func:`mask`, so any format of the number finds every call
    stored under that pepper version; None when the input would be withheld.
    """
    return mask(
        raw, pepper=pepper, pepper_version=pepper_version, default_region=default_region
    ).digest
