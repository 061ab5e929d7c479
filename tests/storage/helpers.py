"""Test helpers for storage: recording rows and raw file scans."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from pathlib import Path

from storage.models import NewRecording
from storage.vault import Vault


def add_recording(vault: Vault, recording_id: str, now: datetime) -> None:
    """Insert a minimal recording row (no number: withheld caller)."""
    vault.catalog.insert_recording(
        NewRecording(
            id=recording_id,
            provider="test",
            provider_id=recording_id,
            started_at=now,
            answered_at=now,
            ended_at=now + timedelta(seconds=30),
            duration_ms=30_000,
            service_number=None,
            caller_display="withheld",
            caller_digest=None,
            agent_id="agent-1",
            team_id="team-1",
            channels=1,
            retention_class="standard_6m",
            expires_at=None,
            created_at=now,
        )
    )


def files_under(*roots: Path, suffixes: Iterable[str] | None = None) -> list[Path]:
    """Every regular file below the roots (optionally only those ending in a suffix)."""
    wanted = tuple(suffixes) if suffixes is not None else None
    found = []
    for root in roots:
        for path in root.rglob("*"):
            if path.is_file() and (wanted is None or path.name.endswith(wanted)):
                found.append(path)
    return found


def count_hits(paths: Iterable[Path], needles: Iterable[bytes]) -> int:
    """How many times any needle occurs in the raw bytes of any file."""
    needles = list(needles)
    total = 0
    for path in paths:
        data = path.read_bytes()
        total += sum(data.count(n) for n in needles)
    return total
