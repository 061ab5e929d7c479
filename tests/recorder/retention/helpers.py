"""Helpers for the retention tests: recordings with real sealed artefacts, fast.

Rows are inserted through the real catalog and the artefacts sealed with the real
streaming format (small payloads), so what the sweep shreds is a real key; the fast
variant keeps blobs in memory so thousands of recordings take a second, not minutes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path

from recorder.retention import RetentionClass, derived_expiry, expiry
from storage.audit import AuditLog
from storage.blobs import MemoryBlobStore
from storage.catalog import Catalog
from storage.keyring import MemoryKeyRing
from storage.models import ArtefactKind, LookupDigest, NewRecording, Rng, State
from storage.vault import Vault, new_id


def memory_vault(path: Path, rng: Rng) -> Vault:
    """A real SQLite catalog + audit chain, with blobs and keyring in memory."""
    catalog = Catalog.open(path)
    return Vault(
        catalog=catalog,
        blobs=MemoryBlobStore(),
        keyring=MemoryKeyRing.generate(rng),
        audit=AuditLog(catalog.connection),
    )


def add_call(
    vault: Vault,
    *,
    start: datetime,
    cls: RetentionClass,
    rng: Rng,
    now: datetime | None = None,
    derived: Sequence[tuple[ArtefactKind, RetentionClass]] = (),
    agent: str = "anna",
    digest: str | None = None,
    payload: bytes = b"RIFF fake audio",
) -> str:
    """Store one available recording of class ``cls`` with its audio (and derived artefacts).

    Must run inside an open catalog transaction or on its own (each statement commits).
    Derived artefacts live min(own class, parent) from ``start``.
    """
    rid = new_id(rng)
    created = now or start
    parent = expiry(cls, start)
    vault.catalog.insert_recording(
        NewRecording(
            id=rid,
            provider="test",
            provider_id=rid,
            started_at=start,
            answered_at=start,
            ended_at=start + timedelta(minutes=2),
            duration_ms=120_000,
            service_number=None,
            caller_display="+47 9** ** ***" if digest else "withheld",
            caller_digest=None if digest is None else LookupDigest(pepper_version=1, digest=digest),
            agent_id=agent,
            team_id=None,
            channels=1,
            retention_class=cls.name,
            expires_at=parent,
            created_at=created,
        )
    )
    vault.store_artefact(
        rid, ArtefactKind.AUDIO, [payload], now=created, rng=rng, expires_at=parent
    )
    for kind, own in derived:
        vault.store_artefact(
            rid,
            kind,
            [b"derived " + kind.encode()],
            now=created,
            rng=rng,
            expires_at=derived_expiry(own, start, parent),
        )
    vault.catalog.set_recording_state(rid, State.AVAILABLE)
    return rid


def live_kinds(vault: Vault, rid: str) -> set[str]:
    """Kinds of the recording's artefacts that are not destroyed."""
    return {str(a.kind) for a in vault.catalog.artefacts_for(rid) if a.state is not State.DESTROYED}


def classes_named(classes: Mapping[str, RetentionClass], *names: str) -> list[RetentionClass]:
    """The classes by name, in order."""
    return [classes[n] for n in names]


def assert_kept_then_destroyed(
    vault: Vault,
    classes: Mapping[str, RetentionClass],
    rid: str,
    deadline: datetime,
) -> None:
    """Sweep one second before ``deadline`` (all kept, all decrypt), then at it (all gone)."""
    from recorder.sweep import sweep
    from storage.errors import GoneError

    sweep(vault, classes=classes, now=deadline - timedelta(seconds=1))
    assert vault.catalog.get_recording(rid).state is State.AVAILABLE
    arts = vault.catalog.artefacts_for(rid)
    for art in arts:
        vault.verify_artefact(art.id)
    sweep(vault, classes=classes, now=deadline)
    assert vault.catalog.get_recording(rid).state is State.DESTROYED
    for art in arts:
        assert not vault.blobs.exists(art.id)
        try:
            vault.catalog.get_wrapped_key(art.id)
        except GoneError:
            continue
        raise AssertionError("a destroyed artefact kept its key")
