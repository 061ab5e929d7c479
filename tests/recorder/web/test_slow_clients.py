"""Slow and unauthenticated clients (H3) against the real server over raw sockets.

Deadlines here are short (about a second) so the suite stays quick; the assertions are
about outcomes (408, 401, 503, connection closed, a signed request answered while the
attackers are still connected), never about how long something took. The figures (cut
times, answer latency under attack) are measured by ``bench/hostile.py``.
"""

from __future__ import annotations

import json
import random
import select
import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.recorder.web.harness import (
    Web,
    hex32,
    multipart,
    running,
    twilio_params,
    twilio_request,
    upload_request,
)

R = random.Random(13)
ACCOUNT = "AC" + hex32(R)
BOUNDARY = "slow-boundary"
DRIP_PAUSE = 0.1  # seconds between dripped bytes: far below every per-chunk timeout


@pytest.fixture
def web(tmp_path: Path) -> Iterator[Web]:
    extra = (
        "body_timeout_seconds = 1.0\nheader_timeout_seconds = 1.0\n"
        "[webhooks.upload]\nbody_deadline_seconds = 1.5\nmax_concurrent = 2\n"
    )
    with running(tmp_path, extra_toml=extra) as running_web:
        yield running_web


def head(target: str, headers: list[tuple[str, str]], length: int | None) -> bytes:
    lines = [f"POST {target} HTTP/1.1", "Host: hooks.example.com"]
    lines += [f"{n}: {v}" for n, v in headers]
    if length is not None:
        lines.append(f"Content-Length: {length}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def status_of(sock: socket.socket) -> int | None:
    """The status of the answer on ``sock`` (None if the server just closed it)."""
    data = b""
    while b"\r\n" not in data:
        try:
            chunk = sock.recv(4096)
        except (ConnectionResetError, TimeoutError):
            return None
        if not chunk:
            return None
        data += chunk
    return int(data.split(b" ", 2)[1])


def answered(sock: socket.socket) -> bool:
    """True if the server has written something (or closed) on ``sock``, without waiting."""
    sock.setblocking(False)
    try:
        return sock.recv(1, socket.MSG_PEEK) is not None
    except BlockingIOError:
        return False
    except OSError:
        return True
    finally:
        sock.setblocking(True)


def upload_body(source_id: str, size: int = 20_000) -> bytes:
    meta = {"v": 1, "source_id": source_id, "agent": "anna", "started_at": "2026-11-23T11:55:00Z"}
    return multipart(meta, b"RIFF" + b"\0" * size, BOUNDARY)


def blob_files(web: Web) -> list[Path]:
    blobs = web.home / "blobs"
    return [p for p in blobs.rglob("*") if p.is_file()] if blobs.exists() else []


def temp_files(web: Web) -> list[Path]:
    return [p for p in blob_files(web) if p.name.startswith(".tmp-")]


def signed_twilio(web: Web, n: int) -> int:
    rid, call = "RE" + f"{n:032x}", "CA" + f"{n:032x}"
    return web.twilio(twilio_params(rid, call, ACCOUNT)).status


# -- before authentication ------------------------------------------------------------------


@pytest.mark.parametrize(
    "case", ["no early signature", "wrong secret", "digest of another body", "length lies"]
)
def test_an_unauthenticated_100_mb_upload_is_refused_before_its_body(web: Web, case: str) -> None:
    body = upload_body("pbx-unauth")
    headers = upload_request(body, BOUNDARY)
    if case == "no early signature":
        headers = [h for h in headers if h[0] != "callrec-upload-signature"]
    elif case == "wrong secret":
        other = "whsec_" + "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQQ=="
        headers = upload_request(body, BOUNDARY, secret=other)
    elif case == "digest of another body":
        headers = [h for h in headers if h[0] != "content-digest"]
        headers.append(("content-digest", upload_request(b"x", BOUNDARY)[4][1]))
    with socket.create_connection(("127.0.0.1", web.port), timeout=10) as sock:
        # 100 MB announced, none of it sent: the answer must come from the headers alone
        sock.sendall(head("/hooks/upload", headers, 100 * 1024 * 1024))
        assert status_of(sock) == 401
    assert blob_files(web) == []


def test_a_body_that_does_not_match_its_digest_is_refused_and_leaves_nothing(web: Web) -> None:
    body = upload_body("pbx-tampered")
    headers = upload_request(body, BOUNDARY)
    tampered = body.replace(b"\0" * 16, b"\1" * 16, 1)  # same length, other bytes
    reply = web.request("POST", "/hooks/upload", tampered, headers)
    assert reply.status == 401 and "content-digest" in json.dumps(reply.body)
    assert blob_files(web) == []


# -- deadlines ------------------------------------------------------------------------------


def drip(sock: socket.socket, data: bytes) -> int | None:
    """Send ``data`` a byte at a time, each after waiting up to ``DRIP_PAUSE`` for the
    server to answer, until it does; its status (or None if it just closed)."""
    for i in range(len(data)):
        if select.select([sock], [], [], DRIP_PAUSE)[0]:
            break  # the server answered (or closed): stop dripping
        try:
            sock.sendall(data[i : i + 1])
        except OSError:
            break
    return status_of(sock)


def wait_for(condition: Callable[[], bool], *, limit: float = 10.0) -> None:
    """Wait (in short selects, no sleep) until ``condition`` holds; fail after ``limit``."""
    waited = 0.0
    while not condition():
        assert waited < limit, "condition not reached"
        select.select([], [], [], 0.02)
        waited += 0.02


def test_a_dripped_upload_body_is_cut_by_the_total_deadline(web: Web) -> None:
    body = upload_body("pbx-drip")
    with socket.create_connection(("127.0.0.1", web.port), timeout=10) as sock:
        sock.sendall(head("/hooks/upload", upload_request(body, BOUNDARY), len(body)))
        assert drip(sock, body) == 408  # each byte is on time; the whole is not
    assert blob_files(web) == []


def test_a_dripped_twilio_body_is_cut_by_the_total_deadline(web: Web) -> None:
    target, body, headers = twilio_request(twilio_params("RE" + "1" * 32, "CA" + "1" * 32,
                                                         ACCOUNT))  # fmt: skip
    with socket.create_connection(("127.0.0.1", web.port), timeout=10) as sock:
        sock.sendall(head(target, headers, len(body)))
        assert drip(sock, body) == 408
    assert web.jobs() == []


def test_dripped_headers_are_cut_and_signed_requests_are_answered_meanwhile(web: Web) -> None:
    drippers = [socket.create_connection(("127.0.0.1", web.port), timeout=10) for _ in range(100)]
    try:
        for sock in drippers:
            sock.sendall(b"POST /hooks/twilio HTTP/1.1\r\nHost: x\r\n")
        served = []
        for n in range(4):  # while all 100 are connected and dripping
            for sock in drippers:
                sock.sendall(b"X")
            served.append(signed_twilio(web, n))
            assert not any(answered(s) for s in drippers[:5])
        assert served == [200, 200, 200, 200]
        body = upload_body("pbx-during")
        reply = web.request("POST", "/hooks/upload", body, upload_request(body, BOUNDARY))
        assert reply.status in (200, 422), reply  # answered (its audio is a stand-in)
        statuses = [drip(sock, b"X-Slow: " + b"y" * 200) for sock in drippers]
    finally:
        for sock in drippers:
            sock.close()
    assert set(statuses) == {408}, statuses  # every one of them cut by the header deadline
    assert len(web.jobs()) == 4


# -- concurrency ----------------------------------------------------------------------------


def test_uploads_beyond_the_concurrency_cap_are_503_and_hooks_still_work(web: Web) -> None:
    held = []
    try:
        for i in range(2):  # two authenticated uploads that stall mid-body
            body = upload_body(f"pbx-hold-{i}")
            sock = socket.create_connection(("127.0.0.1", web.port), timeout=10)
            sock.sendall(head("/hooks/upload", upload_request(body, BOUNDARY, msg_id=f"m{i}"),
                              len(body)) + body[:100])  # fmt: skip
            held.append(sock)
        wait_for(lambda: len(temp_files(web)) == 2)  # both are streaming into sealed blobs
        body = upload_body("pbx-third")
        third = web.request("POST", "/hooks/upload", body, upload_request(body, BOUNDARY))
        assert third.status == 503 and "too many uploads" in third.body["error"]
        assert signed_twilio(web, 9) == 200  # the provider hooks are not starved
        assert [status_of(sock) for sock in held] == [408, 408]  # then cut by the deadline
    finally:
        for sock in held:
            sock.close()
    again = web.request("POST", "/hooks/upload", body, upload_request(body, BOUNDARY))
    assert again.status != 503  # the slots are free again
    assert blob_files(web) == [] or again.status == 200
