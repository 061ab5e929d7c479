"""Signed, expiring playback grants: a short-lived ticket for one user and one recording.

For the web UI: the page that decides "anna may play this call" hands the browser a token,
and the audio endpoint later checks the token instead of re-deriving the whole session.
A grant is *not* a bypass of access control: :func:`issue_grant` decides (and audits)
exactly like playback does, and :func:`open_granted_playback` decides and audits again,
so a grant never outlives a change of the org chart by more than its ``ttl``.

Token (version ``g1``)::

    g1.<kek version>.<base64url(payload JSON)>.<base64url(HMAC-SHA256 tag)>

- payload: ``{"u": user id, "r": recording id, "p": purpose, "iat": µs, "exp": µs,
  "s": start ms, "d": duration ms or null}``; user ids are employee ids, never a
  customer's data, but the payload is only signed, not encrypted.
- tag = HMAC-SHA256(grant key, ``g1.<kek version>.<payload>``); the grant key is
  HKDF-SHA256(KEK of that version, info ``callrec playback grant v1``), so grants die with a
  retired KEK and never expose the KEK itself.
- ``ttl`` is at most 15 minutes; verification compares the tag in constant time *before*
  reading the payload, then checks user, recording and expiry.

Refusals raise :class:`InvalidGrant` (an :class:`AccessDenied`, exit 3) with a fixed
reason: ``malformed``, ``unsupported version``, ``bad signature``, ``other user``,
``other recording``, ``expired``, ``not yet valid``.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from recorder.access import Action, Assignments, Principal, allowed
from recorder.audit_events import AuditAction, access_event
from recorder.config import Config
from recorder.errors import AccessDenied, InvalidEvent, InvalidGrant
from recorder.playback import PURPOSE, RECORDING_ID, Playback, open_playback
from storage import safejson
from storage.crypto import derive_mac_key, mac, verify_mac
from storage.errors import IntegrityError, KeyringError, MalformedJson, NotFoundError
from storage.keyring import KeyRing
from storage.models import ArtefactKind, State
from storage.vault import Vault

VERSION = "g1"
MAX_TTL = timedelta(minutes=15)
_INFO = b"callrec playback grant v1"
_MAX_TOKEN = 2048
_TOKEN_JSON = safejson.JsonLimits(max_bytes=_MAX_TOKEN, max_depth=2)


@dataclass(frozen=True, slots=True, kw_only=True)
class Grant:
    """What a verified token says: who may play what, why, until when, which range."""

    user_id: str
    recording_id: str
    purpose: str
    issued_at: datetime
    expires_at: datetime
    start_ms: int = 0
    duration_ms: int | None = None


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise InvalidGrant("malformed") from None
    if _b64(raw) != text:  # one spelling per token: no malleable padding bits
        raise InvalidGrant("malformed")
    return raw


def _us(at: datetime) -> int:
    return int((at - datetime(1970, 1, 1, tzinfo=UTC)) / timedelta(microseconds=1))


def _at(us: int) -> datetime:
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=us)


def _key(keyring: KeyRing, version: int) -> bytes:
    return derive_mac_key(keyring.kek(version), info=_INFO)


def sign_grant(keyring: KeyRing, grant: Grant) -> str:
    """The token for ``grant`` under the active KEK (no access check: use :func:`issue_grant`)."""
    version = keyring.active_kek_version()
    payload = json.dumps(
        {
            "u": grant.user_id,
            "r": grant.recording_id,
            "p": grant.purpose,
            "iat": _us(grant.issued_at),
            "exp": _us(grant.expires_at),
            "s": grant.start_ms,
            "d": grant.duration_ms,
        },
        sort_keys=True,
        separators=(",", ":"),
    ).encode("utf-8")
    signed = f"{VERSION}.{version}.{_b64(payload)}"
    return f"{signed}.{_b64(mac(_key(keyring, version), signed.encode('ascii')))}"


def _payload(raw: bytes) -> Grant:
    try:
        data = safejson.loads(raw, limits=_TOKEN_JSON)
        grant = Grant(
            user_id=str(data["u"]),
            recording_id=str(data["r"]),
            purpose=str(data["p"]),
            issued_at=_at(int(data["iat"])),
            expires_at=_at(int(data["exp"])),
            start_ms=int(data["s"]),
            duration_ms=None if data["d"] is None else int(data["d"]),
        )
    except (MalformedJson, ValueError, KeyError, TypeError, OverflowError):
        raise InvalidGrant("malformed") from None
    return grant


def verify_grant(
    keyring: KeyRing, token: str, *, user: str, recording: str, now: datetime
) -> Grant:
    """The grant ``token`` carries, if it is genuine, unexpired and for ``user``/``recording``.

    Raises :class:`InvalidGrant` otherwise (see the module docstring for the reasons).
    """
    if not isinstance(token, str) or len(token) > _MAX_TOKEN or not token.isascii():
        raise InvalidGrant("malformed")
    parts = token.split(".")
    if len(parts) != 4:
        raise InvalidGrant("malformed")
    version_tag, kek_text, payload_b64, tag_b64 = parts
    if version_tag != VERSION:
        raise InvalidGrant("unsupported version")
    if not kek_text.isdigit() or len(kek_text) > 9:
        raise InvalidGrant("malformed")
    try:
        key = _key(keyring, int(kek_text))
    except KeyringError:
        raise InvalidGrant("bad signature") from None
    signed = f"{version_tag}.{kek_text}.{payload_b64}".encode("ascii")
    try:
        verify_mac(key, signed, _unb64(tag_b64))
    except IntegrityError:
        raise InvalidGrant("bad signature") from None
    grant = _payload(_unb64(payload_b64))
    if grant.user_id != user:
        raise InvalidGrant("other user")
    if grant.recording_id != recording:
        raise InvalidGrant("other recording")
    if now < grant.issued_at:
        raise InvalidGrant("not yet valid")
    if now >= grant.expires_at:
        raise InvalidGrant("expired")
    return grant


def issue_grant(
    vault: Vault,
    config: Config,
    principal: Principal,
    recording_id: str,
    *,
    now: datetime,
    purpose: str,
    ttl: timedelta = MAX_TTL,
    start_ms: int = 0,
    duration_ms: int | None = None,
    assignments: Assignments | None = None,
) -> str:
    """Decide like playback, audit ``grant.issue`` (allowed or denied), then sign a token.

    :class:`InvalidEvent` for a ttl outside (0, 15 min], a malformed purpose or range;
    :class:`AccessDenied` when the principal may not play the recording (audited).
    """
    if not timedelta(0) < ttl <= MAX_TTL:
        raise InvalidEvent("ttl: must be more than 0 and at most 15 minutes")
    if not PURPOSE.fullmatch(purpose):
        raise InvalidEvent("purpose: expected a purpose code such as quality or dispute")
    if start_ms < 0 or (duration_ms is not None and duration_ms < 0):
        raise InvalidEvent("range: start and duration must not be negative")
    detail: dict[str, int | str] = {"expires_in_s": int(ttl.total_seconds()), "start_ms": start_ms}
    if duration_ms is not None:
        detail["duration_ms"] = duration_ms
    recording = None
    if RECORDING_ID.fullmatch(recording_id):
        try:
            recording = vault.catalog.get_recording(recording_id)
        except NotFoundError:
            recording = None
    if recording is None or recording.state is not State.AVAILABLE:
        reason = "no such recording" if recording is None else "recording is gone"
        decision_allowed = False
    else:
        decision = allowed(
            config, principal, Action.PLAY, recording, purpose=purpose, assignments=assignments
        )
        decision_allowed, reason = decision.allowed, decision.reason
    vault.audit.append(
        access_event(
            AuditAction.GRANT_ISSUE,
            principal,
            ts=now,
            allowed=decision_allowed,
            reason=reason,
            recording_id=recording_id if RECORDING_ID.fullmatch(recording_id) else None,
            artefact=ArtefactKind.AUDIO,
            purpose=purpose,
            detail=detail,
        )
    )
    if not decision_allowed:
        if recording is None or recording.state is not State.AVAILABLE:
            raise AccessDenied("no such recording, or not yours to play")
        raise AccessDenied(reason)
    grant = Grant(
        user_id=principal.user_id,
        recording_id=recording_id,
        purpose=purpose,
        issued_at=now,
        expires_at=now + ttl,
        start_ms=start_ms,
        duration_ms=duration_ms,
    )
    return sign_grant(vault.keyring, grant)


def open_granted_playback(
    vault: Vault,
    config: Config,
    principal: Principal,
    recording_id: str,
    token: str,
    *,
    now: datetime,
    assignments: Assignments | None = None,
) -> Playback:
    """Verify ``token`` for this principal and recording, then play its range.

    The playback itself is decided and audited again by :func:`open_playback` (the org
    chart may have changed since the grant was issued). A refused token is audited as a
    denied play with the grant's refusal reason.
    """
    try:
        grant = verify_grant(
            vault.keyring, token, user=principal.user_id, recording=recording_id, now=now
        )
    except InvalidGrant as exc:
        vault.audit.append(
            access_event(
                AuditAction.PLAY,
                principal,
                ts=now,
                allowed=False,
                reason=f"playback grant: {exc.reason}",
                recording_id=recording_id if RECORDING_ID.fullmatch(recording_id) else None,
                artefact=ArtefactKind.AUDIO,
                detail={"grant": 1},
            )
        )
        raise
    return open_playback(
        vault,
        config,
        principal,
        recording_id,
        purpose=grant.purpose,
        now=now,
        start_ms=grant.start_ms,
        duration_ms=grant.duration_ms,
        assignments=assignments,
    )
