"""W7 through the real server: limits and garbage are 4xx, never 5xx, never a crash."""

from __future__ import annotations

import random
import socket
from collections.abc import Iterator
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

R = random.Random(7)
ACCOUNT, CALL, RECORDING = "AC" + hex32(R), "CA" + hex32(R), "RE" + hex32(R)


@pytest.fixture
def slow_web(tmp_path: Path) -> Iterator[Web]:
    """Short body timeout and a small upload cap, so the slow/oversize cases are quick."""
    extra = "body_timeout_seconds = 0.5\n[webhooks.upload]\nmax_bytes = 200000\n"
    with running(tmp_path, extra_toml=extra) as web:
        yield web


def raw_exchange(port: int, head: bytes, body_parts: list[bytes], *, timeout: float = 10) -> int:
    """Send ``head`` then each body part over a raw socket; return the status code."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(head)
        try:
            for part in body_parts:
                sock.sendall(part)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered early and closed: read what it said
        data = b""
        while b"\r\n" not in data:
            chunk = sock.recv(4096)
            if not chunk:
                break
            data += chunk
    return int(data.split(b" ", 2)[1])


def signed_head(target: str, headers: list[tuple[str, str]], extra: str = "") -> bytes:
    lines = [f"POST {target} HTTP/1.1", "Host: hooks.example.com"]
    lines += [f"{n}: {v}" for n, v in headers]
    return ("\r\n".join(lines) + "\r\n" + extra + "\r\n").encode("latin-1")


def statuses_of_w7_cases(web: Web) -> dict[str, int]:
    params = twilio_params(RECORDING, CALL, ACCOUNT)
    target, body, headers = twilio_request(params)
    out: dict[str, int] = {}
    big = body + b"&Padding=" + b"x" * (70 * 1024)
    out["body > 64 KiB (content-length)"] = web.request("POST", target, big, headers).status
    chunked = signed_head(target, headers, "Transfer-Encoding: chunked\r\n")
    chunks = [b"%x\r\n%s\r\n" % (8192, b"a" * 8192) for _ in range(10)] + [b"0\r\n\r\n"]
    out["body > 64 KiB (chunked)"] = raw_exchange(web.port, chunked, chunks)
    many = [*params, *((f"F{i}", "v") for i in range(120))]
    target2, body2, headers2 = twilio_request(many)
    out["> 100 fields"] = web.request("POST", target2, body2, headers2).status
    out["huge header (100 KiB)"] = web.request(
        "POST", target, body, [*headers, ("X-Huge", "h" * 100 * 1024)]
    ).status
    out["header over 8 KiB"] = web.request(
        "POST", target, body, [*headers, ("X-Big", "h" * 9000)]
    ).status
    out["200 headers"] = web.request(
        "POST", target, body, [*headers, *((f"X-N{i}", "1") for i in range(200))]
    ).status
    unsigned = [h for h in headers if h[0] != "X-Twilio-Signature"]
    out["missing signature"] = web.request("POST", target, body, unsigned).status
    sig = dict(headers)["X-Twilio-Signature"]
    out["duplicate signature"] = web.request(
        "POST", target, body, [*headers, ("X-Twilio-Signature", sig)]
    ).status
    out["garbled signature"] = web.request(
        "POST", target, body, [*unsigned, ("X-Twilio-Signature", "%%not base64%%")]
    ).status
    out["binary form body"] = web.request("POST", target, b"\xff\xfe\x00" * 10, headers).status
    out["bad content-length"] = raw_exchange(
        web.port, signed_head(target, headers, "Content-Length: 12abc\r\n"), [b"x"]
    )
    out["get on a hook"] = web.request("GET", "/hooks/twilio").status
    return out


def test_w7_limits_are_4xx_and_the_server_survives(slow_web: Web) -> None:
    web = slow_web
    out = statuses_of_w7_cases(web)
    expected = {
        "body > 64 KiB (content-length)": 413,
        "body > 64 KiB (chunked)": 413,
        "> 100 fields": 400,
        "header over 8 KiB": 400,
        "200 headers": 400,
        "missing signature": 401,
        "duplicate signature": 401,
        "garbled signature": 401,
        "binary form body": 400,
        "bad content-length": 400,
        "get on a hook": 405,
    }
    for case, status in expected.items():
        assert out[case] == status, (case, out[case])
    assert 400 <= out["huge header (100 KiB)"] < 500
    assert all(400 <= s < 500 for s in out.values()), out
    assert web.jobs() == []
    assert web.request("GET", "/healthz").status == 200
    # and a genuine delivery still works after all of that
    assert web.twilio(twilio_params(RECORDING, CALL, ACCOUNT)).body["job"] == "queued"


def test_w7_slow_body_is_408(slow_web: Web) -> None:
    target, body, headers = twilio_request(twilio_params(RECORDING, CALL, ACCOUNT))
    head = signed_head(target, headers, f"Content-Length: {len(body)}\r\n")
    # send half the body, then nothing: the server gives up after body_timeout_seconds
    assert raw_exchange(slow_web.port, head, [body[: len(body) // 2]]) == 408
    assert slow_web.jobs() == []


def test_w7_upload_over_its_cap_is_413_and_leaves_nothing(slow_web: Web) -> None:
    boundary = "b0undary"
    body = multipart({"v": 1, "source_id": "x"}, b"\0" * 300_000, boundary)
    reply = slow_web.request("POST", "/hooks/upload", body, upload_request(body, boundary))
    assert reply.status == 413
    head = signed_head(
        "/hooks/upload", upload_request(body, boundary), "Transfer-Encoding: chunked\r\n"
    )
    chunks = [
        b"%x\r\n%s\r\n" % (len(body[i : i + 65536]), body[i : i + 65536])
        for i in range(0, len(body), 65536)
    ]
    # chunked: no content-length to sign, so refused before the body (uploads are not chunked)
    assert raw_exchange(slow_web.port, head, [*chunks, b"0\r\n\r\n"]) == 400
    blobs = slow_web.home / "blobs"
    assert not blobs.exists() or [p for p in blobs.rglob("*") if p.is_file()] == []


def test_w7_slow_upload_is_408_and_leaves_nothing(slow_web: Web) -> None:
    boundary = "b0undary"
    body = multipart({"v": 1, "source_id": "slow"}, b"RIFF" + b"\0" * 50_000, boundary)
    headers = upload_request(body, boundary)
    head = signed_head("/hooks/upload", headers, f"Content-Length: {len(body)}\r\n")
    assert raw_exchange(slow_web.port, head, [body[:30_000]]) == 408
    blobs = slow_web.home / "blobs"
    assert not blobs.exists() or [p for p in blobs.rglob("*") if p.is_file()] == []
