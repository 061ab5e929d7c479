"""Reusable invariant checks for crash, fault, concurrency and leak tests (RELIABILITY.md).

:func:`check_invariants` is what every reliability test runs after its fault: it opens the
store the way a restarted process would, runs storage ``fsck`` without repair (I1, I2, I3,
I6), checks that no half-captured recording is visible and that no artefact outlives its
recording (I8), and raw-scans every file under the data dir for plaintext canaries (I4)
and for full caller numbers in every rendering a careless writer might use (I7).

``phonenumbers`` is used here as a test oracle for the renderings (tests are outside the
import confinement rule of ``tests/test_architecture.py``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import phonenumbers
from phonenumbers import PhoneNumberFormat

from recorder.masking import normalise
from storage.fsck import fsck
from storage.keyring import FileKeyRing
from storage.models import State
from storage.vault import Vault

#: The default region the recorder fixtures use (``default_region = "NO"``).
DEFAULT_REGION = "NO"
#: A PCM canary window: long enough that a random match is impossible (2^-384).
CANARY_WINDOW = 48


@dataclass(frozen=True, slots=True)
class Hit:
    """One needle found in one file (the needle is kept out of ``repr``: it may be a number)."""

    path: Path
    what: str

    def __repr__(self) -> str:
        return f"Hit({str(self.path)!r}, {self.what})"


def number_renderings(number: str, *, default_region: str = DEFAULT_REGION) -> list[bytes]:
    """Every rendering of a full caller number that a leak scan looks for (I7).

    E.164 digits (``4791234567``), with ``+``, with ``00``, the national significant
    number (``91234567``), the national number with its trunk prefix as digits
    (``0701234567`` in SE), and the spaced international, national and RFC 3966 forms
    (``+47 912 34 567``, ``070-123 45 67``, ``tel:+46-70-123-45-67``).
    """
    e164 = normalise(number, default_region=default_region)
    if e164 is None:
        raise ValueError("a leak canary must be a number the masker accepts")
    parsed = phonenumbers.parse(e164, None)
    international = phonenumbers.format_number(parsed, PhoneNumberFormat.INTERNATIONAL)
    national = phonenumbers.format_number(parsed, PhoneNumberFormat.NATIONAL)
    rfc3966 = phonenumbers.format_number(parsed, PhoneNumberFormat.RFC3966)
    digits = e164[1:]
    forms = [
        digits,
        e164,
        "00" + digits,
        phonenumbers.national_significant_number(parsed),
        "".join(c for c in national if c.isdigit()),
        international,
        international[1:],
        national,
        rfc3966.removeprefix("tel:"),
    ]
    return list(dict.fromkeys(form.encode() for form in forms))


def pcm_canaries(pcm: bytes, *, count: int = 4, window: int = CANARY_WINDOW) -> list[bytes]:
    """``count`` evenly spread ``window``-byte slices of canary PCM (I4 needles)."""
    if len(pcm) < window:
        raise ValueError("canary PCM shorter than one window")
    last = len(pcm) - window
    step = max(1, last // max(1, count - 1))
    offsets = sorted({min(last, i * step) for i in range(count)})
    # Sample-aligned: a window that starts mid-sample would still be a canary, but aligned
    # windows are the ones a plaintext WAV written by the product would contain.
    return [pcm[o - o % 2 : o - o % 2 + window] for o in offsets]


def files_under(*roots: Path) -> list[Path]:
    """Every regular file below the roots (a missing root contributes nothing)."""
    found: list[Path] = []
    for root in roots:
        if root.is_file():
            found.append(root)
        elif root.is_dir():
            found.extend(sorted(p for p in root.rglob("*") if p.is_file()))
    return found


def scan(paths: Iterable[Path], needles: Mapping[str, Sequence[bytes]]) -> list[Hit]:
    """Every (file, needle label) where a needle of that label occurs in the raw bytes."""
    hits: list[Hit] = []
    for path in paths:
        try:
            data = path.read_bytes()
        except FileNotFoundError:  # a -wal/-shm that SQLite removed meanwhile
            continue
        for label, group in needles.items():
            for i, needle in enumerate(group):
                if needle in data:
                    hits.append(Hit(path, f"{label}[{i}]"))
    return hits


def leak_needles(canaries: Sequence[bytes], numbers: Sequence[str]) -> dict[str, list[bytes]]:
    """The needle groups :func:`check_invariants` scans for, labelled by invariant."""
    needles: dict[str, list[bytes]] = {"I4 canary": list(canaries)}
    for n, number in enumerate(numbers):
        needles[f"I7 number #{n}"] = number_renderings(number)
    return needles


def _check_store(vault: Vault) -> None:
    report = fsck(vault, repair=False)
    assert report.ok, [(f.invariant, f.subject, f.problem) for f in report.findings]
    pending = vault.catalog.list_recordings(state=State.PENDING)
    assert pending == [], f"{len(pending)} pending recording(s) visible"
    states = {r.id: r.state for r in vault.catalog.list_recordings()}
    for artefact in vault.catalog.all_artefacts(state=State.AVAILABLE):
        parent = states.get(artefact.recording_id)
        assert parent is State.AVAILABLE, f"I8: artefact {artefact.id} outlives its recording"


def check_invariants(
    home: Path,
    keyring_path: Path,
    *,
    canaries: list[bytes],
    numbers: list[str],
    extra_files: Iterable[Path] = (),
) -> None:
    """Assert I1-I4, I6, I7 and the structural part of I8 on the store at ``home``.

    Opens its own :class:`Vault` (as a restarted process would), so the caller may hold
    another connection or none. ``canaries`` are raw byte needles (PCM windows from
    :func:`pcm_canaries`, ``CANARY-<uuid>`` texts); ``numbers`` are full caller numbers in
    any format the masker accepts, each scanned for in every :func:`number_renderings`.
    Every file under ``home`` and under the keyring's directory is scanned twice: with the
    catalog open (``-wal``/``-shm`` present) and after closing it (checkpointed).
    ``extra_files`` (logs, exports, files or directories) are scanned as well.
    """
    needles = leak_needles(canaries, numbers)
    extra = [keyring_path.parent, *extra_files]
    vault = Vault.open(home, FileKeyRing.load(keyring_path))
    try:
        _check_store(vault)
        hits = scan(files_under(home, *extra), needles)
        assert hits == [], f"leak while open: {hits}"
    finally:
        vault.close()
    hits = scan(files_under(home, *extra), needles)
    assert hits == [], f"leak after close: {hits}"
