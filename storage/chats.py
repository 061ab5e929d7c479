"""Chat rows: the conversation's metadata, seen item ids, self-service secrets, DPO requests.

One job: the SQL behind ``recorder.chat`` (issue 17), run through
:meth:`Catalog.rows`/:meth:`Catalog.one`/:meth:`Catalog.change` so it shares the catalog's
connection, transactions and error translation. The tables are in
:mod:`storage.schema_chat`; the text of a chat lives only in encrypted artefacts.

Digests (customer id, e-mail, item ids, the secret) are computed by the recorder with the
keyring's lookup pepper; this module only stores and compares them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from storage import sealing
from storage.catalog import Catalog, Row
from storage.catalog_schema import decode_ts, encode_ts
from storage.errors import NotFoundError, SchemaError
from storage.models import ArtefactKind, LookupDigest, State

PHASES = ("bot", "advisor", "complaint")
_CHUNK = 400


@dataclass(frozen=True, slots=True, kw_only=True)
class ChatRow:
    """One conversation's metadata (no text, no contact detail, no full IP)."""

    recording_id: str
    platform: str
    language: str
    phase: str
    last_at: datetime
    ended_at: datetime | None
    messages: int
    bot_questions: int
    handovers: int
    topics: tuple[str, ...]
    customer_digest: LookupDigest | None
    email_digest: LookupDigest | None
    ip_prefix: str | None
    analysis_until: datetime
    visible_until: datetime | None


@dataclass(frozen=True, slots=True, kw_only=True)
class SecretRow:
    """A chat's self-service secret as stored: its keyed digest and life."""

    recording_id: str
    digest: str
    pepper_version: int
    delivery: str
    issued_at: datetime
    expires_at: datetime
    spent_at: datetime | None


@dataclass(frozen=True, slots=True, kw_only=True)
class ChatRequest:
    """A customer's deletion request waiting for (or done by) the DPO."""

    id: str
    recording_id: str
    requested_at: datetime
    state: str
    done_at: datetime | None
    done_by: str | None


def _ts(value: str | None, what: str) -> datetime:
    parsed = decode_ts(value)
    if parsed is None:
        raise SchemaError(f"chat row without {what}")
    return parsed


def _digest(row: Row, name: str) -> LookupDigest | None:
    value = row[name]
    return (
        None if value is None else LookupDigest(pepper_version=row[f"{name}_version"], digest=value)
    )


def _chat(row: Row) -> ChatRow:
    try:
        return ChatRow(
            recording_id=row["recording_id"],
            platform=row["platform"],
            language=row["language"],
            phase=row["phase"],
            last_at=_ts(row["last_at"], "last_at"),
            ended_at=decode_ts(row["ended_at"]),
            messages=int(row["messages"]),
            bot_questions=int(row["bot_questions"]),
            handovers=int(row["handovers"]),
            topics=tuple(t for t in str(row["topics"]).split(",") if t),
            customer_digest=_digest(row, "customer_digest"),
            email_digest=_digest(row, "email_digest"),
            ip_prefix=row["ip_prefix"],
            analysis_until=_ts(row["analysis_until"], "analysis_until"),
            visible_until=decode_ts(row["visible_until"]),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise SchemaError("catalog holds an unreadable chat row") from exc


def _params(chat: ChatRow) -> dict[str, object]:
    cust, email = chat.customer_digest, chat.email_digest
    return {
        "recording_id": chat.recording_id,
        "platform": chat.platform,
        "language": chat.language,
        "phase": chat.phase,
        "last_at": encode_ts(chat.last_at),
        "ended_at": encode_ts(chat.ended_at),
        "messages": chat.messages,
        "bot_questions": chat.bot_questions,
        "handovers": chat.handovers,
        "topics": ",".join(chat.topics),
        "customer_digest": None if cust is None else cust.digest,
        "customer_digest_version": None if cust is None else cust.pepper_version,
        "email_digest": None if email is None else email.digest,
        "email_digest_version": None if email is None else email.pepper_version,
        "ip_prefix": chat.ip_prefix,
        "analysis_until": encode_ts(chat.analysis_until),
        "visible_until": encode_ts(chat.visible_until),
    }


def put_chat(catalog: Catalog, chat: ChatRow) -> None:
    """Insert or replace the chat row of ``chat.recording_id`` (joins an open transaction)."""
    params = _params(chat)
    names = ", ".join(params)
    marks = ", ".join(f":{n}" for n in params)
    catalog.change(
        "storing a chat",
        f"INSERT OR REPLACE INTO chats ({names}) VALUES ({marks})",  # noqa: S608
        params,
    )


def get_chat(catalog: Catalog, recording_id: str) -> ChatRow | None:
    """The chat row of a recording, or None if it is not a chat."""
    row = catalog.one(
        "reading a chat", "SELECT * FROM chats WHERE recording_id = ?", (recording_id,)
    )
    return None if row is None else _chat(row)


def all_chats(
    catalog: Catalog, *, since: datetime | None = None, until: datetime | None = None
) -> list[tuple[ChatRow, State, datetime]]:
    """Every chat with its recording's state and start, oldest first, in ``[since, until)``."""
    rows = catalog.rows(
        "listing chats",
        "SELECT c.*, r.state AS r_state, r.started_at AS r_started FROM chats c "
        "JOIN recordings r ON r.id = c.recording_id "
        "WHERE (?1 IS NULL OR r.started_at >= ?1) AND (?2 IS NULL OR r.started_at < ?2) "
        "ORDER BY r.started_at, r.id",
        (encode_ts(since), encode_ts(until)),
    )
    return [(_chat(r), State(r["r_state"]), _ts(r["r_started"], "a start")) for r in rows]


def seen_items(catalog: Catalog, recording_id: str, digests: Sequence[str]) -> set[str]:
    """Which of ``digests`` (message and event ids) this chat already stored."""
    found: set[str] = set()
    for i in range(0, len(digests), _CHUNK):
        chunk = list(digests[i : i + _CHUNK])
        marks = ",".join("?" * len(chunk))
        rows = catalog.rows(
            "reading chat items",
            f"SELECT item_digest FROM chat_items WHERE recording_id = ? "  # noqa: S608
            f"AND item_digest IN ({marks})",
            (recording_id, *chunk),
        )
        found.update(str(r["item_digest"]) for r in rows)
    return found


def add_items(catalog: Catalog, recording_id: str, digests: Iterable[str]) -> None:
    """Record message and event ids as stored (a duplicate is ignored)."""
    for digest in digests:
        catalog.change(
            "recording a chat item",
            "INSERT OR IGNORE INTO chat_items (recording_id, item_digest) VALUES (?, ?)",
            (recording_id, digest),
        )


def set_class(
    catalog: Catalog,
    recording_id: str,
    *,
    retention_class: str,
    expires_at: datetime,
    artefact_expiry: Mapping[ArtefactKind, datetime],
) -> None:
    """Move a chat to another class: the recording's class and expiry, and each live
    artefact kind's own expiry (joins an open transaction)."""
    with sealing.guarded(catalog, "recordings", sealing.by_id([recording_id])):
        count = catalog.change(
            "changing a chat's class",
            "UPDATE recordings SET retention_class = ?, expires_at = ? WHERE id = ?",
            (retention_class, encode_ts(expires_at), recording_id),
        )
    if count == 0:
        raise NotFoundError("recording not found")
    for kind, at in artefact_expiry.items():
        live = catalog.rows(
            "finding a chat's artefacts",
            "SELECT id FROM artefacts WHERE recording_id = ? AND kind = ? AND state != 'destroyed'",
            (recording_id, ArtefactKind(kind).value),
        )
        with sealing.guarded(catalog, "artefacts", sealing.by_id(r["id"] for r in live)):
            catalog.change(
                "changing a chat artefact's expiry",
                "UPDATE artefacts SET expires_at = ? WHERE recording_id = ? AND kind = ? "
                "AND state != 'destroyed'",
                (encode_ts(at), recording_id, ArtefactKind(kind).value),
            )


def update_recording(
    catalog: Catalog,
    recording_id: str,
    *,
    agent_id: str | None,
    team_id: str | None,
    caller_display: str,
    caller_digest: LookupDigest | None,
    ended_at: datetime | None,
) -> None:
    """A chat's recording row after a later delivery: who handles it, the masked contact
    number (if one was given in the queue) and when it ended (joins an open transaction)."""
    with sealing.guarded(catalog, "recordings", sealing.by_id([recording_id])):
        catalog.change(
            "updating a chat's recording",
            "UPDATE recordings SET agent_id = ?, team_id = ?, caller_display = ?, "
            "caller_digest = ?, caller_digest_version = ?, ended_at = ? WHERE id = ?",
            (
                agent_id,
                team_id,
                caller_display,
                None if caller_digest is None else caller_digest.digest,
                None if caller_digest is None else caller_digest.pepper_version,
                encode_ts(ended_at),
                recording_id,
            ),
        )


def ids_by_digest(catalog: Catalog, column: str, digests: Sequence[tuple[int, str]]) -> list[str]:
    """Chats whose ``customer_digest`` or ``email_digest`` is one of ``(version, digest)``."""
    if column not in ("customer_digest", "email_digest"):
        raise ValueError("column must be customer_digest or email_digest")
    ids: list[str] = []
    for version, digest in digests:
        rows = catalog.rows(
            "finding chats by digest",
            f"SELECT recording_id FROM chats WHERE {column} = ? "  # noqa: S608
            f"AND {column}_version = ?",
            (digest, version),
        )
        ids += [str(r["recording_id"]) for r in rows]
    return list(dict.fromkeys(ids))


# -- self-service secrets ----------------------------------------------------------------


def _secret(row: Row) -> SecretRow:
    return SecretRow(
        recording_id=row["recording_id"],
        digest=row["digest"],
        pepper_version=int(row["pepper_version"]),
        delivery=row["delivery"],
        issued_at=_ts(row["issued_at"], "an issue time"),
        expires_at=_ts(row["expires_at"], "an expiry"),
        spent_at=decode_ts(row["spent_at"]),
    )


def put_secret(catalog: Catalog, secret: SecretRow) -> None:
    """Store (or replace: a re-issue) a chat's secret digest."""
    catalog.change(
        "storing a chat secret",
        "INSERT OR REPLACE INTO chat_secrets (recording_id, digest, pepper_version, delivery, "
        "issued_at, expires_at, spent_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (
            secret.recording_id,
            secret.digest,
            secret.pepper_version,
            secret.delivery,
            encode_ts(secret.issued_at),
            encode_ts(secret.expires_at),
            encode_ts(secret.spent_at),
        ),
    )


def get_secret(catalog: Catalog, recording_id: str) -> SecretRow | None:
    """The secret row of a chat, or None."""
    row = catalog.one(
        "reading a chat secret",
        "SELECT * FROM chat_secrets WHERE recording_id = ?",
        (recording_id,),
    )
    return None if row is None else _secret(row)


def spend_secret(catalog: Catalog, recording_id: str, *, now: datetime) -> None:
    """Mark a chat's secret as used up (a delete); using it again is refused."""
    catalog.change(
        "spending a chat secret",
        "UPDATE chat_secrets SET spent_at = coalesce(spent_at, ?) WHERE recording_id = ?",
        (encode_ts(now), recording_id),
    )


# -- deletion requests for the DPO -------------------------------------------------------


def _request(row: Row) -> ChatRequest:
    return ChatRequest(
        id=row["id"],
        recording_id=row["recording_id"],
        requested_at=_ts(row["requested_at"], "a request time"),
        state=row["state"],
        done_at=decode_ts(row["done_at"]),
        done_by=row["done_by"],
    )


def add_request(catalog: Catalog, request_id: str, recording_id: str, *, now: datetime) -> None:
    """File a customer's deletion request for the DPO."""
    catalog.change(
        "filing a chat deletion request",
        "INSERT INTO chat_requests (id, recording_id, requested_at, state) "
        "VALUES (?, ?, ?, 'open')",
        (request_id, recording_id, encode_ts(now)),
    )


def requests(catalog: Catalog, *, state: str | None = "open") -> list[ChatRequest]:
    """Deletion requests (``state`` None: all), oldest first."""
    rows = catalog.rows(
        "listing chat deletion requests",
        "SELECT * FROM chat_requests WHERE ?1 IS NULL OR state = ?1 ORDER BY requested_at, id",
        (state,),
    )
    return [_request(r) for r in rows]


def close_requests(catalog: Catalog, recording_id: str, *, now: datetime, by: str) -> int:
    """Mark every open request of a chat done; how many were open."""
    return catalog.change(
        "closing chat deletion requests",
        "UPDATE chat_requests SET state = 'done', done_at = ?, done_by = ? "
        "WHERE recording_id = ? AND state = 'open'",
        (encode_ts(now), by, recording_id),
    )
