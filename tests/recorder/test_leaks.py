"""M3 / I4 / I7 leak scans and M4 subject lookups over a batch of real ingests.

Sixty calls (forty through :class:`Capturer`, twenty through a spool pass, plus two pairs
the spool rejects) from random Nordic callers in random formats, some withheld, with
logging at DEBUG through :func:`recorder.logredact.install` into files. Then every file
the product owns is raw-scanned - catalog, WAL, SHM, blobs, audit checkpoints, log files,
the keyring directory, the spool's reject reasons - for every rendering of every caller
number (I7, M3) and for windows of the plaintext PCM (I4). Controls prove the scan finds
what it looks for, and the masked displays are found in the same catalog bytes (so the
scan reads the real database, not an empty file).
"""

from __future__ import annotations

import json
import logging
import os
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import phonenumbers
import pytest
from phonenumbers import PhoneNumberFormat

from recorder import logredact
from recorder.capture import Capturer
from recorder.ingest.spool import REJECTED, run_spool
from recorder.masking import digest_for_lookup, normalise
from recorder.models import WITHHELD, CallEvent
from storage.vault import CHECKPOINTS_NAME, DB_NAME, Vault
from tests.invariants import (
    check_invariants,
    files_under,
    leak_needles,
    number_renderings,
    pcm_canaries,
    scan,
)
from tests.recorder.conftest import BEFORE_MOVE, canary_pcm, write_wav

Rng = Callable[[int], bytes]

EXTENDED = os.environ.get("RUN_EXTENDED") == "1"
DIRECT_CALLS = 400 if EXTENDED else 40
SPOOL_CALLS = 200 if EXTENDED else 20
POOL = 120 if EXTENDED else 24
SECONDS = 1.5
REGION = "NO"

#: Nordic country code -> first digit(s) of a mobile national number, and its length.
MOBILE: dict[str, tuple[tuple[str, ...], int]] = {
    "47": (("4", "9"), 8),
    "46": (("70", "72", "73", "76", "79"), 9),
    "358": (("40", "41", "44", "45", "50"), 9),
    "45": (("20", "30", "40", "50", "60"), 8),
    "354": (("6", "7", "8"), 7),
}
#: Caller ids that are withheld outright (no digits, or a form the masker refuses).
WITHHELD_INPUTS = ("anonymous", "restricted", "", None, "client:alice", "Unavailable")


def nordic_number(rnd: random.Random) -> str:
    """A random possible Nordic mobile number, E.164."""
    while True:
        cc = rnd.choice(sorted(MOBILE))
        prefixes, length = MOBILE[cc]
        prefix = rnd.choice(prefixes)
        nsn = prefix + "".join(rnd.choice("0123456789") for _ in range(length - len(prefix)))
        e164 = f"+{cc}{nsn}"
        if normalise(e164, default_region=REGION) == e164:
            return e164


def formats(e164: str) -> list[str]:
    """The ways a PBX or provider may deliver ``e164`` (default region NO)."""
    parsed = phonenumbers.parse(e164, None)
    cc = str(parsed.country_code)
    nsn = phonenumbers.national_significant_number(parsed)
    international = phonenumbers.format_number(parsed, PhoneNumberFormat.INTERNATIONAL)
    out = [
        e164,
        "00" + e164[1:],
        international,
        "00" + international[1:],
        phonenumbers.format_number(parsed, PhoneNumberFormat.RFC3966),
        f"+{cc}.{nsn[:3]}.{nsn[3:]}",
        f"  {international}  ",
    ]
    if cc == "47":
        out += [phonenumbers.format_number(parsed, PhoneNumberFormat.NATIONAL), nsn]
    if cc in ("46", "358"):  # trunk prefix 0, written in brackets after the country code
        out.append(f"+{cc} (0){nsn[:2]} {nsn[2:]}")
    return out


@dataclass(frozen=True, slots=True, kw_only=True)
class Call:
    """One call of the batch: how its caller was delivered, and its audio."""

    source_id: str
    caller: str | None
    e164: str | None  # None: withheld
    pcm: bytes
    wav: Path


@dataclass(slots=True)
class Batch:
    calls: list[Call]
    pool: list[str]
    hidden: list[str]  # numbers that appear only inside withheld or rejected input


def _plan_callers(
    rnd: random.Random, pool: list[str], sip: str, count: int
) -> Iterator[str | None]:
    for i in range(count):
        roll = rnd.random()
        if roll < 0.08:
            yield rnd.choice(WITHHELD_INPUTS)
        elif roll < 0.12:
            # A SIP URI is withheld (the adapter must extract the number), yet it holds one.
            yield f"sip:{sip}@pbx{i % 3}.example"
        else:
            yield rnd.choice(formats(rnd.choice(pool)))


@pytest.fixture
def log_files(tmp_path: Path) -> Iterator[Path]:
    """DEBUG logging into files under the returned dir, filtered by ``logredact.install``."""
    directory = tmp_path / "logs"
    directory.mkdir()
    root = logging.getLogger()
    main = logging.FileHandler(directory / "callrec.log", encoding="utf-8")
    main.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
    extra = logging.FileHandler(directory / "extra.log", encoding="utf-8")
    extra.addFilter(lambda record: hasattr(record, "caller"))
    extra.setFormatter(logging.Formatter("%(message)s caller=%(caller)s"))
    level = root.level
    root.addHandler(main)
    root.addHandler(extra)
    root.setLevel(logging.DEBUG)
    logredact.install()
    try:
        yield directory
    finally:
        root.setLevel(level)
        for handler in (main, extra):
            root.removeHandler(handler)
            handler.close()


def _ingest(
    tmp_path: Path, capturer: Capturer, now: datetime, rng: Rng
) -> tuple[Batch, dict[str, str]]:
    """Capture the batch; returns it and source id -> recording id."""
    rnd = random.Random(20261123)
    pool: list[str] = []
    while len(pool) < POOL:
        number = nordic_number(rnd)
        if number not in pool:
            pool.append(number)
    sip = nordic_number(rnd)
    callers = list(_plan_callers(rnd, pool, sip, DIRECT_CALLS + SPOOL_CALLS))
    assert any(sip in (c or "") for c in callers)
    src = tmp_path / "src"
    spool = tmp_path / "spool"
    src.mkdir()
    spool.mkdir()
    calls: list[Call] = []
    stored: dict[str, str] = {}
    for i, caller in enumerate(callers):
        direct = i < DIRECT_CALLS
        pcm = canary_pcm(SECONDS, seed=10_000 + i)
        source_id = f"{'direct' if direct else 'spool'}-{i:04d}"
        wav = write_wav((src if direct else spool) / f"{source_id}.wav", pcm)
        started = BEFORE_MOVE + timedelta(minutes=i)
        if direct:
            event = CallEvent(
                source="test",
                source_id=source_id,
                audio_path=wav,
                caller=caller,
                service_number="+4722000000",
                agent_id="anna",
                started_at=started,
                answered_at=started + timedelta(milliseconds=500),
                ended_at=started + timedelta(seconds=SECONDS),
            )
            stored[source_id] = capturer.capture(event, now=now, rng=rng).recording_id
        else:
            sidecar = {
                "v": 1,
                "source_id": source_id,
                "caller": caller,
                "service_number": "+47 22 00 00 00",
                "agent": "bjorn",
                "started_at": started.isoformat(),
                "answered_at": (started + timedelta(milliseconds=500)).isoformat(),
                "ended_at": (started + timedelta(seconds=SECONDS)).isoformat(),
            }
            (spool / f"{source_id}.json").write_text(json.dumps(sidecar), encoding="utf-8")
        e164 = normalise(caller, default_region=REGION)
        calls.append(Call(source_id=source_id, caller=caller, e164=e164, pcm=pcm, wav=wav))
    # Two pairs the spool must reject, each carrying a full number that must go nowhere.
    hidden = [nordic_number(rnd), nordic_number(rnd)]
    bad_audio = spool / "reject-audio.wav"
    bad_audio.write_bytes(b"%PDF-1.7\n" + b"\x00" * 512)
    (spool / "reject-audio.json").write_text(
        json.dumps({"v": 1, "source_id": "reject-audio", "caller": hidden[0],
                    "started_at": BEFORE_MOVE.isoformat()}),
        encoding="utf-8",
    )  # fmt: skip
    write_wav(spool / "reject-agent.wav", canary_pcm(SECONDS, seed=99))
    (spool / "reject-agent.json").write_text(  # a number in the agent field is refused
        json.dumps({"v": 1, "source_id": "reject-agent", "caller": hidden[1],
                    "agent": "".join(c for c in hidden[1] if c.isdigit()),
                    "started_at": BEFORE_MOVE.isoformat()}),
        encoding="utf-8",
    )  # fmt: skip
    report = run_spool(spool, capturer, now=lambda: now, rng=rng)
    assert sorted(report.rejected) == ["reject-agent", "reject-audio"]
    assert report.failed == []
    assert len(report.captured) == SPOOL_CALLS
    for call in calls[DIRECT_CALLS:]:
        found = capturer.vault.catalog.find_recording("spool", call.source_id)
        assert found is not None
        stored[call.source_id] = found.id
    hidden.append(sip)
    return Batch(calls=calls, pool=pool, hidden=hidden), stored


def _log_deliberately(batch: Batch) -> None:
    """Put every caller, in every format, into log messages, exceptions and extra fields."""
    log = logging.getLogger("recorder.test")
    for number in batch.pool + batch.hidden:
        for rendering in formats(number):
            log.warning("caller %s", rendering)
            log.debug("sidecar caller=" + rendering)  # pre-formatted, no args
        try:
            raise ValueError(f"could not parse caller {number}")
        except ValueError:
            log.exception("capture failed")
        log.info("lookup requested", extra={"caller": number})


def test_no_full_number_or_plaintext_audio_anywhere(
    tmp_path: Path,
    home: Path,
    keyring_path: Path,
    vault: Vault,
    capturer: Capturer,
    log_files: Path,
    now: datetime,
    rng: Rng,
) -> None:
    batch, stored = _ingest(tmp_path, capturer, now, rng)
    _log_deliberately(batch)
    vault.audit.checkpoint(now)
    for handler in logging.getLogger().handlers:
        handler.flush()

    numbers = batch.pool + batch.hidden
    canaries = [c for call in batch.calls for c in pcm_canaries(call.pcm)]
    needles = leak_needles(canaries, numbers)
    reasons = files_under(tmp_path / "spool" / REJECTED)
    reason_files = [p for p in reasons if p.name.endswith(".reason.txt")]
    assert len(reason_files) == 2

    # What is scanned: the real store, with its WAL, while the catalog is open.
    data = files_under(home)
    names = {p.name for p in data}
    assert {DB_NAME, f"{DB_NAME}-wal", f"{DB_NAME}-shm", CHECKPOINTS_NAME} <= names
    assert sum(p.suffix == ".crx" for p in data) == len(batch.calls)
    logs = files_under(log_files)
    assert len(logs) == 2 and all(p.stat().st_size > 0 for p in logs)
    keyring_dir = files_under(keyring_path.parent)
    assert keyring_dir

    # Controls: the same scan finds the canaries where they are in plaintext.
    kept = [c for c in batch.calls if c.wav.exists()]  # the spool's own copies are removed
    assert len(kept) == DIRECT_CALLS
    kept_canaries = [w for c in kept for w in pcm_canaries(c.pcm)]
    wav_hits = scan([c.wav for c in kept], {"I4 canary": kept_canaries})
    assert len(wav_hits) == len(kept_canaries)
    control = tmp_path / "control.txt"
    control.write_text(
        "\n".join(json.dumps({"caller": f}) + f" caller {f}" for n in numbers for f in formats(n)),
        encoding="utf-8",
    )
    control_hits = {h.what.split("[")[0] for h in scan([control], needles)}
    assert control_hits == {k for k in needles if k.startswith("I7")}
    # Rejected pairs keep a redacted sidecar only: the original (with the number) is gone.
    assert [p for p in reasons if p.suffix == ".json"] == []
    redacted = [p for p in reasons if p.name.endswith(".json.redacted")]
    assert len(redacted) == 2
    assert scan(redacted, needles) == []

    # The scan reads the real catalog: every masked display is in its bytes.
    catalog_bytes = b"".join(p.read_bytes() for p in data if p.name.startswith(DB_NAME))
    displays = {call.e164[:-3] + "***" for call in batch.calls if call.e164 is not None}
    assert len(displays) >= POOL // 2
    assert [d for d in sorted(displays) if d.encode() not in catalog_bytes] == []
    assert WITHHELD.encode() in catalog_bytes

    # M3 / I4 / I7: nothing anywhere.
    assert scan([*data, *logs, *keyring_dir, *reason_files], needles) == []

    # The filter really redacted what was logged on purpose.
    text = (log_files / "callrec.log").read_text(encoding="utf-8")
    assert text.count("caller [number]") >= len(numbers)
    assert "ValueError: could not parse caller [number]" in text
    assert (log_files / "extra.log").read_text(encoding="utf-8").count("caller=[number]") == len(
        numbers
    )
    assert "rejected" in text  # the spool's own warnings went through the same file

    check_invariants(
        home,
        keyring_path,
        canaries=canaries,
        numbers=numbers,
        extra_files=[log_files, *reason_files],
    )
    assert len(stored) == len(batch.calls)


def test_lookup_by_full_number_finds_exactly_that_callers_calls(
    tmp_path: Path, vault: Vault, capturer: Capturer, log_files: Path, now: datetime, rng: Rng
) -> None:
    batch, stored = _ingest(tmp_path, capturer, now, rng)
    keyring = vault.keyring
    version = keyring.active_pepper_version()
    pepper = keyring.pepper(version)
    by_caller: dict[str, set[str]] = {n: set() for n in batch.pool}
    for call in batch.calls:
        if call.e164 is not None:
            by_caller[call.e164].add(stored[call.source_id])
    repeat = [n for n, ids in by_caller.items() if len(ids) >= 2]
    assert len(repeat) >= POOL // 4, "too few repeat callers to test M4"
    mixed = {
        n for n in repeat if len({c.caller for c in batch.calls if c.e164 == n}) >= 2
    }  # the same caller delivered in different formats
    assert mixed

    for number in [*batch.pool, *batch.hidden]:
        expected = by_caller.get(number, set())
        for rendering in formats(number):
            digest = digest_for_lookup(
                rendering, pepper=pepper, pepper_version=version, default_region=REGION
            )
            assert digest is not None
            found = {r.id for r in vault.catalog.recordings_by_digest(digest.digest)}
            assert found == expected  # 100 % of this caller's calls, 0 of anyone else's

    withheld = [c for c in batch.calls if c.e164 is None]
    assert withheld
    for call in withheld:
        row = vault.catalog.get_recording(stored[call.source_id])
        assert row.caller_display == WITHHELD
        assert row.caller_digest is None
    # Every rendering the I7 scan uses is a lookup key for the same caller (same digest).
    for number in batch.pool[:5]:
        digests = {
            digest_for_lookup(r.decode(), pepper=pepper, pepper_version=version)
            for r in number_renderings(number)
            if r.decode().startswith("+") or r.decode().startswith("00")
        }
        assert len(digests) == 1
