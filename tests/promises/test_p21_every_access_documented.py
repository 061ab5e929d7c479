"""P21 - "Recorded calls are protected by strict access control, and every access is
documented." (bank, postal register)

How these tests prove it
------------------------
On the eight sample calls in a real store, every way a person can reach a recording is
used, as staff would use it, allowed and refused: listing, filtered listing, a number
search by the DPO (and a refused one by a manager), playing, downloading, playback grants
issued and used, and attempts with unknown recording ids. Then:

- every attempt left exactly one entry in the audit log, naming the person, their role,
  the action, the recording (when it exists), the purpose and the outcome with its reason;
- every action in the log is one of the documented audit events (``docs/audit-events.md``,
  generated from the code and checked against it), so a reader can look up what it means;
- ``callrec audit verify`` proves nobody edited the log afterwards;
- "strict": by default, nothing is allowed - an action the access table does not know, or
  a role without a grant for it, is refused.
"""

from __future__ import annotations

import json
from pathlib import Path

from recorder.access import allowed, principal_for
from recorder.audit_events import AuditAction
from recorder.grants import issue_grant, open_granted_playback
from tests.conftest import NOW
from tests.promises.conftest import ROOT, SAMPLE_NAMES, SampleStore


def test_every_access_leaves_exactly_one_documented_audit_entry(
    store: SampleStore, tmp_path: Path
) -> None:
    ids = store.ids
    expected: list[tuple[str, str, str | None, str]] = []  # (actor, action, call, outcome)

    def cli(actor: str, action: str, call: str | None, outcome: str, *args: str) -> None:
        result = store.cli(*args)
        assert result.exit_code == (0 if outcome == "allowed" else 3), (args, result.output)
        expected.append((actor, action, call, outcome))

    before = store.audit_size()
    cli("siri", "recording.list", None, "allowed", "calls", "list", "--as", "siri")
    cli("sven", "recording.list", None, "allowed",
        "calls", "list", "--as", "sven", "--agent", "dag", "--since", "2026-11-18")  # fmt: skip
    cli(
        "dpo1",
        "recording.search",
        None,
        "allowed",
        "calls",
        "list",
        "--as",
        "dpo1",
        "--purpose",
        "dsar",
        "--number",
        "+47 912 34 567",
    )
    cli(
        "siri",
        "recording.search",
        None,
        "denied",
        "calls",
        "list",
        "--as",
        "siri",
        "--purpose",
        "dispute",
        "--number",
        "+47 912 34 567",
    )
    for name in SAMPLE_NAMES[:4]:
        out = str(tmp_path / f"{name}.wav")
        mine = name in ("call-01", "call-02")
        cli("siri", "recording.play", ids[name], "allowed" if mine else "denied",
            "play", ids[name], "--as", "siri", "--purpose", "quality", "--out", out)  # fmt: skip
        cli(
            "siri",
            "recording.download",
            ids[name],
            "allowed" if mine else "denied",
            "download",
            ids[name],
            "--as",
            "siri",
            "--purpose",
            "dispute",
            "--out",
            out + "d",
        )
    cli("anna", "recording.download", ids["call-01"], "denied",
        "download", ids["call-01"], "--as", "anna", "--purpose", "quality",
        "--out", str(tmp_path / "a.wav"))  # fmt: skip
    cli("anna", "recording.play", None, "denied",
        "play", "0" * 31 + "g", "--as", "anna", "--purpose", "quality")  # fmt: skip
    anna = principal_for(store.config, "anna")
    token = issue_grant(store.vault, store.config, anna, ids["call-01"], now=NOW,
                        purpose="quality")  # fmt: skip
    expected.append(("anna", "grant.issue", ids["call-01"], "allowed"))
    open_granted_playback(store.vault, store.config, anna, ids["call-01"], token, now=NOW)
    expected.append(("anna", "recording.play", ids["call-01"], "allowed"))

    entries = [e.event for e in store.audit_since(before)]
    got = [(e.actor_id, e.action, e.recording_id, e.outcome) for e in entries]
    assert got == expected
    documented = {a.value for a in AuditAction}
    doc = (ROOT / "docs" / "audit-events.md").read_text(encoding="utf-8")
    for event in entries:
        assert event.action in documented and f"`{event.action}`" in doc
        assert event.actor_role in ("supervisor", "agent", "dpo")
        assert event.reason, "every decision carries its reason"
        if event.action in ("recording.play", "recording.download", "recording.search"):
            assert event.purpose is not None
    verify = store.cli("audit", "verify", "--json")
    assert verify.exit_code == 0, verify.output
    assert json.loads(verify.stdout)["size"] == store.audit_size()


def test_the_whole_log_of_a_working_day_is_documented(store: SampleStore, tmp_path: Path) -> None:
    """Captures, listings and plays so far: no action in the log lacks its documentation."""
    store.cli("calls", "list", "--as", "anna")
    store.play("call-01", "anna", tmp_path / "x.wav")
    documented = {a.value for a in AuditAction}
    assert {e.event.action for e in store.vault.audit.entries()} <= documented


def test_strict_by_default(store: SampleStore) -> None:
    call = store.recording("call-01")

    def decide(user: str, action: str) -> bool:
        who = principal_for(store.config, user)
        return allowed(store.config, who, action, call, purpose="quality").allowed

    for user in store.config.users:
        assert not decide(user, "delete"), user
        assert not decide(user, "PLAY"), user
    assert not decide("anna", "download") and not decide("anna", "export")
    assert not decide("admin1", "play") and not decide("qa1", "play")
