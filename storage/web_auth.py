"""Rows of the web app's sign-in: password hashes, sessions, failed sign-ins, OIDC flows.

One job: read and write the :mod:`storage.schema_web` tables through the catalog's
``rows``/``one``/``change`` (no ``sqlite3`` here). What a session *means* (timeouts, roles,
who may sign in) is decided in ``recorder.web.ui``; this module never sees a principal,
a configuration, a password or a session token - only the token's SHA-256 and the
password's argon2id hash.

Writers join the caller's transaction when one is open (the recorder wraps a sign-in's
rows and its audit entry in one ``with catalog.transaction():``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from storage.catalog import Catalog, Row
from storage.catalog_schema import decode_ts, encode_ts
from storage.errors import SchemaError

METHODS = frozenset({"password", "oidc"})


@dataclass(frozen=True, slots=True, kw_only=True)
class WebSession:
    """A signed-in browser (``id_sha256`` is the SHA-256 of its cookie, hex)."""

    id_sha256: str = field(repr=False)
    user_id: str
    roles: frozenset[str]
    method: str
    created_at: datetime
    seen_at: datetime
    ended_at: datetime | None = None
    end_reason: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class OidcFlow:
    """An OpenID Connect sign-in waiting for its callback."""

    nonce: str = field(repr=False)
    code_verifier: str = field(repr=False)
    created_at: datetime


def _ts(value: str | None) -> datetime:
    parsed = decode_ts(value)
    if parsed is None:
        raise SchemaError("web table holds a missing timestamp")
    return parsed


def _session(row: Row) -> WebSession:
    if row["method"] not in METHODS:
        raise SchemaError("web table holds an unknown sign-in method")
    return WebSession(
        id_sha256=row["id_sha256"],
        user_id=row["user_id"],
        roles=frozenset(r for r in str(row["roles"]).split(",") if r),
        method=row["method"],
        created_at=_ts(row["created_at"]),
        seen_at=_ts(row["seen_at"]),
        ended_at=decode_ts(row["ended_at"]),
        end_reason=row["end_reason"],
    )


class WebAuthStore:
    """The web sign-in tables on one catalog connection."""

    def __init__(self, catalog: Catalog) -> None:
        self._catalog = catalog

    # -- local accounts -------------------------------------------------------------------

    def set_password_hash(self, user_id: str, password_hash: str, *, now: datetime) -> bool:
        """Store (or replace) a user's argon2id hash; True if one was replaced."""
        replaced = self.password_hash(user_id) is not None
        self._catalog.change(
            "setting a password",
            "INSERT INTO web_accounts (user_id, password_hash, updated_at) VALUES (?, ?, ?) "
            "ON CONFLICT (user_id) DO UPDATE SET password_hash = excluded.password_hash, "
            "updated_at = excluded.updated_at",
            (user_id, password_hash, encode_ts(now)),
        )
        return replaced

    def password_hash(self, user_id: str) -> str | None:
        """The user's stored hash, or None when they have no local account."""
        row = self._catalog.one(
            "reading a password hash",
            "SELECT password_hash FROM web_accounts WHERE user_id = ?",
            (user_id,),
        )
        return None if row is None else str(row["password_hash"])

    # -- sessions -------------------------------------------------------------------------

    def create_session(self, session: WebSession) -> None:
        """Insert a new, live session."""
        bad = [r for r in session.roles if not r or "," in r]
        if session.method not in METHODS or bad:
            raise ValueError("session method or role names are not storable")
        self._catalog.change(
            "starting a web session",
            "INSERT INTO web_sessions (id_sha256, user_id, roles, method, created_at, seen_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (
                session.id_sha256,
                session.user_id,
                ",".join(sorted(session.roles)),
                session.method,
                encode_ts(session.created_at),
                encode_ts(session.seen_at),
            ),
        )

    def session(self, id_sha256: str) -> WebSession | None:
        """The session with this token digest (live or ended), or None."""
        row = self._catalog.one(
            "reading a web session", "SELECT * FROM web_sessions WHERE id_sha256 = ?", (id_sha256,)
        )
        return None if row is None else _session(row)

    def touch(self, id_sha256: str, *, now: datetime) -> None:
        """Record activity on a live session (the idle timeout counts from here)."""
        self._catalog.change(
            "touching a web session",
            "UPDATE web_sessions SET seen_at = ? WHERE id_sha256 = ? AND ended_at IS NULL",
            (encode_ts(now), id_sha256),
        )

    def end_session(self, id_sha256: str, *, now: datetime, reason: str) -> bool:
        """End a live session (sign-out, timeout); True if it was live."""
        count = self._catalog.change(
            "ending a web session",
            "UPDATE web_sessions SET ended_at = ?, end_reason = ? "
            "WHERE id_sha256 = ? AND ended_at IS NULL",
            (encode_ts(now), reason, id_sha256),
        )
        return count > 0

    def end_user_sessions(self, user_id: str, *, now: datetime, reason: str) -> int:
        """End every live session of a user (e.g. after a password change); how many."""
        return self._catalog.change(
            "ending a user's web sessions",
            "UPDATE web_sessions SET ended_at = ?, end_reason = ? "
            "WHERE user_id = ? AND ended_at IS NULL",
            (encode_ts(now), reason, user_id),
        )

    def purge_sessions(self, *, ended_before: datetime, started_before: datetime) -> int:
        """Delete sessions that ended before ``ended_before`` or started before
        ``started_before`` (past any absolute timeout); how many."""
        return self._catalog.change(
            "purging web sessions",
            "DELETE FROM web_sessions WHERE (ended_at IS NOT NULL AND ended_at < ?) "
            "OR created_at < ?",
            (encode_ts(ended_before), encode_ts(started_before)),
        )

    # -- failed sign-ins ------------------------------------------------------------------

    def add_failure(self, key_mac: str, *, at: datetime) -> None:
        """Count one failed sign-in against ``key_mac`` (a keyed MAC, hex)."""
        self._catalog.change(
            "recording a failed sign-in",
            "INSERT INTO web_login_failures (key_mac, at) VALUES (?, ?)",
            (key_mac, encode_ts(at)),
        )

    def failures_since(self, key_mac: str, since: datetime) -> int:
        """How many failed sign-ins ``key_mac`` had at or after ``since``."""
        row = self._catalog.one(
            "counting failed sign-ins",
            "SELECT count(*) AS n FROM web_login_failures WHERE key_mac = ? AND at >= ?",
            (key_mac, encode_ts(since)),
        )
        return 0 if row is None else int(row["n"])

    def clear_failures(self, key_mac: str) -> None:
        """Forget ``key_mac``'s failures (after a successful sign-in)."""
        self._catalog.change(
            "clearing failed sign-ins",
            "DELETE FROM web_login_failures WHERE key_mac = ?",
            (key_mac,),
        )

    def purge_failures(self, *, before: datetime) -> int:
        """Delete failures older than any throttling window; how many."""
        return self._catalog.change(
            "purging failed sign-ins",
            "DELETE FROM web_login_failures WHERE at < ?",
            (encode_ts(before),),
        )

    # -- OpenID Connect flows -------------------------------------------------------------

    def add_flow(self, state_sha256: str, flow: OidcFlow) -> None:
        """Remember a sign-in sent to the identity provider, by the digest of its state."""
        self._catalog.change(
            "starting an OIDC sign-in",
            "INSERT INTO web_oidc_flows (state_sha256, nonce, code_verifier, created_at) "
            "VALUES (?, ?, ?, ?)",
            (state_sha256, flow.nonce, flow.code_verifier, encode_ts(flow.created_at)),
        )

    def take_flow(self, state_sha256: str) -> OidcFlow | None:
        """The flow for this state digest, deleted as it is read (single use), or None."""
        row = self._catalog.one(
            "reading an OIDC sign-in",
            "SELECT * FROM web_oidc_flows WHERE state_sha256 = ?",
            (state_sha256,),
        )
        if row is None:
            return None
        self._catalog.change(
            "finishing an OIDC sign-in",
            "DELETE FROM web_oidc_flows WHERE state_sha256 = ?",
            (state_sha256,),
        )
        return OidcFlow(
            nonce=row["nonce"],
            code_verifier=row["code_verifier"],
            created_at=_ts(row["created_at"]),
        )

    def purge_flows(self, *, before: datetime) -> int:
        """Delete flows started before ``before`` (abandoned sign-ins); how many."""
        return self._catalog.change(
            "purging OIDC sign-ins",
            "DELETE FROM web_oidc_flows WHERE created_at < ?",
            (encode_ts(before),),
        )
