"""The chat tables (issue 17), as one forward migration appended to ``MIGRATIONS``.

SQL strings only (run by :mod:`storage.catalog`; used by :mod:`storage.chats`). A chat is a
``recordings`` row (provider ``chat``, provider id = a keyed digest of the platform's
conversation id), so retention, holds, restriction, erasure and the audit trail treat it
exactly like a call; these tables hold what only a chat has.

- ``chats``: one row per conversation: platform, language, phase (``bot`` → ``advisor`` →
  ``complaint``), counts (messages, bot questions, handovers), the configured topic names,
  the customer id and the contact e-mail as keyed digests (never in clear), the IP address
  truncated to its /24 or /48 network (or NULL), when the analysis copy ends and until
  when a logged-in customer sees the chat in their history.
- ``chat_items``: keyed digests of the message and event ids already stored, so a
  redelivered batch adds nothing (idempotency on message ids).
- ``chat_secrets``: the customer's self-service secret of a chat, as a keyed digest only;
  when it was issued, by which delivery (a digest of its webhook id), when it expires and
  when it was spent (a delete uses it up).
- ``chat_requests``: deletions a customer asked for that go through the DPO (advisor
  chats), open until the DPO acts.
- a trigger clears a chat's IP prefix when its recording is destroyed (swept or erased).

No column holds message text, a contact detail, a full IP address or a customer id.
"""

from __future__ import annotations

V_CHAT: tuple[str, ...] = (
    """
    CREATE TABLE chats (
        recording_id             TEXT PRIMARY KEY REFERENCES recordings (id) ON DELETE RESTRICT,
        platform                 TEXT NOT NULL CHECK (length(platform) BETWEEN 1 AND 32),
        language                 TEXT NOT NULL,
        phase                    TEXT NOT NULL CHECK (phase IN ('bot', 'advisor', 'complaint')),
        last_at                  TEXT NOT NULL,
        ended_at                 TEXT,
        messages                 INTEGER NOT NULL DEFAULT 0 CHECK (messages >= 0),
        bot_questions            INTEGER NOT NULL DEFAULT 0 CHECK (bot_questions >= 0),
        handovers                INTEGER NOT NULL DEFAULT 0 CHECK (handovers >= 0),
        topics                   TEXT NOT NULL DEFAULT '',
        customer_digest          TEXT,
        customer_digest_version  INTEGER,
        email_digest             TEXT,
        email_digest_version     INTEGER,
        ip_prefix                TEXT CHECK (ip_prefix IS NULL OR length(ip_prefix) <= 64),
        analysis_until           TEXT NOT NULL,
        visible_until            TEXT,
        CHECK ((customer_digest IS NULL) = (customer_digest_version IS NULL)),
        CHECK ((email_digest IS NULL) = (email_digest_version IS NULL))
    ) STRICT
    """,
    "CREATE INDEX chats_customer ON chats (customer_digest)",
    "CREATE INDEX chats_email ON chats (email_digest)",
    """
    CREATE TABLE chat_items (
        recording_id  TEXT NOT NULL REFERENCES recordings (id) ON DELETE RESTRICT,
        item_digest   TEXT NOT NULL,
        PRIMARY KEY (recording_id, item_digest)
    ) STRICT, WITHOUT ROWID
    """,
    """
    CREATE TABLE chat_secrets (
        recording_id    TEXT PRIMARY KEY REFERENCES recordings (id) ON DELETE RESTRICT,
        digest          TEXT NOT NULL,
        pepper_version  INTEGER NOT NULL CHECK (pepper_version >= 1),
        delivery        TEXT NOT NULL,
        issued_at       TEXT NOT NULL,
        expires_at      TEXT NOT NULL,
        spent_at        TEXT
    ) STRICT
    """,
    """
    CREATE TABLE chat_requests (
        id            TEXT PRIMARY KEY,
        recording_id  TEXT NOT NULL REFERENCES recordings (id) ON DELETE RESTRICT,
        requested_at  TEXT NOT NULL,
        state         TEXT NOT NULL CHECK (state IN ('open', 'done')),
        done_at       TEXT,
        done_by       TEXT,
        CHECK ((state = 'done') = (done_at IS NOT NULL))
    ) STRICT
    """,
    "CREATE INDEX chat_requests_state ON chat_requests (state)",
    # a destroyed chat (swept or erased) keeps no trace of where it came from
    """
    CREATE TRIGGER chats_forget_ip AFTER UPDATE OF state ON recordings
    WHEN NEW.state = 'destroyed'
    BEGIN
        UPDATE chats SET ip_prefix = NULL WHERE recording_id = NEW.id;
    END
    """,
)
