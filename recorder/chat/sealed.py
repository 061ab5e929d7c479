"""Reading and writing a chat's encrypted artefacts: the conversation and the contact details.

One job: move a chat's JSON documents in and out of the vault. Sealing happens outside any
transaction (:meth:`Vault.seal`); :func:`retire` destroys a superseded artefact's key
inside the caller's transaction, with its ``artefact.shred`` receipt, so a new version and
the end of the old one commit together. Reads are bounded (:data:`MAX_PLAINTEXT`) and
every read authenticates (a tampered blob is the opaque integrity error).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Final

from recorder.audit_events import record
from recorder.chat.model import Contact, Conversation
from recorder.errors import InvalidChat
from storage.errors import BlobError
from storage.models import Artefact, ArtefactKind, State
from storage.vault import Vault

MAX_PLAINTEXT: Final = 64 * 1024 * 1024
TEXT_KINDS: Final = (ArtefactKind.CHAT, ArtefactKind.CHAT_HISTORY)
ACTOR: Final = ("ingest:chat", "system")


def live(vault: Vault, recording_id: str, kind: ArtefactKind) -> Artefact | None:
    """The live artefact of ``kind`` of a chat, or None."""
    found = vault.catalog.artefact_by_kind(recording_id, kind)
    return found if found is not None and found.state is State.AVAILABLE else None


def read_bytes(vault: Vault, artefact: Artefact) -> bytes:
    """The whole plaintext of a (small) artefact, authenticated."""
    if artefact.plaintext_size > MAX_PLAINTEXT:
        raise InvalidChat("stored chat: too large to read")
    with vault.open_artefact(artefact.id) as reader:
        return b"".join(reader.read_range(0))


def read_conversation(
    vault: Vault, recording_id: str, kinds: tuple[ArtefactKind, ...] = TEXT_KINDS
) -> Conversation | None:
    """The conversation from the first live artefact of ``kinds`` (None: none left)."""
    for kind in kinds:
        artefact = live(vault, recording_id, kind)
        if artefact is not None:
            return Conversation.from_json(read_bytes(vault, artefact))
    return None


def read_contact(vault: Vault, recording_id: str) -> Contact | None:
    """The contact details given in the queue, or None."""
    artefact = live(vault, recording_id, ArtefactKind.CHAT_CONTACT)
    if artefact is None:
        return None
    try:
        doc: Any = json.loads(read_bytes(vault, artefact))
        return Contact(name=doc.get("name"), email=doc.get("email"), phone=doc.get("phone"))
    except (ValueError, AttributeError):
        raise InvalidChat("stored contact: unreadable") from None


def contact_json(contact: Contact) -> bytes:
    """The sealed form of contact details."""
    return json.dumps(contact.as_dict(), ensure_ascii=False).encode("utf-8")


def retire(vault: Vault, artefact: Artefact, *, now: datetime, reason: str) -> None:
    """Crypto-shred a superseded artefact inside the caller's transaction (receipt included).

    The caller checkpoints the WAL and deletes the blob after the commit (:func:`drop_blobs`).
    """
    vault.catalog.destroy_key(artefact.id)
    vault.catalog.set_artefact_state(artefact.id, State.DESTROYED)
    record(
        vault.audit,
        ACTOR,
        "artefact.shred",
        now=now,
        outcome="ok",
        recording_id=artefact.recording_id,
        artefact=str(artefact.kind),
        reason=reason,
    )


def drop_blobs(vault: Vault, artefacts: list[Artefact]) -> None:
    """After a commit that retired ``artefacts``: checkpoint the WAL, delete their blobs."""
    if not artefacts:
        return
    vault.catalog.checkpoint()
    for artefact in artefacts:
        try:
            vault.blobs.delete(artefact.id)
        except BlobError:  # best effort: the key is gone, the bytes are noise; fsck removes them
            pass
