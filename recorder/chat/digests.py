"""Keyed digests for everything of a chat that identifies someone or something outside callrec.

Why: the platform's conversation and message ids, the logged-in customer's id and the
contact e-mail must let callrec find a chat again (idempotent ingest, data-subject
requests, the online bank's history) without being stored: they may be phone numbers,
national ids or addresses. Each is HMAC-SHA256 under the keyring's versioned lookup
pepper (the recipe of caller numbers, :func:`storage.crypto.lookup_digest`), with a
domain prefix so a digest of one kind never equals one of another kind.
"""

from __future__ import annotations

from storage.crypto import lookup_digest
from storage.keyring import KeyRing
from storage.models import LookupDigest
from transcribe.identifiers import normalise_email


def _one(keyring: KeyRing, version: int, domain: str, value: str) -> str:
    return lookup_digest(keyring.pepper(version), f"{domain}:{value}")


def _versions(keyring: KeyRing) -> list[int]:
    return list(range(1, keyring.active_pepper_version() + 1))


def conversation_digests(keyring: KeyRing, platform: str, conversation_id: str) -> list[str]:
    """The provider id a conversation may be stored under: active pepper first, then older."""
    return [
        "cv" + _one(keyring, v, "chat-conversation", f"{platform}\x1f{conversation_id}")[:40]
        for v in reversed(_versions(keyring))
    ]


def item_digest(keyring: KeyRing, recording_id: str, item_id: str) -> str:
    """A message or event id as stored for idempotency (per chat, active pepper)."""
    version = keyring.active_pepper_version()
    return _one(keyring, version, "chat-item", f"{recording_id}\x1f{item_id}")[:40]


def customer_digest(keyring: KeyRing, customer_id: str) -> LookupDigest:
    """The logged-in customer's id as stored (active pepper)."""
    version = keyring.active_pepper_version()
    return LookupDigest(
        pepper_version=version, digest=_one(keyring, version, "customer", customer_id)
    )


def customer_digests(keyring: KeyRing, customer_id: str) -> list[tuple[int, str]]:
    """The customer's digest under every pepper version (to find older chats too)."""
    return [(v, _one(keyring, v, "customer", customer_id)) for v in _versions(keyring)]


def email_digest(keyring: KeyRing, email: str) -> LookupDigest | None:
    """A contact e-mail as stored (normalised, active pepper); None if it is not an address."""
    normal = normalise_email(email)
    if normal is None:
        return None
    version = keyring.active_pepper_version()
    return LookupDigest(pepper_version=version, digest=_one(keyring, version, "email", normal))


def email_digests(keyring: KeyRing, email: str) -> list[tuple[int, str]] | None:
    """The e-mail's digest under every pepper version; None if it is not an address."""
    normal = normalise_email(email)
    if normal is None:
        return None
    return [(v, _one(keyring, v, "email", normal)) for v in _versions(keyring)]
