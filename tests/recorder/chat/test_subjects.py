"""Data-subject rights cover chats like calls: found by number, contact e-mail or customer id.

- find: the chats of a contact phone number (with the person's calls), an e-mail in any
  case, a customer id; nobody else's;
- export: the bundle holds each chat as stored (redacted) and the contact details;
- erase: every artefact crypto-shredded, one receipt per chat; a held chat is pending and
  its customer's self-service delete too (hold beats both), done when the hold lifts;
- restrict: staff may no longer read it, the customer may still download it;
- holds: a number hold covers a chat whose contact number matches (standing).
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest

from recorder import bundle
from recorder.access import principal_for
from recorder.chat import selfservice, staff
from recorder.chat.subjects import SubjectKey
from recorder.config import Config
from recorder.errors import AccessDenied, InvalidEvent
from recorder.holds import place_hold, release_hold, target_for
from recorder.subject import erase, find, run_pending_erasures, set_restriction
from recorder.subject_export import export
from storage.models import State
from storage.vault import Vault
from tests.recorder.chat.helpers import T0, advisor_chat, bot_chat, ingest

Rng = Callable[[int], bytes]
NOW = T0 + timedelta(hours=2)
PASS = bundle.Passphrase(secret=b"correct horse battery", log2_n=12)


@pytest.fixture
def ids(vault: Vault, config: Config, rng: Rng) -> dict[str, str]:
    other = advisor_chat("c-other")
    other["contact"] = {"email": "ola@example.no", "phone": "+47 400 00 000"}
    return {
        "contact": ingest(vault, config, advisor_chat("c-kari"), now=NOW, rng=rng).chat_id,
        "logged_in": ingest(
            vault, config, bot_chat("c-kari-2") | {"customer_id": "kunde-7"}, now=NOW, rng=rng
        ).chat_id,
        "other": ingest(vault, config, other, now=NOW, rng=rng).chat_id,
    }


def _found(vault: Vault, config: Config, key: str | SubjectKey) -> list[str]:
    dpo = principal_for(config, "dpo1")
    return [r.id for r in find(vault, config, dpo, key, purpose="dsar", now=NOW)]


def test_find_by_number_email_or_customer_id(
    vault: Vault, config: Config, ids: dict[str, str]
) -> None:
    assert _found(vault, config, "+47 912 34 567") == [ids["contact"]]
    assert _found(vault, config, SubjectKey(email="KARI@example.no ")) == [ids["contact"]]
    assert _found(vault, config, SubjectKey(customer="kunde-7")) == [ids["logged_in"]]
    assert _found(vault, config, SubjectKey(customer="kunde-8")) == []
    with pytest.raises(InvalidEvent):
        _found(vault, config, SubjectKey(email="not an address"))
    with pytest.raises(InvalidEvent):
        SubjectKey(email="a@b.no", customer="x")
    with pytest.raises(AccessDenied):
        find(
            vault,
            config,
            principal_for(config, "anna"),
            SubjectKey(customer="kunde-7"),
            purpose="dsar",
            now=NOW,
        )


def test_export_holds_the_chat_and_the_contact_details(
    vault: Vault, config: Config, ids: dict[str, str], tmp_path: Path, rng: Rng
) -> None:
    out = tmp_path / "kari.bundle"
    report = export(
        vault,
        config,
        principal_for(config, "dpo1"),
        SubjectKey(email="kari@example.no"),
        out,
        purpose="dsar",
        lock=PASS,
        expires_at=NOW + timedelta(days=30),
        now=NOW,
        rng=rng,
    )
    assert report.recordings == 1 and report.audio_files == 0
    opened = tmp_path / "kari.zip"
    bundle.open_bundle(out, opened, unlock=PASS, now=NOW)
    archive = zipfile.ZipFile(io.BytesIO(opened.read_bytes()))
    names = archive.namelist()
    (chat_file,) = [n for n in names if n.startswith("chats/0")]
    (contact_file,) = [n for n in names if n.startswith("chats/contact/")]
    stored = json.loads(archive.read(chat_file))
    assert "[phone]" in stored["messages"][0]["text"]
    assert json.loads(archive.read(contact_file))["name"] == "Kari Nordmann"


def test_erase_and_hold_and_the_self_service_delete_under_a_hold(
    vault: Vault, config: Config, rng: Rng
) -> None:
    created = ingest(
        vault, config, bot_chat("c-held") | {"customer_id": "kunde-5"}, now=NOW, rng=rng
    )
    legal = principal_for(config, "legal1")
    target = target_for(vault, config, recording=created.chat_id)
    place_hold(vault, config, legal, target, reason="complaints board case", now=NOW, rng=rng)
    receipt = selfservice.delete(vault, config, created.chat_id, created.secret, now=NOW, rng=rng)
    assert receipt.status == "pending"
    assert vault.catalog.get_recording(created.chat_id).state is State.AVAILABLE
    release_hold(vault, config, legal, target, reason="case closed", now=NOW)
    done = run_pending_erasures(vault, config, now=NOW, rng=rng)
    assert [o.status for o in done] == ["erased"]
    assert vault.catalog.get_recording(created.chat_id).state is State.DESTROYED
    assert all(a.state is State.DESTROYED for a in vault.catalog.artefacts_for(created.chat_id))


def test_dpo_erasure_by_customer_id_and_the_advisor_chat_request(
    vault: Vault, config: Config, ids: dict[str, str], rng: Rng
) -> None:
    dpo = principal_for(config, "dpo1")
    outcomes = erase(vault, config, dpo, SubjectKey(customer="kunde-7"), now=NOW, rng=rng)
    assert [(o.recording_id, o.status) for o in outcomes] == [(ids["logged_in"], "erased")]
    rec = vault.catalog.get_recording(ids["other"])
    assert rec.state is State.AVAILABLE
    status = selfservice.close_request(vault, config, dpo, ids["other"], now=NOW, rng=rng)
    assert status == "erased" and vault.catalog.get_recording(ids["other"]).state is State.DESTROYED
    with pytest.raises(AccessDenied):
        selfservice.close_request(
            vault, config, principal_for(config, "anna"), ids["contact"], now=NOW, rng=rng
        )


def test_restriction_stops_staff_but_not_the_customer(
    vault: Vault, config: Config, rng: Rng
) -> None:
    created = ingest(vault, config, advisor_chat("c-restr"), now=NOW, rng=rng)
    dpo = principal_for(config, "dpo1")
    changed = set_restriction(
        vault,
        config,
        dpo,
        SubjectKey(email="kari@example.no"),
        restricted=True,
        reason="accuracy contested",
        now=NOW,
    )
    assert changed == [created.chat_id]
    with pytest.raises(AccessDenied):
        staff.show_chat(vault, config, principal_for(config, "anna"), created.chat_id, now=NOW)
    kind, body = selfservice.download(vault, created.chat_id, created.secret, fmt="json", now=NOW)
    assert kind == "application/json" and b"[phone]" in body


def test_a_standing_number_hold_covers_a_later_chat(vault: Vault, config: Config, rng: Rng) -> None:
    legal = principal_for(config, "legal1")
    target = target_for(vault, config, number="+47 912 34 567")
    place_hold(vault, config, legal, target, reason="fraud case", now=NOW, rng=rng)
    later = ingest(vault, config, advisor_chat("c-later"), now=NOW, rng=rng)
    from recorder.retention import load_classes
    from recorder.sweep import sweep

    sweep(vault, classes=load_classes(config), now=T0 + timedelta(days=4000))
    assert vault.catalog.get_recording(later.chat_id).state is State.AVAILABLE
