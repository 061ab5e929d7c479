"""A stored conversation as JSON or plain text, for the customer or for staff.

For the customer, advisors are shown as ``advisor`` without their user id (employee
identities are withheld, as in the consultation report); staff see ``advisor:<id>``.
The text is always the redacted text as stored: nothing here un-redacts anything.
"""

from __future__ import annotations

from typing import Any

from recorder.chat.model import ADVISOR, Conversation


def _who(sender: str, *, staff: bool) -> str:
    return sender if staff or not sender.startswith(ADVISOR) else ADVISOR


def as_dict(conv: Conversation, *, staff: bool) -> dict[str, Any]:
    """The conversation as a JSON-ready document."""
    return {
        "platform": conv.platform,
        "language": conv.language,
        "started_at": conv.started_at.isoformat(),
        "ended_at": None if conv.ended_at is None else conv.ended_at.isoformat(),
        "messages": [
            {"from": _who(ln.sender, staff=staff), "at": ln.at.isoformat(), "text": ln.text}
            for ln in conv.lines
        ],
        "events": [{"kind": str(kind), "at": at.isoformat()} for kind, at in conv.events],
    }


def as_text(conv: Conversation, *, staff: bool) -> str:
    """The conversation as plain text, one line per message or event, in time order."""
    rows: list[tuple[str, str]] = [
        (ln.at.isoformat(), f"{_who(ln.sender, staff=staff)}: {ln.text}") for ln in conv.lines
    ]
    rows += [(at.isoformat(), f"-- {kind} --") for kind, at in conv.events]
    rows.sort(key=lambda r: r[0])
    body = "\n".join(f"{at[:19].replace('T', ' ')} UTC  {text}" for at, text in rows)
    return f"Chat ({conv.platform}, {conv.language})\n{body}\n"
