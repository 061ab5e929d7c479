"""JSON bombs (H4), numbers in id/text fields (H5) and unusable caller ids over the real
server: validly signed, so only the content is hostile. Every case is a 4xx with a reason
or a stored call, never a 5xx, and the server keeps answering."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from recorder.ingest.verify.query import query_key, sign_query
from storage.keyring import FileKeyRing
from storage.vault import Vault
from tests.recorder.test_hostile_fields import BOMBS as JSON_BOMBS
from tests.recorder.web.harness import (
    Web,
    hex32,
    multipart,
    running,
    telnyx_event,
    twilio_params,
    upload_request,
)
from tests.recorder.web.test_upload import metadata, pcm, wav

BOUNDARY = "hostile-7b1c"
R = random.Random(21)


@pytest.fixture
def web(tmp_path: Path) -> Iterator[Web]:
    with running(tmp_path) as running_web:
        yield running_web


def upload(web: Web, meta: dict[str, Any] | bytes, audio: bytes | None = None) -> tuple[int, Any]:
    body = multipart(meta, audio if audio is not None else wav(pcm(3.0, seed=3)), BOUNDARY)
    reply = web.request("POST", "/hooks/upload", body, upload_request(body, BOUNDARY))
    return reply.status, reply.body


@pytest.mark.parametrize("name", sorted(JSON_BOMBS))
def test_telnyx_json_bombs_are_400(web: Web, name: str) -> None:
    reply = web.telnyx(JSON_BOMBS[name])
    assert reply.status == 400, reply
    assert "malformed" in reply.body["error"]
    assert web.jobs() == []


@pytest.mark.parametrize("name", sorted(JSON_BOMBS))
def test_upload_metadata_json_bombs_are_400(web: Web, name: str) -> None:
    status, body = upload(web, JSON_BOMBS[name])
    assert status == 400, body
    assert "malformed" in body["error"]


def test_a_10_mb_metadata_string_is_413(web: Web) -> None:
    status, body = upload(web, b'{"v": 1, "x": "' + b"a" * 10_000_000 + b'"}')
    assert status == 413, body


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("source_id", "4791234567"),
        ("source_id", "+4791234567"),
        ("source_id", "pbx-4791234567"),
        ("source_id", "pbx_47.91.23.45.67"),
        ("agent", "4791234567"),
        ("agent", "anna-4791234567"),
        ("participants", ["bjorn", "91234567"]),
        ("language", "4791234567"),
        ("language", "en-4791234"),
    ],
)
def test_a_number_in_an_id_or_text_field_of_an_upload_is_400(
    web: Web, field: str, value: Any
) -> None:
    status, body = upload(web, metadata("pbx-ok-1") | {field: value})
    assert status == 400, body
    assert body["error"].startswith(field) and "4791" not in json.dumps(body)


def stored_caller(web: Web, provider: str, source_id: str) -> str:
    vault = Vault.open(web.home, FileKeyRing.load(web.keyring))
    try:
        found = vault.catalog.find_recording(provider, source_id)
        assert found is not None
        return found.caller_display
    finally:
        vault.close()


@pytest.mark.parametrize(
    "caller",
    ["sip:+4791234567@" + "pbx." * 20 + "example.com", "+47 912 34 567" + " " * 70, 4791234567,
     ["+4791234567"], {"number": "+4791234567"}, "anonymous", ""],
    ids=["long SIP URI", "over 64 chars", "a JSON number", "a list", "an object", "anonymous",
         "empty"],
)  # fmt: skip
def test_an_unusable_caller_id_of_an_upload_is_withheld_and_the_call_kept(
    web: Web, caller: Any
) -> None:
    source = "pbx-caller-" + hex32(R)[:8]
    status, body = upload(web, metadata(source, caller=caller))
    assert status == 200, body
    assert stored_caller(web, "upload", source) == "withheld"


def test_a_long_telnyx_caller_id_is_withheld_and_the_job_queued(web: Web) -> None:
    rid = "5d5a4c8e-3f1b-4d2a-9c7e-1b2a3c4d5e6f"
    event = telnyx_event(rid, caller="sip:+4791234567@" + "x" * 80 + ".example.com")
    reply = web.telnyx(event)
    assert reply.status == 200 and reply.body["job"] == "queued", reply
    (job,) = web.jobs()
    assert job.payload["masked_caller"] == {"display": "withheld"}


@pytest.mark.parametrize("agent", ["4791234567", "%2B4791234567", "x-91234567"])
def test_a_number_as_the_twilio_callback_agent_is_400(web: Web, agent: str) -> None:
    params = twilio_params("RE" + hex32(R), "CA" + hex32(R), "AC" + hex32(R))
    reply = web.twilio(params, query=f"agent={agent}")
    assert reply.status == 400, reply
    assert web.jobs() == []


# -- Telnyx query parameters are bound to the keyring ---------------------------------------


def test_a_replayed_telnyx_event_with_an_unsigned_query_is_refused(web: Web) -> None:
    event = telnyx_event("7d5a4c8e-3f1b-4d2a-9c7e-1b2a3c4d5e6f")
    reply = web.telnyx(event, query="agent=carla&ai_notice=1", signed=False)
    assert reply.status == 403 and "sig" in reply.body["detail"]
    assert web.jobs() == []


def test_a_signed_telnyx_query_for_anna_cannot_be_turned_into_carla(web: Web) -> None:
    event = telnyx_event("8d5a4c8e-3f1b-4d2a-9c7e-1b2a3c4d5e6f")
    key = query_key(FileKeyRing.load(web.keyring).audit_signing_seed())
    good = [("agent", "anna"), ("ai_notice", "1")]
    sig = sign_query(key, good)
    for forged in ("agent=carla&ai_notice=1", "agent=anna&ai_notice=1&ai_notice=0",
                   "agent=anna", "agent=anna&ai_notice=1&service=%2B4722000000"):  # fmt: skip
        reply = web.telnyx(event, query=f"{forged}&sig={sig}", signed=False)
        assert reply.status == 403, (forged, reply)
    reply = web.telnyx(event, query=f"agent=anna&ai_notice=1&sig={sig}", signed=False)
    assert reply.status == 200, reply
    (job,) = web.jobs()
    assert (job.payload["agent_id"], job.payload["ai_notice"]) == ("anna", True)


def test_the_cli_prints_a_callback_url_the_server_accepts(web: Web, tmp_path: Path) -> None:
    from tests.recorder.conftest import run

    config = tmp_path / "callrec.toml"
    config.write_text('[webhooks]\npublic_base_url = "https://hooks.example.com"\n')
    env = {"CALLREC_HOME": str(web.home), "CALLREC_KEYRING": str(web.keyring),
           "CALLREC_CONFIG": str(config)}  # fmt: skip
    result = run(env, "webhooks", "callback-url", "--provider", "telnyx", "--agent", "anna",
                 "--ai-notice")  # fmt: skip
    assert result.exit_code == 0, result.output
    url = result.output.strip()
    assert url.startswith("https://hooks.example.com/hooks/telnyx?agent=anna&ai_notice=1&sig=")
    event = telnyx_event("9d5a4c8e-3f1b-4d2a-9c7e-1b2a3c4d5e6f")
    reply = web.telnyx(event, query=url.split("?", 1)[1], signed=False)
    assert reply.status == 200 and web.jobs()[0].payload["agent_id"] == "anna"
    bad = run(env, "webhooks", "callback-url", "--provider", "telnyx", "--agent", "4791234567")
    assert bad.exit_code == 1 and "agent" in bad.output


def test_an_uploaded_mp3_bomb_is_422_and_leaves_nothing(web: Web, tmp_path: Path) -> None:
    from tests.recorder import mp3bombs

    bomb = mp3bombs.rate_switch(tmp_path)  # the 14.4 MB bomb
    status, body = upload(web, metadata("pbx-bomb-1"), bomb)
    assert status == 422 and "changes sample rate or channels" in body["error"]
    blobs = web.home / "blobs"
    assert [p for p in blobs.rglob("*") if p.is_file()] == []
