"""The webhook server over real HTTP: acks, replays (W4), signatures, health, 503."""

from __future__ import annotations

import json
import logging
import random
from datetime import timedelta
from pathlib import Path

import pytest

from recorder.web.server import asgi_config
from storage.jobs import JobStore
from tests.recorder.web.harness import (
    NOW,
    TWILIO_TOKEN_OLD,
    Web,
    hex32,
    running,
    telnyx_event,
    twilio_params,
)

R = random.Random(3)
ACCOUNT = "AC" + hex32(R)


def ids(rng: random.Random) -> tuple[str, str]:
    return "RE" + hex32(rng), "CA" + hex32(rng)


def test_healthz_reports_each_check_without_secrets(web: Web) -> None:
    reply = web.request("GET", "/healthz")
    assert reply.status == 200
    assert reply.body["checks"] == {"jobs": "ok", "catalog": "ok", "keyring": "ok"}
    assert reply.body["endpoints"] == {"twilio": True, "telnyx": True, "upload": True}
    text = repr(reply.body)
    assert "whsec" not in text and "token" not in text.lower()


def test_healthz_is_503_when_the_keyring_is_gone(web: Web) -> None:
    web.keyring.rename(web.keyring.with_suffix(".moved"))
    reply = web.request("GET", "/healthz")
    assert reply.status == 503
    assert reply.body["checks"]["keyring"].startswith("error")
    assert reply.body["checks"]["jobs"] == "ok"


def test_completed_recording_is_a_job_committed_before_the_ack(web: Web) -> None:
    recording, call = ids(R)
    reply = web.twilio(twilio_params(recording, call, ACCOUNT), query="agent=anna")
    assert reply.status == 200 and reply.body["job"] == "queued"
    # D1 "ack only after commit": the job is visible to a second connection the moment
    # the answer has arrived.
    (job,) = web.jobs()
    assert (job.provider, job.recording_id, job.state) == ("twilio", recording, "queued")
    payload = job.payload
    assert payload["call_id"] == call and payload["account_id"] == ACCOUNT
    assert payload["agent_id"] == "anna"
    assert payload["started_at"] == (NOW - timedelta(minutes=2)).isoformat()
    assert payload["ended_at"] == (NOW - timedelta(minutes=2, seconds=-42)).isoformat()
    assert payload["masked_caller"] is None


def test_w4_replays_are_acked_with_no_new_effect(web: Web) -> None:
    recording, call = ids(R)
    params = twilio_params(recording, call, ACCOUNT)
    first = web.twilio(params)
    before = web.jobs()
    replies = [web.twilio(params) for _ in range(5)]
    # a replay signed with the rotated-out token is the same delivery too
    replies.append(web.twilio(params, token=TWILIO_TOKEN_OLD))
    assert first.body["job"] == "queued"
    assert [(r.status, r.body["job"]) for r in replies] == [(200, "duplicate")] * 6
    assert web.jobs() == before


def test_telnyx_replay_within_the_window_is_a_duplicate(web: Web) -> None:
    recording = "0d5a4c8e-3f1b-4d2a-9c7e-1b2a3c4d5e6f"
    document = telnyx_event(recording, caller="anonymous")
    assert web.telnyx(document, query="agent=bjorn").body["job"] == "queued"
    assert web.telnyx(document, query="agent=bjorn").body["job"] == "duplicate"
    (job,) = web.jobs()
    assert job.payload["agent_id"] == "bjorn"
    assert job.payload["masked_caller"] == {"display": "withheld"}


def test_telnyx_caller_is_masked_at_ingest(web: Web) -> None:
    recording = "1d5a4c8e-3f1b-4d2a-9c7e-1b2a3c4d5e6f"
    reply = web.telnyx(telnyx_event(recording, caller="+47 912 34 567"))
    assert reply.status == 200, reply.body
    (job,) = web.jobs()
    masked = job.payload["masked_caller"]
    assert masked["display"] == "+4791234***"
    assert len(masked["digest"]) >= 32
    assert "91234567" not in repr(job.payload)


def test_non_recording_callbacks_are_acked_and_ignored(web: Web) -> None:
    recording, call = ids(R)
    for status in ("in-progress", "absent", "failed"):
        reply = web.twilio(twilio_params(recording, call, ACCOUNT, status=status))
        assert (reply.status, reply.body["job"]) == (200, "ignored")
    call_status = [("AccountSid", ACCOUNT), ("CallSid", call), ("CallStatus", "completed")]
    assert web.twilio(call_status).body["kind"] == "call-status"
    other = telnyx_event("2d5a4c8e-3f1b-4d2a-9c7e-1b2a3c4d5e6f", event_type="call.hangup")
    assert web.telnyx(other).body["job"] == "ignored"
    assert web.jobs() == []


def test_bad_signatures_are_401_for_twilio_and_403_for_telnyx(web: Web) -> None:
    recording, call = ids(R)
    params = twilio_params(recording, call, ACCOUNT)
    assert web.twilio(params, token="not-the-token").status == 401  # noqa: S106
    assert web.twilio(params, query="agent=anna").status == 200
    # the signature covers the URL: changing the agent after signing is refused
    from tests.recorder.web.harness import twilio_request

    target, body, headers = twilio_request(params, query="agent=anna")
    assert web.request("POST", target.replace("anna", "bjorn"), body, headers).status == 401
    document = telnyx_event("3d5a4c8e-3f1b-4d2a-9c7e-1b2a3c4d5e6f")
    assert web.telnyx(document, seed=bytes(32)).status == 403
    assert len(web.jobs()) == 1


def test_w3_telnyx_timestamp_window_through_the_server(web: Web) -> None:
    stamp = int(NOW.timestamp())
    for offset, expected in ((299, 200), (-299, 200), (301, 403), (-301, 403)):
        recording = f"4d5a4c8e-3f1b-4d2a-9c7e-1b2a3c4d5{abs(offset):03d}"[:36]
        reply = web.telnyx(telnyx_event(recording), stamp=stamp + offset)
        assert reply.status == expected, (offset, reply.body)


def test_bad_ids_and_shapes_are_400_never_5xx(web: Web) -> None:
    recording, call = ids(R)
    cases = [
        twilio_params("RE" + "G" * 32, call, ACCOUNT),
        twilio_params(recording, "CA123", ACCOUNT),
        twilio_params(recording, call, "AC" + "0" * 31),
        twilio_params(recording, call, ACCOUNT, status="exploded"),
        [*twilio_params(recording, call, ACCOUNT), ("RecordingSid", "RE" + "1" * 32)],
        [p for p in twilio_params(recording, call, ACCOUNT) if p[0] != "RecordingSid"],
    ]
    for params in cases:
        assert web.twilio(params).status == 400
    assert web.twilio(twilio_params(recording, call, ACCOUNT), query="agent=../etc").status == 400
    bad_telnyx = [
        b"not json",
        b"[]",
        b'{"data": 1}',
        b'{"data": {"event_type": "call.recording.saved", "payload": {"recording_id": "x"}}}',
    ]
    for body in bad_telnyx:
        assert web.telnyx(body).status == 400
    assert web.jobs() == []


def test_unconfigured_endpoint_is_404(tmp_path: Path) -> None:
    with running(tmp_path, env={"CALLREC_TELNYX_PUBLIC_KEY": ""}) as web:
        web.config.document  # noqa: B018
        # env "" means unset: the file has no telnyx keys either
        assert web.telnyx(telnyx_event("5d5a4c8e-3f1b-4d2a-9c7e-1b2a3c4d5e6f")).status == 404
        assert web.request("GET", "/healthz").body["endpoints"]["telnyx"] is False


def test_db_down_is_503_and_the_retry_makes_exactly_one_job(tmp_path: Path) -> None:
    broken = {"on": True}

    def open_jobs(home: Path) -> JobStore:
        from storage.errors import JobError
        from storage.jobs import jobs_path

        if broken["on"]:
            raise JobError("disk unavailable")
        return JobStore.open(jobs_path(home))

    with running(tmp_path, open_jobs=open_jobs) as web:
        recording, call = ids(R)
        params = twilio_params(recording, call, ACCOUNT)
        reply = web.twilio(params)
        assert reply.status == 503 and "disk" not in repr(reply.body)
        assert web.request("GET", "/healthz").status == 503
        broken["on"] = False
        assert web.twilio(params).body["job"] == "queued"
        assert web.twilio(params).body["job"] == "duplicate"
        assert len(web.jobs()) == 1
        assert web.request("GET", "/healthz").status == 200


def test_w6_behind_a_proxy_genuine_signatures_verify(tmp_path: Path) -> None:
    from tests.recorder.web.harness import twilio_request

    with running(tmp_path, extra_toml="trust_forwarded = true\n") as web:
        cases = [
            ("https://public.example.org", [("X-Forwarded-Host", "public.example.org")]),
            (
                "https://public.example.org:8443",
                [("X-Forwarded-Host", "public.example.org"), ("X-Forwarded-Port", "8443")],
            ),
            (
                "https://public.example.org",
                [("X-Forwarded-Host", "evil.example, public.example.org")],
            ),
        ]
        for n, (base, forwarded) in enumerate(cases):
            recording, call = ids(R)
            params = twilio_params(recording, call, ACCOUNT)
            target, body, headers = twilio_request(params, base=base, query=f"agent=anna&n={n}")
            proxied = [*headers, ("X-Forwarded-Proto", "https"), *forwarded]
            reply = web.request("POST", target, body, proxied)
            assert (reply.status, reply.body.get("job")) == (200, "queued"), (base, reply.body)
            # the same request claiming another public host does not verify
            spoofed = [
                *headers,
                ("X-Forwarded-Proto", "https"),
                ("X-Forwarded-Host", "other.example"),
            ]
            assert web.request("POST", target, body, spoofed).status == 401


def test_w2_mutated_deliveries_through_the_server_are_refused(web: Web) -> None:
    from tests.recorder.web.harness import twilio_request

    rng = random.Random(21)
    refused = 0
    for i in range(200):
        recording, call = ids(rng)
        target, body, headers = twilio_request(
            twilio_params(recording, call, ACCOUNT), query="agent=anna"
        )
        kind = i % 4
        if kind == 0:  # flip one body byte (kept printable and urlencoded)
            at = rng.randrange(len(body))
            body = body[:at] + (b"Z" if body[at : at + 1] != b"Z" else b"Y") + body[at + 1 :]
        elif kind == 1:  # a parameter value changed
            body = body.replace(b"RecordingStatus=completed", b"RecordingStatus=completeD")
        elif kind == 2:  # a URL part changed
            target = target.replace("agent=anna", "agent=anne")
        else:  # the signature changed
            sig = dict(headers)["X-Twilio-Signature"]
            flipped = sig[:5] + ("A" if sig[5] != "A" else "B") + sig[6:]
            headers = [(n, flipped if n == "X-Twilio-Signature" else v) for n, v in headers]
        status = web.request("POST", target, body, headers).status
        assert status in (400, 401), (i, status)
        refused += status == 401
    assert refused >= 150  # the rest are byte flips that broke the form encoding (400)
    assert web.jobs() == []


def test_no_full_number_reaches_the_logs(web: Web, caplog: pytest.LogCaptureFixture) -> None:
    recording, call = ids(R)
    with caplog.at_level(logging.DEBUG):
        web.telnyx(telnyx_event("8d5a4c8e-3f1b-4d2a-9c7e-1b2a3c4d5e6f", caller="+4791234567"))
        status = [("AccountSid", ACCOUNT), ("CallSid", call), ("CallStatus", "completed"),
                  ("From", "+4791234567"), ("To", "+4722000000")]  # fmt: skip
        assert web.twilio(status).status == 200
        assert web.twilio([*status[:2], ("From", "+4791234567")]).status == 400
    assert caplog.records, "the server logs what it does"
    assert "91234567" not in caplog.text


def test_uvicorns_own_log_handlers_redact_numbers() -> None:
    """uvicorn installs handlers that do not propagate to root (e.g. its traceback of an
    error escaping the app): they must redact numbers like callrec's own handlers."""

    async def app(scope: object, receive: object, send: object) -> None:  # never called
        raise AssertionError

    asgi_config(app, "127.0.0.1", 0)
    handlers = [
        *logging.getLogger("uvicorn").handlers,
        *logging.getLogger("uvicorn.access").handlers,
    ]
    assert handlers, "uvicorn configured its handlers"
    for handler in handlers:
        record = logging.LogRecord(
            "uvicorn.error", logging.ERROR, __file__, 1, "bad caller %s", ("+47 912 34 567",), None
        )
        assert handler.filter(record)
        assert "912" not in handler.format(record)


def test_a_signed_event_with_a_number_shaped_field_is_400_not_a_503_loop(web: Web) -> None:
    """The job table refuses number-like values; that refusal is the event's fault (400,
    no retry storm), not a storage outage (503), and the reply does not echo the value."""
    document = telnyx_event("7d5a4c8e-3f1b-4d2a-9c7e-1b2a3c4d5e6f")
    document["data"]["payload"]["call_leg_id"] = "4791234567"
    reply = web.telnyx(document)
    assert reply.status == 400, reply.body
    assert "91234567" not in json.dumps(reply.body)
    agent = web.telnyx(
        telnyx_event("6d5a4c8e-3f1b-4d2a-9c7e-1b2a3c4d5e6f"), query="agent=4791234567"
    )
    assert agent.status == 400, agent.body
    assert "91234567" not in json.dumps(agent.body)
    assert web.jobs() == []
    assert web.telnyx(telnyx_event("7d5a4c8e-3f1b-4d2a-9c7e-1b2a3c4d5e6f")).status == 200
