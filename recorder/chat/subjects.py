"""Who a data-subject request is about: a phone number, a contact e-mail or a customer id.

Calls are found by their caller's number only; chats also by the e-mail given in the
advisor queue and by the logged-in customer's id. :class:`SubjectKey` names one of these,
and :func:`chat_ids` turns the e-mail or customer id into its keyed digests (every pepper
version) and returns the chats stored under them. The identifier exists only in memory here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from recorder.chat import digests
from recorder.errors import InvalidEvent
from storage import chats
from storage.vault import Vault


@dataclass(frozen=True, slots=True, kw_only=True)
class SubjectKey:
    """Exactly one of ``number``, ``email`` or ``customer`` (kept out of ``repr``)."""

    number: str | None = field(default=None, repr=False)
    email: str | None = field(default=None, repr=False)
    customer: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        given = [v for v in (self.number, self.email, self.customer) if v is not None]
        if len(given) != 1:
            raise InvalidEvent("give exactly one of --number, --email, --customer")


def chat_ids(vault: Vault, key: SubjectKey) -> list[str]:
    """Chats stored under the key's e-mail or customer id (a number: none here; the caller
    digest on the recording row finds those)."""
    if key.email is not None:
        found = digests.email_digests(vault.keyring, key.email)
        if found is None:
            raise InvalidEvent("--email: not an e-mail address")
        return chats.ids_by_digest(vault.catalog, "email_digest", found)
    if key.customer is not None:
        if not key.customer.strip() or len(key.customer) > 128:
            raise InvalidEvent("--customer: expected a customer id")
        found = digests.customer_digests(vault.keyring, key.customer.strip())
        return chats.ids_by_digest(vault.catalog, "customer_digest", found)
    return []
