"""A hostile database edit (H6): every catalog field an access or retention decision reads is
edited directly with sqlite3, as someone with write access to ``catalog.db`` would. Each edit
is detected: the decision denies (and is audited), the sweep destroys nothing it cannot
trust, ``fsck`` reports I9.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from recorder.access import INTEGRITY_REASON, Principal, allowed
from recorder.capture import Capturer
from recorder.config import Config
from recorder.errors import AccessDenied
from recorder.fsck import fsck
from recorder.playback import open_playback
from recorder.retention import default_classes
from recorder.sweep import sweep
from storage import ai_store, holds, sealing
from storage.catalog_schema import encode_ts
from storage.qa import CatalogAssignments, QaStore, Sample
from storage.vault import DB_NAME, Vault
from tests.recorder.conftest import AFTER_MOVE, BEFORE_MOVE, MakeCall

Rng = Callable[[int], bytes]
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)

ANNA = Principal(user_id="anna", roles=frozenset({"agent"}))
CARLA = Principal(user_id="carla", roles=frozenset({"agent"}))
SVEN = Principal(user_id="sven", roles=frozenset({"supervisor"}))
QA1 = Principal(user_id="qa1", roles=frozenset({"qa_reviewer"}))


@dataclass
class Store:
    vault: Vault
    home: Path
    recording_id: str
    config: Config

    def sql(self, statement: str, *args: object) -> None:
        """Edit the catalog behind callrec's back (a second connection, as an attacker)."""
        conn = sqlite3.connect(self.home / DB_NAME)
        with conn:
            for part in statement.split("; "):
                conn.execute(part, args)
        conn.close()

    def i9(self) -> set[str]:
        return {f.subject.split("/")[0] for f in fsck(self.vault).findings if f.invariant == "I9"}


@pytest.fixture
def store(
    capturer: Capturer, vault: Vault, home: Path, make_call: MakeCall, rng: Rng, config: Config
) -> Store:
    event = make_call(agent="bjorn", started_at=BEFORE_MOVE)  # bjorn was in siri's team then
    captured = capturer.capture(event, now=NOW, rng=rng)
    return Store(vault=vault, home=home, recording_id=captured.recording_id, config=config)


def decision(store: Store, who: Principal) -> tuple[bool, str]:
    rec = store.vault.catalog.get_recording(store.recording_id)
    result = allowed(store.config, who, "play", rec, purpose="quality",
                     assignments=CatalogAssignments(store.vault.catalog))  # fmt: skip
    return result.allowed, result.reason


GRANTS = [
    ("agent_id", CARLA, "UPDATE recordings SET agent_id = 'carla'"),
    ("started_at", SVEN, "UPDATE recordings SET started_at = ?", encode_ts(AFTER_MOVE)),
    ("team_id", SVEN, "UPDATE recordings SET team_id = 'stockholm-1'"),
    ("participants", CARLA, "INSERT INTO recording_participants VALUES ((SELECT id FROM "
                            "recordings), 'carla')"),
]  # fmt: skip


@pytest.mark.parametrize("case", GRANTS, ids=[c[0] for c in GRANTS])
def test_an_edit_that_would_grant_access_denies_it_and_is_audited(
    store: Store, case: tuple[object, ...]
) -> None:
    _, who, statement, *args = case
    assert isinstance(who, Principal) and isinstance(statement, str)
    assert decision(store, who)[0] is False  # not theirs before the edit
    store.sql(statement, *args)
    assert decision(store, who) == (False, INTEGRITY_REASON)  # and still not after it
    with pytest.raises(AccessDenied, match="integrity"):
        open_playback(store.vault, store.config, who, store.recording_id, purpose="quality",
                      now=NOW)  # fmt: skip
    (entry,) = [e for e in store.vault.audit.for_recording(store.recording_id)
                if e.event.action == "recording.play"]  # fmt: skip
    assert (entry.event.outcome, entry.event.reason) == ("denied", INTEGRITY_REASON)
    assert store.i9() == {"recordings"}


def test_clearing_restricted_denies_even_the_agent(store: Store) -> None:
    store.vault.catalog.set_recording_flags(store.recording_id, restricted=True)
    store.sql("UPDATE recordings SET restricted = 0")
    bjorn = Principal(user_id="bjorn", roles=frozenset({"agent"}))
    assert decision(store, bjorn) == (False, INTEGRITY_REASON)
    assert store.i9() == {"recordings"}


def test_a_qa_assignment_inserted_by_hand_grants_nothing(store: Store) -> None:
    qa = QaStore(store.vault.catalog)
    sample = Sample(id="s" * 24, drawn_by="siri", drawn_at=NOW, reviewer_id="qa2", rate_bp=100,
                    seed=1, population=1, population_sha256="0" * 64, drawn=1)  # fmt: skip
    qa.record_sample(sample, [store.recording_id])  # a genuine assignment, to someone else
    assert qa.is_assigned("qa2", store.recording_id)
    store.sql("INSERT INTO qa_assignments SELECT 'qa1', recording_id, sample_id, drawn_at, seed,"
              " rate_bp, position, guard FROM qa_assignments")  # the MAC copied, too  # fmt: skip
    assert not qa.is_assigned("qa1", store.recording_id)
    assert decision(store, QA1)[0] is False
    assert store.i9() == {"qa_assignments"}


def test_an_ai_sample_inserted_by_hand_grants_nothing(store: Store) -> None:
    store.sql("INSERT INTO ai_samples (recording_id, reviewer_id, drawn_at, rate_ppm, seed) "
              "SELECT id, 'qa1', ?, 1000, 1 FROM recordings", encode_ts(NOW))  # fmt: skip
    assert not ai_store.is_sampled(store.vault.catalog, "qa1", store.recording_id)
    assert store.i9() == {"ai_samples"}


def test_setting_the_ai_notice_by_hand_never_makes_a_call_ai_eligible(store: Store) -> None:
    assert ai_store.pending(store.vault.catalog) == []
    store.sql("UPDATE recordings SET ai_notice = 1")
    assert ai_store.pending(store.vault.catalog) == []
    assert store.i9() == {"recordings"}


#: (field, edit, what the next sweep does): "kept" = the row is due, the sweep reads it,
#: keeps it and audits catalog.integrity; "hidden" = the edit takes it out of the due set,
#: so only fsck (I9, every row) can see it; "destroyed" = the intact recording is due and
#: takes its tampered artefact with it (retention wins, the edit gained nothing).
RETENTION = [
    ("expires_at", "UPDATE recordings SET expires_at = '2099-01-01T00:00:00.000000Z'", "kept"),
    ("expires_at of the call and its audio", "UPDATE recordings SET expires_at = "
     "'2099-01-01T00:00:00.000000Z'; UPDATE artefacts SET expires_at = "
     "'2099-01-01T00:00:00.000000Z'", "hidden"),
    ("state", "UPDATE recordings SET state = 'destroyed'", "destroyed"),
    ("legal_hold", "UPDATE recordings SET legal_hold = 1", "kept"),
    ("retention_class", "UPDATE recordings SET retention_class = 'regulated_5y'", "kept"),
    ("answered_at", "UPDATE recordings SET answered_at = '2031-01-01T00:00:00.000000Z'", "kept"),
    ("caller_digest", "UPDATE recordings SET caller_digest = NULL, caller_digest_version = NULL",
     "kept"),
    ("artefact expires_at", "UPDATE artefacts SET expires_at = '2099-01-01T00:00:00.000000Z'",
     "destroyed"),
    ("artefact state", "UPDATE artefacts SET state = 'destroyed'", "destroyed"),
]  # fmt: skip


@pytest.mark.parametrize("case", RETENTION, ids=[c[0] for c in RETENTION])
def test_an_edit_that_would_escape_retention_is_found_and_nothing_is_destroyed_on_trust(
    store: Store, case: tuple[str, str, str]
) -> None:
    name, statement, outcome = case
    store.sql(statement)
    table = "artefacts" if name.startswith("artefact") else "recordings"
    tables = {"recordings", "artefacts"} if "audio" in name else {table}
    assert store.i9() == tables  # fsck sees every kind of edit
    later = NOW + timedelta(days=400)  # long past the call's six months
    report = sweep(store.vault, classes=default_classes(), now=later)
    entries = [e.event for e in store.vault.audit.for_recording(store.recording_id)]
    integrity = [e for e in entries if e.action == "catalog.integrity"]
    if outcome == "kept":
        assert report.recordings_destroyed == 0
        assert report.blocked == {"catalog row failed its integrity check": 1}
        assert [(e.outcome, e.detail) for e in integrity] == [("denied", {"table": table})]
    elif outcome == "hidden":
        assert report.recordings_destroyed == 0 and integrity == []
    else:
        assert report.recordings_destroyed == 1
        assert store.vault.catalog.artefacts_for(store.recording_id)[0].state == "destroyed"


def test_a_hold_row_inserted_by_hand_holds_nothing(store: Store) -> None:
    store.sql("INSERT INTO holds (id, target, value, reason, placed_at, placed_by) VALUES "
              "('h1', 'agent', 'bjorn', 'forged', ?, 'lena')", encode_ts(NOW))  # fmt: skip
    assert holds.apply_standing(store.vault.catalog) == 0
    assert not holds.is_covered(store.vault.catalog, store.recording_id)
    assert store.i9() == {"holds"}
    report = sweep(store.vault, classes=default_classes(), now=NOW + timedelta(days=400))
    assert report.recordings_destroyed == 1  # the forged hold kept nothing


def test_a_genuine_change_after_a_forgery_does_not_launder_it(store: Store) -> None:
    store.sql("UPDATE recordings SET agent_id = 'carla'")
    store.vault.catalog.set_recording_flags(store.recording_id, restricted=True)  # via callrec
    assert store.vault.catalog.get_recording(store.recording_id).intact is False
    assert decision(store, CARLA) == (False, INTEGRITY_REASON)


def test_a_guard_copied_from_another_row_does_not_fit(
    store: Store, capturer: Capturer, make_call: MakeCall, rng: Rng
) -> None:
    other = capturer.capture(make_call(agent="carla"), now=NOW, rng=rng).recording_id
    store.sql("UPDATE recordings SET agent_id = 'carla', guard = (SELECT guard FROM recordings "
              "WHERE id = ?) WHERE id = ?", other, store.recording_id)  # fmt: skip
    assert decision(store, CARLA) == (False, INTEGRITY_REASON)


def test_every_intact_row_passes_and_legitimate_changes_keep_it_so(store: Store) -> None:
    catalog = store.vault.catalog
    catalog.set_recording_flags(store.recording_id, restricted=True)
    catalog.set_recording_flags(store.recording_id, restricted=False, legal_hold=True)
    holds.place(catalog, hold_id="h2", target="agent", value="bjorn", reason="case",
                now=NOW, placed_by="lena")  # fmt: skip
    holds.release(catalog, target="agent", value="bjorn", now=NOW, released_by="lena",
                  reason="closed")  # fmt: skip
    ai_store.set_optout(catalog, store.recording_id, at_ms=500)
    assert sealing.tampered(catalog) == []
    assert store.i9() == set()


# -- the migration that seals existing rows --------------------------------------------------


def test_the_guard_migration_seals_the_rows_of_an_older_catalog(
    tmp_path: Path, keyring_path: Path, rng: Rng
) -> None:
    from storage.catalog import DEFAULT_MIGRATIONS, SCHEMA_VERSION, Catalog
    from storage.catalog_schema import GUARD_VERSION
    from storage.errors import SchemaError
    from storage.keyring import FileKeyRing
    from tests.storage.test_catalog import recording

    home = tmp_path / "old"
    old = Catalog.open(home / DB_NAME, migrations=DEFAULT_MIGRATIONS[: GUARD_VERSION - 1])
    kept = recording(agent_id="anna")
    old.insert_recording(kept)  # a catalog of the previous version, with a row
    old.close()
    with pytest.raises(SchemaError, match="needs the keyring"):
        Catalog.open(home / DB_NAME)  # no key: upgrading would leave every row unverifiable
    vault = Vault.open(home, FileKeyRing.create(keyring_path, rng))
    try:
        assert vault.catalog.schema_version == SCHEMA_VERSION >= GUARD_VERSION
        assert vault.catalog.get_recording(kept.id).intact
        assert sealing.tampered(vault.catalog) == []
    finally:
        vault.close()
