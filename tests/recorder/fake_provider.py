"""A fake telephony provider media server: HTTPS on 127.0.0.1 with a ``trustme`` CA.

Speaks the real URL shapes and authentication of the two providers the worker fetches
from (an outside service that cannot run here, so a fake is allowed by RELIABILITY.md):

- Twilio REST 2010-04-01, HTTP basic auth (account SID : auth token)::

    GET    /2010-04-01/Accounts/{AC}/Recordings/{RE}.wav   audio/x-wav
    GET    /2010-04-01/Accounts/{AC}/Recordings/{RE}.mp3   audio/mpeg
    DELETE /2010-04-01/Accounts/{AC}/Recordings/{RE}.json  204
    GET    /2010-04-01/Accounts/{AC}/Calls/{CA}.json       {"sid", "from", "to", ...}

- Telnyx API v2, ``Authorization: Bearer <key>``::

    GET    /v2/recordings/{uuid}     {"data": {"id", "download_urls": {"wav": …}}}
    DELETE /v2/recordings/{uuid}     {"data": {...}}
    GET    /media/{uuid}.wav         the storage download (no auth, like a presigned URL)

Faults are queued per recording id (``server.fault(rid, "503", "reset")``): each request
for that recording's media consumes the next one. Known faults: an HTTP status code as
text (``"500"``, ``"503"``, ``"429"``, ``"404"``, ``"401"``), ``"reset"`` (TCP RST after
the request), ``"short"`` (half the body, then close, Content-Length of the whole),
``"type"`` (200 with ``text/html``), ``"oversize"`` (Content-Length beyond any cap),
``"stream_oversize"`` (no Content-Length, 4 MiB), ``"drip"`` (the body in 4 KiB pieces
with pauses), ``"stall"`` (headers, then nothing for 2 s), ``"redirect:<url>"`` (302).
"""

from __future__ import annotations

import base64
import json
import re
import socket
import ssl
import struct
import threading
import time
from collections import defaultdict, deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import trustme

ACCOUNT = "AC" + "a1" * 16
TOKEN = "fake-twilio-auth-token"  # noqa: S105 - the fake server's own test token
TELNYX_KEY = "KEYfake-telnyx-api-key"
HOSTS = ("api.twilio.test", "api.telnyx.test", "media.telnyx.test", "localhost")

_TWILIO_REC = re.compile(
    r"/2010-04-01/Accounts/(AC[0-9a-f]{32})/Recordings/(RE[0-9a-f]{32})\.(wav|mp3|json)"
)
_TWILIO_CALL = re.compile(r"/2010-04-01/Accounts/(AC[0-9a-f]{32})/Calls/(CA[0-9a-f]{32})\.json")
_TELNYX_REC = re.compile(r"/v2/recordings/([0-9a-f\-]{36})")
_TELNYX_MEDIA = re.compile(r"/media/([0-9a-f\-]{36})\.(wav|mp3)")


@dataclass(slots=True)
class Seen:
    """One request the server received."""

    method: str
    path: str
    host: str
    authorization: str | None


@dataclass
class FakeProvider:
    """State shared by the handler threads; use :func:`fake_provider` to run one."""

    ca: trustme.CA
    ca_file: Path
    port: int = 0
    recordings: dict[str, bytes] = field(default_factory=dict)
    callers: dict[str, str] = field(default_factory=dict)
    #: Raw bytes served instead of a Telnyx recording document (hostile JSON tests).
    documents: dict[str, bytes] = field(default_factory=dict)
    faults: dict[str, deque[str]] = field(default_factory=lambda: defaultdict(deque))
    seen: list[Seen] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    media_host: str = "media.telnyx.test"
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, recording_id: str, audio: bytes) -> None:
        """Make a recording available."""
        with self.lock:
            self.recordings[recording_id] = audio

    def fault(self, recording_id: str, *faults: str) -> None:
        """Queue faults for the next media requests of ``recording_id``."""
        with self.lock:
            self.faults[recording_id].extend(faults)

    def next_fault(self, recording_id: str) -> str | None:
        with self.lock:
            queue = self.faults.get(recording_id)
            return queue.popleft() if queue else None

    def media_requests(self, recording_id: str) -> int:
        """How many GETs of this recording's audio arrived."""
        with self.lock:
            return sum(
                1
                for s in self.seen
                if s.method == "GET" and recording_id in s.path and not s.path.endswith(".json")
                and not s.path.startswith("/v2/")
            )  # fmt: skip


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib name
        """Silence the default stderr log."""

    @property
    def fake(self) -> FakeProvider:
        return self.server.fake

    def _record(self) -> None:
        with self.fake.lock:
            self.fake.seen.append(
                Seen(self.command, self.path, self.headers.get("Host", ""),
                     self.headers.get("Authorization"))
            )  # fmt: skip

    def _send(self, status: int, body: bytes = b"", ctype: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        if body:
            self.wfile.write(body)
        self.close_connection = True

    def _twilio_ok(self, account: str) -> bool:
        expected = "Basic " + base64.b64encode(f"{ACCOUNT}:{TOKEN}".encode()).decode()
        return account == ACCOUNT and self.headers.get("Authorization") == expected

    def _telnyx_ok(self) -> bool:
        return self.headers.get("Authorization") == f"Bearer {TELNYX_KEY}"

    def do_GET(self) -> None:  # noqa: N802 - stdlib name
        self._record()
        if m := _TWILIO_REC.fullmatch(self.path):
            if not self._twilio_ok(m[1]):
                return self._send(401, b'{"code": 20003}')
            if m[3] == "json":
                return self._send(200, json.dumps({"sid": m[2], "account_sid": m[1]}).encode())
            ctype = "audio/x-wav" if m[3] == "wav" else "audio/mpeg"
            return self._media(m[2], ctype)
        if m := _TWILIO_CALL.fullmatch(self.path):
            if not self._twilio_ok(m[1]):
                return self._send(401, b'{"code": 20003}')
            caller = self.fake.callers.get(m[2])
            if caller is None:
                return self._send(404, b'{"code": 20404}')
            body = {"sid": m[2], "account_sid": m[1], "from": caller, "to": "+4722000000"}
            return self._send(200, json.dumps(body).encode())
        if m := _TELNYX_REC.fullmatch(self.path):
            if not self._telnyx_ok():
                return self._send(401, b'{"errors": [{"code": "10009"}]}')
            if m[1] in self.fake.documents:
                return self._send(200, self.fake.documents[m[1]])
            if m[1] not in self.fake.recordings:
                return self._send(404, b'{"errors": [{"code": "10005"}]}')
            url = f"https://{self.fake.media_host}:{self.fake.port}/media/{m[1]}.wav"
            doc = {"data": {"id": m[1], "record_type": "recording", "download_urls": {"wav": url}}}
            return self._send(200, json.dumps(doc).encode())
        if m := _TELNYX_MEDIA.fullmatch(self.path):
            if self.headers.get("Authorization") is not None:
                return self._send(400, b"credentials sent to storage")
            return self._media(m[1], "audio/wav")
        return self._send(404, b"{}")

    def do_DELETE(self) -> None:  # noqa: N802 - stdlib name
        self._record()
        m = _TWILIO_REC.fullmatch(self.path)
        t = _TELNYX_REC.fullmatch(self.path)
        if m and m[3] == "json" and self._twilio_ok(m[1]):
            rid = m[2]
        elif t and self._telnyx_ok():
            rid = t[1]
        else:
            return self._send(401 if (m or t) else 404, b"{}")
        with self.fake.lock:
            existed = self.fake.recordings.pop(rid, None) is not None
            self.fake.deleted.append(rid)
        if not existed:
            return self._send(404, b"{}")
        return self._send(204) if m else self._send(200, b'{"data": {}}')

    def _media(self, rid: str, ctype: str) -> None:
        audio = self.fake.recordings.get(rid)
        fault = self.fake.next_fault(rid)
        if fault is not None and fault.isdigit():
            return self._send(int(fault), b'{"message": "fault"}')
        if fault == "reset":
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True
            self.connection.close()
            return None
        if fault is not None and fault.startswith("redirect:"):
            self.send_response(302)
            self.send_header("Location", fault.split(":", 1)[1])
            self.send_header("Content-Length", "0")
            self.send_header("Connection", "close")
            self.end_headers()
            self.close_connection = True
            return None
        if audio is None:
            return self._send(404, b'{"code": 20404}')
        if fault == "type":
            return self._send(200, b"<html>maintenance</html>", "text/html")
        if fault == "short":
            self.send_response(200)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(audio)))
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(audio[: len(audio) // 2])
            self.wfile.flush()
            self.close_connection = True
            return None
        if fault == "oversize":
            self.send_response(200)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(2**40))
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(audio)
            self.close_connection = True
            return None
        if fault == "stream_oversize":
            self.send_response(200)
            self.send_header("Content-Type", ctype)
            self.send_header("Connection", "close")
            self.end_headers()
            for _ in range(64):  # 4 MiB, no length: the cap must cut it
                self.wfile.write(audio[:44] + b"\0" * 65492)
            self.close_connection = True
            return None
        if fault == "drip":  # the whole body, a few bytes at a time
            self.send_response(200)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(audio)))
            self.send_header("Connection", "close")
            self.end_headers()
            try:
                for i in range(0, len(audio), 4096):
                    self.wfile.write(audio[i : i + 4096])
                    self.wfile.flush()
                    time.sleep(0.05)  # 16 pieces: at least 0.75 s in all
            except OSError:
                pass  # the client gave up, as it should
            self.close_connection = True
            return None
        if fault == "stall":
            self.send_response(200)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(audio)))
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.flush()
            time.sleep(2)
            self.close_connection = True
            return None
        return self._send(200, audio, ctype)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeProvider

    def handle_error(self, request: object, client_address: object) -> None:
        """Client hang-ups and TLS refusals are expected in fault tests."""


@contextmanager
def fake_provider(tmp_path: Path) -> Iterator[FakeProvider]:
    """Run a fake provider on 127.0.0.1 (a random port) for the duration of the block."""
    ca = trustme.CA()
    cert = ca.issue_cert(*HOSTS, "127.0.0.1")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(context)
    ca_file = tmp_path / "fake-provider-ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    fake = FakeProvider(ca=ca, ca_file=ca_file)
    server = _Server(("127.0.0.1", 0), _Handler, bind_and_activate=True)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    server.fake = fake
    fake.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
