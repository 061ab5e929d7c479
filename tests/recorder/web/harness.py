"""A real callrec webhook server on 127.0.0.1 (port 0) and clients that sign like providers.

Twilio requests are signed by the real ``twilio`` package's ``RequestValidator``, uploads
by the real ``standardwebhooks`` package, Telnyx events with an Ed25519 test key pair.
Every request goes over a real socket with stdlib ``http.client``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import json
import random
import tomllib
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

from standardwebhooks import webhooks
from twilio.request_validator import RequestValidator

from recorder.config import Config, parse_config
from recorder.ingest.verify.query import query_key, sign_query
from recorder.ingest.verify.upload import content_digest
from recorder.web.app import AppDeps
from recorder.web.config import WebSettings, load_web_settings
from recorder.web.server import BackgroundServer, ServerPaths, make_deps, uvicorn_config
from recorder.web.store import JobQueue
from storage.crypto import sign, signing_public_key
from storage.jobs import Job, JobStore, jobs_path
from storage.keyring import FileKeyRing

TWILIO_TOKEN = "test-twilio-auth-token-0001"  # noqa: S105 - test secret
TWILIO_TOKEN_OLD = "test-twilio-auth-token-0000"  # noqa: S105
BASE_URL = "https://hooks.example.com"
TELNYX_SEED = bytes(range(32))
TELNYX_PUBLIC = base64.b64encode(signing_public_key(TELNYX_SEED)).decode("ascii")
UPLOAD_SECRET = "whsec_" + base64.b64encode(b"callrec-test-upload-secret-32by").decode()
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
FORM = "application/x-www-form-urlencoded"
BOUNDARY_DEFAULT = "callrec-boundary-5f1e"

Headers = list[tuple[str, str]]

ORG_CHART = """
default_region = "NO"
[[users]]
id = "anna"
roles = ["agent"]
[[users]]
id = "bjorn"
roles = ["agent"]
[[users]]
id = "siri"
roles = ["supervisor"]
[[teams]]
id = "oslo-1"
leaders = [{ user = "siri", from = "2026-01-01T00:00:00Z" }]
members = [
  { user = "anna", from = "2026-01-01T00:00:00Z" },
  { user = "bjorn", from = "2026-01-01T00:00:00Z" },
]
"""


def hex32(rng: random.Random) -> str:
    return "".join(rng.choice("0123456789abcdef") for _ in range(32))


@dataclass(frozen=True)
class Reply:
    status: int
    body: dict[str, Any]


@dataclass
class Clock:
    """The server's clock: fixed, moved by tests."""

    now: datetime = NOW

    def __call__(self) -> datetime:
        return self.now


def web_config(extra_toml: str = "") -> Config:
    document = tomllib.loads(
        ORG_CHART + f'\n[webhooks]\npublic_base_url = "{BASE_URL}"\n' + extra_toml
    )
    return parse_config(document)


def settings_for(config: Config, **env: str) -> WebSettings:
    environ = {
        "CALLREC_TWILIO_AUTH_TOKEN": TWILIO_TOKEN,
        "CALLREC_TWILIO_AUTH_TOKEN_PREVIOUS": TWILIO_TOKEN_OLD,
        "CALLREC_TELNYX_PUBLIC_KEY": TELNYX_PUBLIC,
        "CALLREC_UPLOAD_SECRET": UPLOAD_SECRET,
    } | env
    return load_web_settings(config, environ)


def twilio_params(
    recording: str,
    call: str,
    account: str,
    *,
    status: str = "completed",
    duration: int = 42,
    start: datetime = NOW - timedelta(minutes=2),
) -> list[tuple[str, str]]:
    """A RecordingStatusCallback body as Twilio sends it."""
    params = [
        ("AccountSid", account),
        ("CallSid", call),
        ("RecordingSid", recording),
        ("RecordingStatus", status),
        ("RecordingSource", "DialVerb"),
        (
            "RecordingUrl",
            f"https://api.twilio.com/2010-04-01/Accounts/{account}/Recordings/{recording}",
        ),
        ("RecordingStartTime", start.strftime("%a, %d %b %Y %H:%M:%S +0000")),
        ("RecordingChannels", "1"),
        ("ErrorCode", "0"),
    ]
    if status == "completed":
        params.append(("RecordingDuration", str(duration)))
    return params


def twilio_request(
    params: Sequence[tuple[str, str]],
    *,
    query: str = "",
    token: str = TWILIO_TOKEN,
    path: str = "/hooks/twilio",
    base: str = BASE_URL,
) -> tuple[str, bytes, Headers]:
    """(target, body, headers) signed by the real twilio RequestValidator."""
    target = path + (f"?{query}" if query else "")
    multi: dict[str, list[str]] = {}
    for name, value in params:
        multi.setdefault(name, []).append(value)

    class Multi(dict[str, list[str]]):
        def getlist(self, key: str) -> list[str]:
            return self[key]

    signature = RequestValidator(token).compute_signature(base + target, Multi(multi))
    body = urlencode(list(params)).encode("ascii")
    return target, body, [("Content-Type", FORM), ("X-Twilio-Signature", signature)]


def telnyx_event(
    recording: str,
    *,
    event_type: str = "call.recording.saved",
    caller: str | None = None,
    start: datetime = NOW - timedelta(minutes=2),
    seconds: int = 42,
) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "recording_id": recording,
        "call_leg_id": "v3:leg-7c1d9e0a-b2f3-4d5e-a6b7-c8d9e0f1a2b3",
        "call_session_id": "5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b9",
        "channels": "single",
        "to": "+4722000000",
        "recording_started_at": start.isoformat().replace("+00:00", "Z"),
        "recording_ended_at": (start + timedelta(seconds=seconds)).isoformat(),
        "recording_urls": {"wav": "https://evil.example/x.wav", "mp3": None},
    }
    if caller is not None:
        payload["from"] = caller
    return {
        "data": {
            "event_type": event_type,
            "id": "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d",
            "occurred_at": NOW.isoformat(),
            "record_type": "event",
            "payload": payload,
        },
        "meta": {"attempt": 1, "delivered_to": "https://hooks.example.com/hooks/telnyx"},
    }


def telnyx_request(
    document: Mapping[str, Any] | bytes, *, stamp: int | None = None, seed: bytes = TELNYX_SEED
) -> tuple[bytes, Headers]:
    body = document if isinstance(document, bytes) else json.dumps(document).encode()
    text = str(int(NOW.timestamp()) if stamp is None else stamp)
    signature = base64.b64encode(sign(seed, text.encode() + b"|" + body)).decode()
    return body, [
        ("Content-Type", "application/json"),
        ("telnyx-signature-ed25519", signature),
        ("telnyx-timestamp", text),
    ]


def multipart(metadata: Mapping[str, Any] | bytes, audio: bytes, boundary: str) -> bytes:
    meta = metadata if isinstance(metadata, bytes) else json.dumps(metadata).encode()
    return b"".join(
        [
            f"--{boundary}\r\n".encode(),
            b'Content-Disposition: form-data; name="metadata"\r\n',
            b"Content-Type: application/json\r\n\r\n",
            meta,
            f"\r\n--{boundary}\r\n".encode(),
            b'Content-Disposition: form-data; name="audio"; filename="call.wav"\r\n',
            b"Content-Type: audio/wav\r\n\r\n",
            audio,
            f"\r\n--{boundary}--\r\n".encode(),
        ]
    )


def standard_signature(body: bytes, *, msg_id: str, secret: str, at: datetime) -> str:
    """Standard Webhooks v1 over raw bytes (the reference package signs text only; a
    test checks this equals ``standardwebhooks`` for a UTF-8 body)."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{msg_id}.{int(at.timestamp())}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def reference_signature(text: str, *, msg_id: str, secret: str, at: datetime) -> str:
    """The ``standardwebhooks`` package's own signature of a text body."""
    return str(webhooks.Webhook(secret).sign(msg_id, at, text))


def upload_request(
    body: bytes,
    boundary: str,
    *,
    msg_id: str = "msg_1",
    secret: str = UPLOAD_SECRET,
    at: datetime = NOW,
    length: int | None = None,
) -> Headers:
    """The headers of a signed upload: Standard Webhooks over the body, plus the
    content digest and the early signature over (id, timestamp, length, digest), made by
    the real ``standardwebhooks`` package (``length`` lies about the body if given)."""
    signature = standard_signature(body, msg_id=msg_id, secret=secret, at=at)
    digest = content_digest(body)
    size = len(body) if length is None else length
    early = reference_signature(f"{size}.{digest}", msg_id=msg_id, secret=secret, at=at)
    return [
        ("Content-Type", f"multipart/form-data; boundary={boundary}"),
        ("webhook-id", msg_id),
        ("webhook-timestamp", str(int(at.timestamp()))),
        ("webhook-signature", signature),
        ("content-digest", digest),
        ("callrec-upload-signature", early),
    ]


@dataclass
class Web:
    """A running server plus what tests need to look behind it."""

    home: Path
    keyring: Path
    config: Config
    clock: Clock
    server: BackgroundServer
    closers: list[Callable[[], None]] = field(default_factory=list)

    @property
    def port(self) -> int:
        return self.server.port

    def request(
        self,
        method: str,
        target: str,
        body: bytes = b"",
        headers: Headers | None = None,
        timeout: float = 30.0,
    ) -> Reply:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.putrequest(method, target, skip_accept_encoding=True)
            for name, value in headers or []:
                conn.putheader(name, value)
            conn.putheader("Content-Length", str(len(body)))
            conn.endheaders(body)
            response = conn.getresponse()
            raw = response.read()
        finally:
            conn.close()
        try:
            data = json.loads(raw) if raw else {}
        except json.JSONDecodeError:
            data = {"raw": raw.decode("latin-1")}
        return Reply(response.status, data)

    def twilio(self, params: Sequence[tuple[str, str]], **kw: Any) -> Reply:
        target, body, headers = twilio_request(params, **kw)
        return self.request("POST", target, body, headers)

    def telnyx(
        self, document: Mapping[str, Any] | bytes, *, query: str = "", signed: bool = True,
        **kw: Any,
    ) -> Reply:  # fmt: skip
        """POST a Telnyx event; ``query`` gets its ``sig`` as ``callrec webhooks
        callback-url`` would make it, unless ``signed`` is False (an attacker's URL)."""
        body, headers = telnyx_request(document, **kw)
        if query and signed:
            pairs = parse_qsl(query, keep_blank_values=True)
            key = query_key(FileKeyRing.load(self.keyring).audit_signing_seed())
            query = urlencode([*pairs, ("sig", sign_query(key, pairs))])
        return self.request("POST", "/hooks/telnyx" + (f"?{query}" if query else ""), body, headers)

    def jobs(self) -> list[Job]:
        """All jobs, read over a second, fresh connection (as another process would)."""
        store = JobStore.open(jobs_path(self.home))
        try:
            return store.list(limit=100_000)
        finally:
            store.close()


@contextmanager
def running(
    tmp: Path,
    *,
    extra_toml: str = "",
    env: Mapping[str, str] | None = None,
    open_jobs: Callable[[Path], JobQueue] | None = None,
    create: bool = True,
    wrap_deps: Callable[[AppDeps], AppDeps] | None = None,
) -> Iterator[Web]:
    """Start a server over the store at ``tmp/data`` (keyring created unless present)."""
    home, keyring = tmp / "data", tmp / "keys" / "keyring.json"
    if create and not keyring.exists():
        FileKeyRing.create(keyring, random.Random(99).randbytes)
    config = web_config(extra_toml)
    settings = settings_for(config, **(env or {}))
    clock = Clock()
    deps = make_deps(
        ServerPaths(home=home, keyring=keyring),
        config,
        settings,
        clock=clock,
        rng=random.Random(5).randbytes,
        open_jobs=None if open_jobs is None else (lambda: open_jobs(home)),
    )
    if wrap_deps is not None:
        deps = wrap_deps(deps)
    server = BackgroundServer(uvicorn_config(deps, "127.0.0.1", 0)).start()
    web = Web(home=home, keyring=keyring, config=config, clock=clock, server=server)
    try:
        yield web
    finally:
        server.stop()
        deps.store.close()


def worker_for(web: Web, fake: Any, worker_id: str = "w1") -> Any:
    """A real worker over ``web``'s store fetching from the fake provider ``fake``."""
    from recorder.capture import Capturer
    from recorder.fetch import Fetcher, ProviderMedia
    from recorder.worker import Worker, WorkerParts
    from storage.vault import Vault
    from tests.recorder.worker.conftest import make_settings, resolver

    settings = make_settings(fake)

    def open_parts() -> WorkerParts:
        vault = Vault.open(web.home, FileKeyRing.load(web.keyring))
        return WorkerParts(
            jobs=JobStore.open(jobs_path(web.home)), capturer=Capturer(vault, web.config)
        )

    return Worker(
        open_parts=open_parts,
        settings=settings,
        media=ProviderMedia(Fetcher(settings, resolver=resolver)),
        now=web.clock,
        rng=random.Random(worker_id).randbytes,
        worker_id=worker_id,
    )
