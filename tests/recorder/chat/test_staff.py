"""Staff access to chats through the access table, every attempt audited once.

Advisors see the chats they took part in; supervisors their team's at chat time; the DPO
and legal with their purpose only; QA and admin never read a chat's text; the contact
details only the advisor handling the follow-up. Restricted chats: DPO/legal only.
Chats never appear in ``calls list``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest

from recorder.access import principal_for
from recorder.chat import staff
from recorder.config import Config
from recorder.errors import AccessDenied
from recorder.listing import CallFilter, list_calls
from storage.vault import Vault
from tests.recorder.chat.helpers import T0, advisor_chat, bot_chat, doc, event, ingest, msg

Rng = Callable[[int], bytes]
NOW = T0 + timedelta(hours=1)


@pytest.fixture
def ids(vault: Vault, config: Config, rng: Rng) -> dict[str, str]:
    shared = doc(
        "c-shared",
        [
            msg("m1", "customer", "hei"),
            msg("m2", "advisor:anna", "hei", 1),
            msg("m3", "advisor:bjorn", "overtar", 2),
        ],
        events=[event("handover", 0.5, advisor="anna")],
    )
    return {
        "bot": ingest(vault, config, bot_chat("c-b"), now=NOW, rng=rng).chat_id,
        "anna": ingest(vault, config, advisor_chat("c-a"), now=NOW, rng=rng).chat_id,
        "bjorn": ingest(
            vault, config, advisor_chat("c-j", advisor="bjorn"), now=NOW, rng=rng
        ).chat_id,
        "shared": ingest(vault, config, shared, now=NOW, rng=rng).chat_id,
    }


def _listed(vault: Vault, config: Config, user: str, purpose: str | None = None) -> set[str]:
    principal = principal_for(config, user)
    return {c.chat_id for c in staff.list_chats(vault, config, principal, now=NOW, purpose=purpose)}


def test_who_lists_which_chats(vault: Vault, config: Config, ids: dict[str, str]) -> None:
    assert _listed(vault, config, "anna") == {ids["anna"], ids["shared"]}
    assert _listed(vault, config, "bjorn") == {ids["bjorn"], ids["shared"]}
    assert _listed(vault, config, "siri") == {ids["anna"], ids["shared"]}
    assert _listed(vault, config, "sven") == {ids["bjorn"], ids["shared"]}
    assert _listed(vault, config, "qa1") == set()
    assert _listed(vault, config, "admin1") == set(ids.values())  # metadata only
    assert _listed(vault, config, "dpo1", "dsar") == set(ids.values())
    assert _listed(vault, config, "dpo1") == set()  # no purpose, no chats
    assert _listed(vault, config, "legal1", "legal") == set(ids.values())


@pytest.mark.parametrize(
    ("user", "chat", "purpose", "ok"),
    [
        ("anna", "anna", None, True),
        ("anna", "bjorn", None, False),
        ("bjorn", "shared", None, True),
        ("siri", "anna", None, True),
        ("siri", "bjorn", None, False),
        ("qa1", "bot", None, False),
        ("admin1", "anna", None, False),
        ("dpo1", "anna", "dsar", True),
        ("dpo1", "anna", "legal", False),
        ("legal1", "bot", "legal", True),
        ("anna", "anna", "marketing", False),
    ],
)
def test_who_reads_which_chat(
    vault: Vault,
    config: Config,
    ids: dict[str, str],
    user: str,
    chat: str,
    purpose: str | None,
    ok: bool,
) -> None:
    principal = principal_for(config, user)
    before = vault.audit.verify().size
    if ok:
        conv = staff.show_chat(vault, config, principal, ids[chat], now=NOW, purpose=purpose)
        assert conv.lines
    else:
        with pytest.raises(AccessDenied):
            staff.show_chat(vault, config, principal, ids[chat], now=NOW, purpose=purpose)
    (entry,) = list(vault.audit.entries())[before:]
    assert entry.event.action == "chat.view"
    assert entry.event.outcome == ("allowed" if ok else "denied")


def test_contact_details_only_for_the_advisor_handling_the_follow_up(
    vault: Vault, config: Config, ids: dict[str, str]
) -> None:
    anna = principal_for(config, "anna")
    found = staff.show_contact(vault, config, anna, ids["anna"], now=NOW)
    assert found is not None and found.phone == "+47 912 34 567"
    for user, purpose in (("siri", None), ("bjorn", None), ("dpo1", "dsar"), ("legal1", "legal")):
        with pytest.raises(AccessDenied):
            staff.show_contact(
                vault, config, principal_for(config, user), ids["anna"], now=NOW, purpose=purpose
            )
    # in a shared chat the advisor who took the handover handles it, not the one who joined
    with pytest.raises(AccessDenied):
        staff.show_contact(vault, config, principal_for(config, "bjorn"), ids["shared"], now=NOW)
    staff.show_contact(vault, config, anna, ids["shared"], now=NOW)
    actions = [e.event.action for e in vault.audit.entries() if e.event.action == "chat.contact"]
    assert len(actions) == 7


def test_a_restricted_chat_is_for_the_dpo_and_legal_only(
    vault: Vault, config: Config, ids: dict[str, str]
) -> None:
    vault.catalog.set_recording_flags(ids["anna"], restricted=True)
    with pytest.raises(AccessDenied):
        staff.show_chat(vault, config, principal_for(config, "anna"), ids["anna"], now=NOW)
    staff.show_chat(
        vault, config, principal_for(config, "dpo1"), ids["anna"], now=NOW, purpose="dsar"
    )


def test_chats_are_not_calls(vault: Vault, config: Config, ids: dict[str, str]) -> None:
    for user in ("anna", "siri", "admin1"):
        rows = list_calls(vault, config, principal_for(config, user), CallFilter(), now=NOW)
        assert rows == []


def test_an_unknown_chat_is_refused_and_audited(vault: Vault, config: Config) -> None:
    from storage.errors import NotFoundError

    with pytest.raises(NotFoundError):
        staff.show_chat(vault, config, principal_for(config, "anna"), "0" * 32, now=NOW)
    (entry,) = list(vault.audit.entries())
    assert (entry.event.action, entry.event.outcome) == ("chat.view", "denied")


def test_chats_are_not_in_a_qa_call_sample(
    vault: Vault, config: Config, ids: dict[str, str]
) -> None:
    from recorder.qa_sample import SampleRequest, population

    request = SampleRequest(reviewer="qa1", rate_bp=10_000, seed=1)
    assert population(vault, config, principal_for(config, "siri"), request) == []
