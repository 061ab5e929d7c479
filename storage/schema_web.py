"""The web app's tables (issue 16): local accounts, sign-in sessions, throttling, OIDC flows.

SQL strings only, so :mod:`storage.catalog_schema` can append them to ``MIGRATIONS``
without importing the store that uses them (:mod:`storage.web_auth`).

- ``web_accounts``: one argon2id password hash (PHC string) per user id of the org chart.
  Never a password, never a hash of anything but the password.
- ``web_sessions``: a signed-in browser. The row is keyed by the SHA-256 of the session
  token, never the token: a copy of the database cannot be replayed as a cookie. It holds
  who, which roles the sign-in granted (intersected with the org chart again on every
  request), how (``password`` or ``oidc``), when it started and was last seen (idle and
  absolute timeouts are computed from these two) and, once ended, when and why.
- ``web_login_failures``: failed sign-ins for throttling, keyed by a keyed MAC of the name
  typed (or of the client address), never the name itself: a caller's number typed into
  the user field must not land in the catalog (I7).
- ``web_oidc_flows``: an OpenID Connect sign-in between the redirect to the identity
  provider and its callback: the SHA-256 of ``state``, the nonce and the PKCE verifier.
  Taken (deleted) by the callback; stale ones are purged.
"""

from __future__ import annotations

V_WEB: tuple[str, ...] = (
    """
    CREATE TABLE web_accounts (
        user_id        TEXT PRIMARY KEY CHECK (length(user_id) BETWEEN 1 AND 64),
        password_hash  TEXT NOT NULL CHECK (substr(password_hash, 1, 10) = '$argon2id$'),
        updated_at     TEXT NOT NULL
    ) STRICT
    """,
    """
    CREATE TABLE web_sessions (
        id_sha256   TEXT PRIMARY KEY CHECK (length(id_sha256) = 64),
        user_id     TEXT NOT NULL CHECK (length(user_id) BETWEEN 1 AND 64),
        roles       TEXT NOT NULL,
        method      TEXT NOT NULL CHECK (method IN ('password', 'oidc')),
        created_at  TEXT NOT NULL,
        seen_at     TEXT NOT NULL,
        ended_at    TEXT,
        end_reason  TEXT,
        CHECK ((ended_at IS NULL) = (end_reason IS NULL))
    ) STRICT
    """,
    "CREATE INDEX web_sessions_user ON web_sessions (user_id)",
    """
    CREATE TABLE web_login_failures (
        key_mac  TEXT NOT NULL CHECK (length(key_mac) = 64),
        at       TEXT NOT NULL
    ) STRICT
    """,
    "CREATE INDEX web_login_failures_key ON web_login_failures (key_mac, at)",
    """
    CREATE TABLE web_oidc_flows (
        state_sha256   TEXT PRIMARY KEY CHECK (length(state_sha256) = 64),
        nonce          TEXT NOT NULL,
        code_verifier  TEXT NOT NULL,
        created_at     TEXT NOT NULL
    ) STRICT
    """,
)
