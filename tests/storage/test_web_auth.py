"""The web sign-in tables: hashes by user, sessions by token digest, failures, OIDC flows.

The catalog's CHECK constraints refuse what must never be stored (a password that is not an
argon2id hash, a session key that is not a digest); sessions end once; flows are single use;
purges remove only what is stale.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest

from storage.errors import CatalogError
from storage.vault import Vault
from storage.web_auth import OidcFlow, WebAuthStore, WebSession
from tests.conftest import NOW

HASH = "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2g"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _session(token: str, user: str = "anna", **kw: object) -> WebSession:
    fields: dict[str, object] = dict(
        id_sha256=_digest(token), user_id=user, roles=frozenset({"agent"}), method="password",
        created_at=NOW, seen_at=NOW,
    )  # fmt: skip
    fields.update(kw)
    return WebSession(**fields)  # type: ignore[arg-type]


def test_password_hashes_are_argon2id_only_and_replaced_in_place(vault: Vault) -> None:
    store = WebAuthStore(vault.catalog)
    assert store.password_hash("anna") is None
    assert store.set_password_hash("anna", HASH, now=NOW) is False
    assert store.set_password_hash("anna", HASH + "x", now=NOW) is True
    assert store.password_hash("anna") == HASH + "x"
    with pytest.raises(CatalogError):
        store.set_password_hash("bjorn", "plain text password", now=NOW)
    with pytest.raises(CatalogError):
        store.set_password_hash("bjorn", "$argon2i$v=19$m=8,t=1,p=1$c2FsdA$aGFzaA", now=NOW)


def test_sessions_are_found_by_digest_touched_and_ended_once(vault: Vault) -> None:
    store = WebAuthStore(vault.catalog)
    store.create_session(_session("t1"))
    store.create_session(_session("t2", roles=frozenset({"agent", "qa_reviewer"})))
    found = store.session(_digest("t2"))
    assert found is not None and found.roles == {"agent", "qa_reviewer"}
    assert "id_sha256" not in repr(found)
    store.touch(_digest("t1"), now=NOW + timedelta(minutes=3))
    assert store.session(_digest("t1")).seen_at == NOW + timedelta(minutes=3)  # type: ignore[union-attr]
    assert store.end_session(_digest("t1"), now=NOW, reason="signed out") is True
    assert store.end_session(_digest("t1"), now=NOW, reason="signed out") is False
    store.touch(_digest("t1"), now=NOW + timedelta(hours=1))  # an ended session stays ended
    ended = store.session(_digest("t1"))
    assert (
        ended is not None
        and ended.end_reason == "signed out"
        and ended.seen_at != NOW + timedelta(hours=1)
    )
    assert store.end_user_sessions("anna", now=NOW, reason="password changed") == 1
    with pytest.raises(CatalogError):
        store.create_session(_session("t3", id_sha256="short"))
    with pytest.raises(ValueError):
        store.create_session(_session("t4", roles=frozenset({"a,b"})))


def test_purges_remove_only_stale_rows(vault: Vault) -> None:
    store = WebAuthStore(vault.catalog)
    store.create_session(_session("old", created_at=NOW - timedelta(days=3)))
    store.create_session(_session("live"))
    store.add_failure("a" * 64, at=NOW - timedelta(hours=1))
    store.add_failure("a" * 64, at=NOW)
    assert store.failures_since("a" * 64, NOW - timedelta(minutes=15)) == 1
    assert store.purge_sessions(ended_before=NOW, started_before=NOW - timedelta(days=1)) == 1
    assert store.session(_digest("live")) is not None
    assert store.purge_failures(before=NOW - timedelta(minutes=15)) == 1
    store.clear_failures("a" * 64)
    assert store.failures_since("a" * 64, NOW - timedelta(days=1)) == 0


def test_oidc_flows_are_single_use(vault: Vault) -> None:
    store = WebAuthStore(vault.catalog)
    flow = OidcFlow(nonce="n", code_verifier="v" * 43, created_at=NOW)
    store.add_flow(_digest("state"), flow)
    assert "v" * 43 not in repr(flow)
    assert store.take_flow(_digest("state")) == flow
    assert store.take_flow(_digest("state")) is None
    store.add_flow(_digest("stale"), OidcFlow(nonce="n", code_verifier="v", created_at=NOW))
    assert store.purge_flows(before=NOW + timedelta(minutes=11)) == 1
