"""Shared fixtures: controlled time and randomness, and a real store in a temp dir."""

from __future__ import annotations

import logging
import os
import random
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import settings

from storage.keyring import FileKeyRing
from storage.vault import Vault

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


@pytest.fixture
def now() -> datetime:
    """A fixed, timezone-aware instant: tests never read the wall clock."""
    return NOW


@pytest.fixture
def rng() -> Callable[[int], bytes]:
    """Deterministic randomness (seeded per test)."""
    return random.Random(1234).randbytes


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A data dir path (not yet created)."""
    return tmp_path / "data"


@pytest.fixture
def keyring_path(tmp_path: Path) -> Path:
    """A keyring path outside the data dir, as in production."""
    return tmp_path / "keys" / "keyring.json"


@pytest.fixture
def vault(home: Path, keyring_path: Path, rng: Callable[[int], bytes]) -> Iterator[Vault]:
    """A real store: SQLite catalog, file blobs, file keyring, audit chain."""
    keyring = FileKeyRing.create(keyring_path, rng)
    v = Vault.open(home, keyring)
    try:
        yield v
    finally:
        v.close()


# Hypothesis in CI: derandomised, so a run is reproducible and a red build is never a
# coin toss; explore freely locally with HYPOTHESIS_PROFILE=dev.
settings.register_profile("ci", derandomize=True, print_blob=True)
settings.register_profile("dev", print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(autouse=True)
def _no_lingering_log_redaction() -> Iterator[None]:
    """The CLI installs the number-redacting filter on every root handler (pytest's too).

    Remove it after each test, so a later test that inspects raw log text sees raw text.
    """
    yield
    from recorder.logredact import NumberRedactingFilter

    for handler in [*logging.getLogger().handlers, logging.lastResort]:
        if handler is None:
            continue
        for f in list(handler.filters):
            if isinstance(f, NumberRedactingFilter):
                handler.removeFilter(f)


@pytest.fixture(autouse=True)
def _only_documented_audit_events(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    """Every audit entry the recorder writes is a documented action with a documented outcome.

    ``docs/audit-events.md`` is what a DPO reads to understand the log (P21); watching
    every append of every recorder-level test keeps the documentation true, where a scan
    for string literals would miss actions built at run time. Storage-layer tests append
    arbitrary test actions on purpose and are not watched.
    """
    if "tests/storage" in request.node.path.as_posix():
        yield
        return
    from recorder.audit_events import EVENTS, AuditAction
    from storage.audit import AuditLog
    from storage.models import AuditEvent

    undocumented: list[str] = []
    append = AuditLog.append

    def watched(self: AuditLog, event: AuditEvent) -> object:
        try:
            doc = EVENTS[AuditAction(event.action)]
        except ValueError:
            undocumented.append(f"action {event.action!r}")
        else:
            if event.outcome not in doc.outcomes:
                undocumented.append(f"outcome {event.outcome!r} of {event.action!r}")
        return append(self, event)

    monkeypatch.setattr(AuditLog, "append", watched)
    yield
    assert not undocumented, (
        f"undocumented audit events (recorder/audit_events.py): {sorted(set(undocumented))}"
    )


# Tests on real model output carry the marker ``model``, so `make kernels` can run them again
# under every CTranslate2 kernel set. The mark is given here, from what a test module uses
# (the real engine, or the shared real-pipeline run), so a new model test cannot forget it.
_REAL_MODEL_USE = re.compile(r"\bWhisperEngine\b|\btests\.recorder\.ai\.real\b|\bai_samples\b")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    seen: dict[Path, bool] = {}
    for item in items:
        path = item.path
        if path not in seen:
            seen[path] = bool(_REAL_MODEL_USE.search(path.read_text("utf-8")))
        if seen[path]:
            item.add_marker(pytest.mark.model)
