"""Signed, expiring playback grants: bound to one user and one recording, ≤ 15 minutes.

Issuing re-checks access and is audited; verifying rejects another user, another
recording, expiry, any tampering, an unknown version or a retired key, and the playback
behind a grant is decided and audited again.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import datetime, timedelta

import pytest

from recorder.access import principal_for
from recorder.capture import Capturer
from recorder.config import Config
from recorder.errors import AccessDenied, InvalidEvent, InvalidGrant
from recorder.grants import MAX_TTL, issue_grant, open_granted_playback, verify_grant
from storage.vault import Vault
from tests.recorder.conftest import BEFORE_MOVE, MakeCall

Rng = Callable[[int], bytes]


@pytest.fixture
def two_calls(capturer: Capturer, make_call: MakeCall, now: datetime, rng: Rng) -> list[str]:
    return [
        capturer.capture(make_call(agent=a, started_at=BEFORE_MOVE), now=now, rng=rng).recording_id
        for a in ("anna", "anna")
    ]


def test_a_grant_plays_its_range_for_its_user_until_it_expires(
    vault: Vault, config: Config, two_calls: list[str], now: datetime
) -> None:
    rid = two_calls[0]
    anna = principal_for(config, "anna")
    before = vault.audit.head()[0]
    token = issue_grant(vault, config, anna, rid, now=now, purpose="quality",
                        ttl=timedelta(minutes=5), start_ms=1000, duration_ms=2000)  # fmt: skip
    (issued,) = [e.event for e in vault.audit.entries(before + 1)]
    assert (issued.action, issued.outcome, issued.actor_id, issued.purpose) == (
        "grant.issue", "allowed", "anna", "quality",
    )  # fmt: skip
    assert token not in json.dumps(issued.detail) and issued.detail["expires_in_s"] == 300
    grant = verify_grant(vault.keyring, token, user="anna", recording=rid, now=now)
    assert (grant.start_ms, grant.duration_ms, grant.purpose) == (1000, 2000, "quality")
    assert grant.expires_at == now + timedelta(minutes=5)
    later = now + timedelta(minutes=4, seconds=59)
    playback = open_granted_playback(vault, config, anna, rid, token, now=later)
    assert (playback.start_ms, playback.duration_ms) == (1000, 2000)
    (played,) = [e.event for e in vault.audit.entries(before + 2)]
    assert (played.action, played.outcome, played.detail["start_ms"]) == (
        "recording.play", "allowed", 1000,
    )  # fmt: skip
    with pytest.raises(InvalidGrant) as expired:
        open_granted_playback(vault, config, anna, rid, token, now=now + timedelta(minutes=5))
    assert expired.value.reason == "expired"
    refused = list(vault.audit.entries())[-1].event
    assert (refused.outcome, refused.reason) == ("denied", "playback grant: expired")


def test_a_grant_cannot_be_used_by_another_user_or_for_another_recording(
    vault: Vault, config: Config, two_calls: list[str], now: datetime
) -> None:
    token = issue_grant(vault, config, principal_for(config, "anna"), two_calls[0],
                        now=now, purpose="quality")  # fmt: skip
    siri = principal_for(config, "siri")  # may play the call herself, but not with anna's grant
    with pytest.raises(InvalidGrant) as other_user:
        open_granted_playback(vault, config, siri, two_calls[0], token, now=now)
    assert other_user.value.reason == "other user"
    with pytest.raises(InvalidGrant) as other_call:
        verify_grant(vault.keyring, token, user="anna", recording=two_calls[1], now=now)
    assert other_call.value.reason == "other recording"
    with pytest.raises(InvalidGrant, match="not yet valid"):
        verify_grant(vault.keyring, token, user="anna", recording=two_calls[0],
                     now=now - timedelta(seconds=1))  # fmt: skip


def test_every_tampered_token_is_rejected(
    vault: Vault, config: Config, two_calls: list[str], now: datetime
) -> None:
    rid = two_calls[0]
    token = issue_grant(vault, config, principal_for(config, "anna"), rid, now=now,
                        purpose="quality")  # fmt: skip
    rejected = 0
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_."
    for i in range(len(token)):
        for repl in sorted(set(alphabet[i % 5 :: 5]) - {token[i]}):
            forged = token[:i] + repl + token[i + 1 :]
            with pytest.raises(InvalidGrant):
                verify_grant(vault.keyring, forged, user="anna", recording=rid, now=now)
            rejected += 1
    version, kek, payload, tag = token.split(".")
    body = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    for change in ({"u": "siri"}, {"exp": body["exp"] + 10**9}, {"r": two_calls[1]}):
        raw = json.dumps(body | change, sort_keys=True, separators=(",", ":")).encode()
        edited = base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
        with pytest.raises(InvalidGrant, match="bad signature"):
            verify_grant(vault.keyring, f"{version}.{kek}.{edited}.{tag}",
                         user=change.get("u", "anna"), recording=rid, now=now)  # fmt: skip
    for bad in ("", "g1", "g2." + token[3:], token + ".x", "é" * 10, "g1.x.y.z", "a" * 5000):
        with pytest.raises(InvalidGrant):
            verify_grant(vault.keyring, bad, user="anna", recording=rid, now=now)
    with pytest.raises(InvalidGrant, match="unsupported version"):
        verify_grant(vault.keyring, "g2" + token[2:], user="anna", recording=rid, now=now)
    assert rejected >= 12 * len(token)


def test_a_grant_dies_with_its_key(
    vault: Vault, config: Config, two_calls: list[str], now: datetime, rng: Rng
) -> None:
    rid = two_calls[0]
    token = issue_grant(vault, config, principal_for(config, "anna"), rid, now=now,
                        purpose="quality")  # fmt: skip
    vault.keyring.add_kek(rng)
    assert verify_grant(vault.keyring, token, user="anna", recording=rid, now=now)
    vault.keyring.retire_kek(1)
    with pytest.raises(InvalidGrant, match="bad signature"):
        verify_grant(vault.keyring, token, user="anna", recording=rid, now=now)


def test_issuing_rechecks_access_and_audits_refusals(
    vault: Vault, config: Config, two_calls: list[str], now: datetime
) -> None:
    rid = two_calls[0]
    before = vault.audit.head()[0]
    for user, purpose in (("carla", "quality"), ("admin1", "quality"), ("anna", "marketing")):
        with pytest.raises(AccessDenied):
            issue_grant(vault, config, principal_for(config, user), rid, now=now,
                        purpose=purpose)  # fmt: skip
    with pytest.raises(AccessDenied, match="no such recording"):
        issue_grant(vault, config, principal_for(config, "anna"), "0" * 32, now=now,
                    purpose="quality")  # fmt: skip
    entries = [e.event for e in vault.audit.entries(before + 1)]
    assert [(e.action, e.outcome, e.actor_id) for e in entries] == [
        ("grant.issue", "denied", "carla"),
        ("grant.issue", "denied", "admin1"),
        ("grant.issue", "denied", "anna"),
        ("grant.issue", "denied", "anna"),
    ]
    anna = principal_for(config, "anna")
    for ttl in (MAX_TTL + timedelta(seconds=1), timedelta(0), timedelta(minutes=-1)):
        with pytest.raises(InvalidEvent, match="ttl"):
            issue_grant(vault, config, anna, rid, now=now, purpose="quality", ttl=ttl)
    assert issue_grant(vault, config, anna, rid, now=now, purpose="quality", ttl=MAX_TTL)


def test_a_grant_does_not_outlive_a_change_of_access(
    vault: Vault, config: Config, two_calls: list[str], now: datetime
) -> None:
    """The playback behind a grant is decided again: restricting the call stops it."""
    rid = two_calls[0]
    anna = principal_for(config, "anna")
    token = issue_grant(vault, config, anna, rid, now=now, purpose="quality")
    vault.catalog.set_recording_flags(rid, restricted=True)
    with pytest.raises(AccessDenied, match="restricted"):
        open_granted_playback(vault, config, anna, rid, token, now=now)
