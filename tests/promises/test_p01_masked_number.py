"""P01 - "The customer's phone number is stored with its last three digits masked, everywhere
it is exposed." (postal register)

How these tests prove it
------------------------
We give callrec the eight sample calls exactly as a phone system delivers them: each with
the caller's full number in whatever format the network used (spaced, compact, without a
country code, with the ``00`` prefix, from four countries, and one withheld caller). Then
we look in every place the number could show up:

1. What callrec stores: every row of the catalog, read with plain SQL rather than through
   callrec. Each caller is the full international number with exactly its last three
   digits replaced by ``***`` (``+47 912 34 567`` becomes ``+4791234***``), or
   ``withheld``.
2. What callrec shows people: ``callrec calls list`` as a table and as JSON for every
   configured user, and the messages of ``callrec play`` (allowed, denied, unknown id) and
   ``callrec ingest``.
3. What callrec writes about its own work: every entry of the audit log, and the log
   output with verbose logging on, including a call rejected for bad audio and its
   rejection note.
4. What is on disk: every byte of every file in the data directory (the database, its
   write-ahead log, the encrypted audio files, the audit checkpoints) and in the key-ring
   folder, searched for the full number in every written form (international with and
   without ``+``, national, as delivered; as text and as UTF-16). Nothing is found. As a
   control, the same search does find the masked form in the database, so we know it
   reads the right bytes.

The spool folder the phone system writes into is emptied once a call is stored, so the
delivered sidecar (which does carry the full number, as input) does not stay behind.
"""

from __future__ import annotations

import logging
import re
import sqlite3
from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path

import pytest

from recorder.capture import Capturer
from recorder.config import Config
from recorder.ingest.spool import run_spool
from storage.vault import Vault
from tests.promises.conftest import (
    SAMPLE_NAMES,
    CliRun,
    SampleStore,
    copy_spool,
)
from tests.recorder.conftest import canary_pcm, write_wav

#: sample -> (caller as delivered by the PBX, the full number in E.164, national number,
#: what callrec may show). Written out by hand so the test does not trust callrec's parser.
EXPECTED: dict[str, tuple[str, str | None, str | None, str]] = {
    "call-01": ("+47 912 34 567", "+4791234567", "91234567", "+4791234***"),
    "call-02": ("+4798765432", "+4798765432", "98765432", "+4798765***"),
    "call-03": ("+46 70 123 45 67", "+46701234567", "701234567", "+46701234***"),
    "call-04": ("+45 20 12 34 56", "+4520123456", "20123456", "+4520123***"),
    "call-05": ("0045 31 23 45 67", "+4531234567", "31234567", "+4531234***"),
    "call-06": ("934 56 789", "+4793456789", "93456789", "+4793456***"),
    "call-07": ("+358 40 123 4567", "+358401234567", "401234567", "+358401234***"),
    "call-08": ("anonymous", None, None, "withheld"),
}
#: A masked display: ``+``, the leading digits, ``***`` - or ``withheld``.
MASKED = re.compile(r"\+[1-9][0-9]{0,11}\*\*\*|withheld")
USERS = ("anna", "bjorn", "carla", "dag", "siri", "sven", "qa1", "admin1", "dpo1")


def _forms(delivered: str, e164: str, national: str) -> set[str]:
    """Every written form of a full number we search for."""
    compact = re.sub(r"[^0-9+]", "", delivered)
    return {e164, e164[1:], national, delivered, compact}


FULL_FORMS: set[str] = set()
for _delivered, _e164, _national, _ in EXPECTED.values():
    if _e164 is not None and _national is not None:
        FULL_FORMS |= _forms(_delivered, _e164, _national)


def full_numbers_in_text(text: str, forms: Iterable[str] = FULL_FORMS) -> list[str]:
    return sorted(form for form in forms if form in text)


def full_numbers_in_bytes(data: bytes, forms: Iterable[str] = FULL_FORMS) -> list[str]:
    found = []
    for form in forms:
        for encoding in ("utf-8", "utf-16-le", "utf-16-be"):
            if form.encode(encoding) in data:
                found.append(f"{form} ({encoding})")
    return sorted(found)


def assert_only_masked(text: str) -> None:
    """Every ``+digits`` in ``text`` is followed by ``***``, and no full number occurs."""
    for match in re.finditer(r"\+[0-9]+", text):
        assert text[match.end() : match.end() + 3] == "***", f"unmasked number at {match.start()}"
    assert full_numbers_in_text(text) == []


def test_the_expected_masks_hide_exactly_the_last_three_digits() -> None:
    """The hand-written expectations are themselves right: E.164 minus three digits."""
    for name, (_, e164, _, shown) in EXPECTED.items():
        if e164 is None:
            assert shown == "withheld", name
        else:
            assert shown == e164[:-3] + "***", name
            assert MASKED.fullmatch(shown), name


def test_each_stored_caller_is_masked_in_the_catalog_rows(store: SampleStore) -> None:
    """Read with plain SQL, every recording row has the masked caller and no full number."""
    conn = sqlite3.connect(f"file:{store.home / 'catalog.db'}?mode=ro", uri=True)
    try:
        callers = dict(conn.execute("SELECT provider_id, caller_display FROM recordings"))
        cells = [
            cell
            for (table,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            for row in conn.execute(f'SELECT * FROM "{table}"')  # noqa: S608 - our own names
            for cell in row
        ]
    finally:
        conn.close()
    assert callers == {f"spool-{name}": EXPECTED[name][3] for name in SAMPLE_NAMES}
    for name in SAMPLE_NAMES:
        assert store.recording(name).caller_display == EXPECTED[name][3], name
    text = "\n".join(str(c) for c in cells if not isinstance(c, bytes))
    assert full_numbers_in_text(text) == []
    assert full_numbers_in_bytes(b"".join(c for c in cells if isinstance(c, bytes))) == []


def test_calls_list_shows_only_masked_numbers_to_every_user(store: SampleStore) -> None:
    """``callrec calls list`` (JSON and table) shows each visible caller masked."""
    seen = set()
    for user in USERS:
        for row in store.listed(user):
            name = store.name_of(row["id"])
            assert row["caller"] == EXPECTED[name][3], (user, name)
            seen.add(name)
        table = store.cli("calls", "list", "--as", user)
        assert table.exit_code == 0, table.output
        assert_only_masked(table.output)
        for name in store.listed_names(user):
            assert EXPECTED[name][3] in table.output, (user, name)
    assert seen == set(SAMPLE_NAMES)  # every sample was shown to somebody, masked


def test_play_and_ingest_messages_show_no_full_number(store: SampleStore, tmp_path: Path) -> None:
    """Messages of allowed, denied and unknown playback and of ingest carry no full number."""
    allowed = store.play("call-01", "anna", tmp_path / "own.wav")
    assert allowed.exit_code == 0, allowed.output
    denied = store.play("call-02", "anna", tmp_path / "other.wav")
    assert denied.exit_code == 3
    unknown = store.cli("play", "0" * 32, "--as", "anna", "--purpose", "quality")
    assert unknown.exit_code == 3
    for result in (allowed, denied, unknown):
        assert_only_masked(result.output)

    # A new caller, delivered with the 00 prefix and spaces, through ``callrec ingest``.
    new_forms = _forms("0047 400 12 345", "+4740012345", "40012345")
    wav = write_wav(tmp_path / "new.wav", canary_pcm(3.0, seed=5))
    args = ("ingest", str(wav), "--caller", "0047 400 12 345", "--agent", "anna",
            "--started-at", "2026-11-21T10:00:00Z", "--answered-at", "2026-11-21T10:00:01Z",
            "--ended-at", "2026-11-21T10:00:03Z")  # fmt: skip
    first, again = store.cli(*args), store.cli(*args)
    assert first.exit_code == 0 and again.exit_code == 0, first.output + again.output
    assert "caller +4740012***" in first.output and "Stored recording" in first.output
    assert "caller +4740012***" in again.output and "Already stored" in again.output
    for result in (first, again):
        assert full_numbers_in_text(result.output, new_forms) == []
        assert_only_masked(result.output)


def test_the_audit_log_holds_no_full_number(store: SampleStore, tmp_path: Path) -> None:
    """Capture, listing and playback (allowed and denied) are audited without numbers."""
    store.listed("siri")
    assert store.play("call-06", "bjorn", tmp_path / "a.wav").exit_code == 0
    assert store.play("call-06", "siri", tmp_path / "b.wav").exit_code == 3
    entries = store.audit_since(0)
    actions = {e.event.action for e in entries}
    assert {"recording.capture", "recording.list", "recording.play"} <= actions
    for entry in entries:
        ev = entry.event
        fields: list[object] = [ev.actor_id, ev.actor_role, ev.action, ev.outcome]
        fields += [ev.recording_id, ev.artefact, ev.purpose, ev.reason, ev.detail]
        text = " ".join(str(v) for v in fields)
        assert full_numbers_in_text(text) == [], entry.seq
    assert store.cli("audit", "verify").exit_code == 0


def _with_rejected_pair(spool: Path) -> str:
    """Add a pair whose audio is junk and whose sidecar carries a full number."""
    sidecar = (spool / "call-01.json").read_text(encoding="utf-8")
    sidecar = sidecar.replace("spool-call-01", "spool-bad-1").replace(
        "+47 912 34 567", "+47 400 99 888"
    )
    (spool / "bad-1.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk")
    (spool / "bad-1.json").write_text(sidecar, encoding="utf-8")
    return "bad-1"


REJECTED_FORMS = _forms("+47 400 99 888", "+4740099888", "40099888")


class RawMessages(logging.Handler):
    """Keeps each message as logged, before any filter further up can rewrite it."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def test_callrec_code_logs_no_number_even_without_the_redacting_filter(
    vault: Vault,
    org: Config,
    tmp_path: Path,
    now: datetime,
    rng: Callable[[int], bytes],
) -> None:
    """The capture path itself logs ids only: the CLI's redacting filter is a safety net.

    The messages are taken on callrec's own loggers, before they reach any handler that
    the command line may have given a redacting filter.
    """
    raw = RawMessages()
    loggers = [logging.getLogger(name) for name in ("recorder", "storage")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.addHandler(raw)
        lg.setLevel(logging.DEBUG)
    try:
        spool = copy_spool(tmp_path / "spool")
        bad = _with_rejected_pair(spool)
        report = run_spool(spool, Capturer(vault, org), now=lambda: now, rng=rng)
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.removeHandler(raw)
            lg.setLevel(level)
    assert len(report.captured) == 8 and report.rejected == [bad]
    assert any(bad in message for message in raw.messages)  # control: logs were captured
    assert full_numbers_in_text("\n".join(raw.messages), FULL_FORMS | REJECTED_FORMS) == []
    reason = (spool / "rejected" / f"{bad}.reason.txt").read_text(encoding="utf-8")
    assert full_numbers_in_text(reason, REJECTED_FORMS) == []


def test_verbose_cli_output_and_logs_hold_no_full_number(
    vault: Vault, cli_run: CliRun, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """``callrec -v spool run`` with a rejected call: nothing printed or logged has a number."""
    caplog.set_level(logging.DEBUG)
    spool = copy_spool(tmp_path / "spool")
    bad = _with_rejected_pair(spool)
    result = cli_run("-v", "spool", "run", str(spool))
    assert result.exit_code == 0, result.output
    assert "8 captured, 0 already stored, 1 rejected" in result.output
    assert any(bad in r.getMessage() for r in caplog.records)
    for text in (result.output, caplog.text):
        assert full_numbers_in_text(text, FULL_FORMS | REJECTED_FORMS) == []


def _files(*roots: Path) -> list[Path]:
    return sorted(p for root in roots for p in root.rglob("*") if p.is_file())


def test_the_full_number_is_nowhere_on_disk(store: SampleStore, tmp_path: Path) -> None:
    """Every byte of the data dir and key-ring folder: masked forms yes, full numbers no."""
    store.listed("siri")
    assert store.play("call-01", "anna", tmp_path / "played.wav").exit_code == 0
    assert store.play("call-02", "anna", tmp_path / "denied.wav").exit_code == 3

    files = _files(store.home, store.keyring.parent)
    names = {p.name for p in files}
    assert "catalog.db" in names  # the database (and its write-ahead log, if any) is scanned
    assert sum(p.suffix == ".crx" for p in files) == 8  # one encrypted audio file per call
    for path in files:
        assert full_numbers_in_bytes(path.read_bytes()) == [], path.relative_to(tmp_path)

    # Control: the same search does see the masked display in the database files.
    database = b"".join(p.read_bytes() for p in files if p.name.startswith("catalog.db"))
    assert b"+4791234***" in database

    # The spool the PBX wrote (its sidecars carry the full number) is emptied once stored.
    assert list((tmp_path / "spool").iterdir()) == []
