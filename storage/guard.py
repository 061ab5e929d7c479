"""Integrity MACs over the catalog rows that access and retention decisions read.

Whoever can write ``catalog.db`` could otherwise grant themselves a call (set
``agent_id``, clear ``restricted``, add a participant or a QA assignment, move
``started_at`` into another team's period) or let a call escape retention (``expires_at``
in 2099, ``legal_hold`` or ``state`` edited, a hold row inserted) while ``fsck`` and
``audit verify`` stayed clean. Each such row therefore carries ``guard``: HMAC-SHA256,
under a key derived from the keyring, of the row's decision fields *and its own id*
(so a MAC cannot be moved to another row):

================== =================================================================
row                fields under the MAC (besides its id)
================== =================================================================
recordings         agent_id, team_id, every participant (sorted), restricted,
                   legal_hold, started_at, answered_at, expires_at, retention_class,
                   state, caller_digest (+ version), ai_notice, ai_opted_out,
                   ai_optout_at_ms
artefacts          recording_id, kind, state, expires_at
qa_assignments     reviewer_id, recording_id, sample_id
ai_samples         recording_id, reviewer_id, drawn_at
holds              target, value, placed_at, placed_by, released_at, released_by
================== =================================================================

The key is HKDF-SHA256 of the keyring's audit signing seed with its own label
(``callrec catalog guard v1``): an integrity key like the checkpoint key, never rotated
with the KEKs (so a rotation never has to re-seal the catalog), and never the seed itself.

How it is used (``storage.catalog``): rows are sealed when code writes them; a row read for
a decision comes back with ``intact=False`` when its MAC does not match, and every
decision denies on that (``recorder.access``, ``recorder.retention``); changes go through
``Catalog.guarded`` so only rows that were intact before a change are re-sealed after it
(a tampered row is never laundered by a later legitimate update); ``fsck`` checks all of
them (invariant I9). A database with no key attached cannot vouch for anything, so its
rows read as not intact.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from storage.crypto import derive_mac_key, mac

INFO = b"callrec catalog guard v1"
#: Separator of the participants ``group_concat`` (ASCII unit separator).
PARTICIPANT_SEP = "\x1f"

_Fields = Callable[[Mapping[str, Any]], Sequence[Any]]


def _participants(row: Mapping[str, Any]) -> list[str]:
    value = row.get("participants")
    return sorted(value.split(PARTICIPANT_SEP)) if value else []


#: Table -> (primary key column(s), the fields under the MAC, in a fixed order).
FIELDS: Mapping[str, tuple[tuple[str, ...], _Fields]] = {
    "recordings": (("id",), lambda r: [
        r["agent_id"], r["team_id"], _participants(r), r["restricted"], r["legal_hold"],
        r["started_at"], r["answered_at"], r["expires_at"], r["retention_class"], r["state"],
        r["caller_digest"], r["caller_digest_version"], r["ai_notice"], r["ai_opted_out"],
        r["ai_optout_at_ms"],
    ]),
    "artefacts": (("id",), lambda r: [r["recording_id"], r["kind"], r["state"], r["expires_at"]]),
    "qa_assignments": (("reviewer_id", "recording_id"), lambda r: [r["sample_id"]]),
    "ai_samples": (("recording_id", "reviewer_id"), lambda r: [r["drawn_at"]]),
    "holds": (("id",), lambda r: [
        r["target"], r["value"], r["placed_at"], r["placed_by"], r["released_at"],
        r["released_by"],
    ]),
}  # fmt: skip
TABLES = tuple(FIELDS)


class Guard:
    """Computes and checks the ``guard`` MAC of rows (see the module docstring)."""

    __slots__ = ("_key",)

    def __init__(self, key: bytes) -> None:
        self._key = key

    @classmethod
    def from_seed(cls, audit_signing_seed: bytes) -> Guard:
        """The guard of a keyring, from its audit signing seed (HKDF, own label)."""
        return cls(derive_mac_key(audit_signing_seed, info=INFO))

    def __repr__(self) -> str:
        return "Guard(**********)"

    def seal(self, table: str, row: Mapping[str, Any]) -> str:
        """The MAC (hex) a row of ``table`` must carry."""
        keys, fields = FIELDS[table]
        message = json.dumps(
            [table, [row[k] for k in keys], list(fields(row))],
            separators=(",", ":"),
            ensure_ascii=False,
        )
        return mac(self._key, message.encode("utf-8")).hex()

    def intact(self, table: str, row: Mapping[str, Any]) -> bool:
        """True if the row carries its own correct MAC (constant-time comparison)."""
        stored = row.get("guard")
        if not isinstance(stored, str):
            return False
        try:
            expected = self.seal(table, row)
        except (KeyError, TypeError, ValueError):
            return False
        return hmac.compare_digest(stored, expected)
