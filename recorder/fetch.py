"""Provider media download behind an outbound policy (RELIABILITY S1, promise P11).

One job: given a provider and a recording id, fetch the audio into an anonymous in-memory
file, opening connections only to allow-listed provider hosts.

The policy, in the order it is applied (any refusal is :class:`FetchRefused`, before a
socket exists):

1. The URL is **derived** from the recording id and the configured API base
   (:func:`twilio_media_url`, :func:`telnyx_recording_url`); ids are matched against the
   provider's pattern first, so nothing from a webhook body becomes a host, path or query.
   The one URL taken from a response (Telnyx's ``download_urls``, an optional redirect)
   goes through the same :func:`check_url`.
2. :func:`check_url`: ``https`` only, no user info, no IP literal in any notation, a plain
   lower-case ASCII host name, and (host, port) on the allow-list.
3. :func:`pin`: the name is resolved **once**; every answer must be a global unicast
   address (:func:`recorder.ipspecial.is_global_unicast`: nothing from the IANA
   special-purpose registries, IPv6 only from ``2000::/3``; IPv4-mapped and NAT64
   addresses judged by the IPv4 address they carry; 6to4, Teredo and scoped ones
   refused). The connection then goes to that IP, while TLS verifies the certificate
   against the *name* (SNI + hostname check, system store or the configured CA file).
   ``allow_loopback_for_tests`` admits 127.0.0.0/8 and ::1 only, for the fake provider
   server of the tests.
4. :class:`Fetcher`: ``http.client`` over the pinned socket, connect/read timeouts plus a
   whole-transfer deadline (a slow drip is cut), redirects refused (unless explicitly
   allowed by ``max_redirects``; each hop is then re-checked, re-pinned and sent without
   credentials), ``Content-Type`` checked, size capped by ``Content-Length`` and by the
   bytes really read, a body shorter than its ``Content-Length`` detected.

Errors carry ``retryable``: 5xx, 408, 429, reset, timeout, short body and a wrong content
type are worth another attempt; other 4xx, oversize and policy refusals are not.

Why memory and not the vault's streaming sealer: capture must decode the whole file
first (duration from real samples, trimming to answer/hang-up, format sniffing) before
anything is sealed, and the decoder wants a seekable file. The bytes therefore go to a
``memfd`` (``MFD_CLOEXEC``): anonymous, never linked into any file system, gone when the
descriptor closes, and capped by ``max_bytes``. Nothing plaintext touches the disk; the
decoded audio is sealed by :class:`~recorder.capture.Capturer` as for every other source.
"""

from __future__ import annotations

import base64
import contextlib
import http.client
import ipaddress
import os
import re
import socket
import ssl
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from recorder.errors import FetchError, FetchRefused
from recorder.fieldrules import caller_id
from recorder.ipspecial import is_global_unicast
from recorder.providers import (
    HOST_NAME,
    Endpoint,
    FetchSettings,
    TelnyxAccess,
    TwilioAccess,
)
from storage import safejson
from storage.errors import MalformedJson

#: (host, port) → the addresses it resolves to, as text.
Resolver = Callable[[str, int], Sequence[str]]

TWILIO_RECORDING = re.compile(r"RE[0-9a-f]{32}")
TWILIO_CALL = re.compile(r"CA[0-9a-f]{32}")
TELNYX_RECORDING = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")

AUDIO_TYPES = frozenset(
    {"audio/x-wav", "audio/wav", "audio/wave", "audio/vnd.wave", "audio/mpeg", "audio/mp3"}
)
JSON_TYPES = frozenset({"application/json"})
#: Largest JSON document (recording/call metadata) read from a provider.
MAX_JSON_BYTES = 256 * 1024
_API_JSON = safejson.JsonLimits(max_bytes=MAX_JSON_BYTES)
_CHUNK = 65536
_RETRY_STATUS = frozenset({408, 425, 429})
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_LOOPBACK4 = ipaddress.ip_network("127.0.0.0/8")


def system_resolver(host: str, port: int) -> list[str]:
    """Every TCP address ``getaddrinfo`` returns for ``host`` (no caching here)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError) as exc:
        raise FetchError("provider host name did not resolve", retryable=True) from exc
    return [str(info[4][0]) for info in infos]


# -- 1/2: URLs ----------------------------------------------------------------------------


def twilio_media_url(access: TwilioAccess, recording_id: str, fmt: str = "wav") -> str:
    """``{base}/2010-04-01/Accounts/{AC}/Recordings/{RE}.{wav|mp3}`` from validated parts."""
    if not TWILIO_RECORDING.fullmatch(recording_id) or fmt not in ("wav", "mp3", "json"):
        raise FetchRefused("not a Twilio recording id")
    return (
        f"https://{access.base}/2010-04-01/Accounts/{access.account_sid}"
        f"/Recordings/{recording_id}.{fmt}"
    )


def twilio_call_url(access: TwilioAccess, call_id: str) -> str:
    """``{base}/2010-04-01/Accounts/{AC}/Calls/{CA}.json`` (the caller and call times)."""
    if not TWILIO_CALL.fullmatch(call_id):
        raise FetchRefused("not a Twilio call id")
    return f"https://{access.base}/2010-04-01/Accounts/{access.account_sid}/Calls/{call_id}.json"


def telnyx_recording_url(access: TelnyxAccess, recording_id: str) -> str:
    """``{base}/v2/recordings/{uuid}``: the JSON whose ``download_urls`` hold the media."""
    if not TELNYX_RECORDING.fullmatch(recording_id):
        raise FetchRefused("not a Telnyx recording id")
    return f"https://{access.base}/v2/recordings/{recording_id}"


@dataclass(frozen=True, slots=True)
class Target:
    """A checked URL: allow-listed origin plus the request target (path and query)."""

    endpoint: Endpoint
    path: str


def check_url(url: str, allowed: frozenset[Endpoint]) -> Target:
    """Apply the URL part of the policy (module docstring, step 2) or :class:`FetchRefused`."""
    if not isinstance(url, str) or len(url) > 4096 or not url.isascii():
        raise FetchRefused("media URL refused: not a plain ASCII URL")
    if any(c.isspace() or ord(c) < 0x20 or c in "\\" for c in url):
        raise FetchRefused("media URL refused: control, space or backslash characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise FetchRefused("media URL refused: unparseable") from None
    if parts.scheme != "https" or not url.startswith("https://"):
        raise FetchRefused("media URL refused: only https is allowed")
    if "@" in parts.netloc or parts.username is not None or parts.password is not None:
        raise FetchRefused("media URL refused: user info is not allowed")
    host = parts.hostname or ""
    written = parts.netloc.rsplit(":", 1)[0] if port is not None else parts.netloc
    if written != host or not HOST_NAME.fullmatch(host) or host.replace(".", "").isdigit():
        raise FetchRefused("media URL refused: host must be a plain DNS name")
    if port is None and parts.netloc.endswith(":"):
        raise FetchRefused("media URL refused: empty port")
    endpoint = Endpoint(host=host, port=443 if port is None else port)
    if endpoint not in allowed:
        raise FetchRefused("media URL refused: host is not on the provider allow-list")
    if parts.fragment or not parts.path.startswith("/") or "/../" in f"{parts.path}/":
        raise FetchRefused("media URL refused: bad path")
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    return Target(endpoint=endpoint, path=path)


# -- 3: addresses -------------------------------------------------------------------------


def address_allowed(text: str, *, allow_loopback: bool) -> bool:
    """True if ``text`` is a canonical IP address a media connection may go to."""
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        return False
    if str(ip) != text.lower():  # refuse odd spellings a resolver should never produce
        return False
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.scope_id is not None:
            return False
        embedded = ip.ipv4_mapped
        if ip.teredo is not None or ip.sixtofour is not None:
            return False  # tunnels to somewhere else: never a provider's address
        if ip in _NAT64:
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if embedded is not None:
            return address_allowed(str(embedded), allow_loopback=allow_loopback) and not (
                allow_loopback and embedded in _LOOPBACK4
            )
        if allow_loopback and ip == ipaddress.IPv6Address("::1"):
            return True
    elif allow_loopback and ip in _LOOPBACK4:
        return True
    return is_global_unicast(ip)


def pin(endpoint: Endpoint, resolver: Resolver, *, allow_loopback: bool) -> str:
    """Resolve once; every answer must be allowed; return the first (the pinned address)."""
    answers = list(resolver(endpoint.host, endpoint.port))
    if not answers:
        raise FetchError("provider host name did not resolve", retryable=True)
    for answer in answers:
        if not isinstance(answer, str) or not address_allowed(
            answer, allow_loopback=allow_loopback
        ):
            raise FetchRefused("provider host resolved to a refused address")
    return answers[0]


# -- 4: HTTP ------------------------------------------------------------------------------


class _PinnedConnection(http.client.HTTPSConnection):
    """HTTPS to ``host`` (SNI, certificate name) over a TCP connection to ``address``."""

    def __init__(
        self,
        endpoint: Endpoint,
        address: str,
        context: ssl.SSLContext,
        *,
        connect_timeout: float,
        read_timeout: float,
    ) -> None:
        super().__init__(endpoint.host, endpoint.port, timeout=connect_timeout, context=context)
        self._address = address
        self._tls = context
        self._read_timeout = read_timeout

    def connect(self) -> None:
        """Connect to the pinned address; verify TLS against the host name."""
        raw = socket.create_connection((self._address, self.port), self.timeout)
        try:
            raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.sock = self._tls.wrap_socket(raw, server_hostname=self.host)
        except BaseException:
            raw.close()
            raise
        self.sock.settimeout(self._read_timeout)


def tls_context(ca_file: Path | None) -> ssl.SSLContext:
    """Certificate and host-name verification on, TLS 1.2+, system store or ``ca_file``."""
    context = ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.check_hostname = True
    context.verify_mode = ssl.CERT_REQUIRED
    return context


@dataclass(frozen=True, slots=True)
class Fetched:
    """A finished download: status, media type and size (the bytes went to the sink)."""

    status: int
    content_type: str
    size: int


def _media_type(value: str | None) -> str:
    return (value or "").split(";", 1)[0].strip().lower()


def _status_error(status: int, what: str) -> FetchError:
    if 300 <= status < 400:
        return FetchRefused(f"{what}: redirect refused (HTTP {status})")
    retryable = status >= 500 or status in _RETRY_STATUS
    return FetchError(f"{what}: provider answered HTTP {status}", retryable=retryable)


class Fetcher:
    """Requests under the outbound policy; one connection per request, closed after it."""

    def __init__(
        self,
        settings: FetchSettings,
        *,
        resolver: Resolver = system_resolver,
        monotonic: Callable[[], float] = time.monotonic,
        max_redirects: int | None = None,
    ) -> None:
        self.settings = settings
        self.allowed = settings.allowed
        self._resolver = resolver
        self._monotonic = monotonic
        self._context = tls_context(settings.ca_file)
        self._max_redirects = settings.max_redirects if max_redirects is None else max_redirects

    def request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str],
        accept: frozenset[str],
        sink: Callable[[bytes], None],
        max_bytes: int,
        what: str,
    ) -> Fetched:
        """``method url``; a 200/204 body goes to ``sink`` in chunks. Errors per docstring."""
        redirects = 0
        while True:
            target = check_url(url, self.allowed)
            with self._exchange(method, target, headers, what) as response:
                status = response.status
                if 300 <= status < 400 and redirects < self._max_redirects:
                    location = response.getheader("Location") or ""
                    redirects += 1
                    headers = {
                        k: v for k, v in headers.items() if k.lower() != "authorization"
                    }  # never send credentials to where a redirect points
                    url = location
                    continue
                if status not in (200, 204):
                    raise _status_error(status, what)
                if status == 204 or method == "DELETE":
                    return Fetched(status=status, content_type="", size=0)
                return self._body(response, accept=accept, sink=sink, max_bytes=max_bytes,
                                  what=what)  # fmt: skip

    @contextlib.contextmanager
    def _exchange(
        self, method: str, target: Target, headers: Mapping[str, str], what: str
    ) -> Iterator[http.client.HTTPResponse]:
        address = pin(
            target.endpoint, self._resolver, allow_loopback=self.settings.allow_loopback_for_tests
        )
        conn = _PinnedConnection(
            target.endpoint,
            address,
            self._context,
            connect_timeout=self.settings.connect_timeout,
            read_timeout=self.settings.read_timeout,
        )
        try:
            try:
                conn.request(
                    method,
                    target.path,
                    headers={"Accept-Encoding": "identity", "User-Agent": "callrec", **headers},
                )
                response = conn.getresponse()
            except ssl.SSLCertVerificationError as exc:
                raise FetchError(f"{what}: TLS certificate refused", retryable=False) from exc
            except (OSError, http.client.HTTPException) as exc:
                raise FetchError(
                    f"{what}: connection failed ({type(exc).__name__})", retryable=True
                ) from exc
            yield response
        finally:
            conn.close()

    def _body(
        self,
        response: http.client.HTTPResponse,
        *,
        accept: frozenset[str],
        sink: Callable[[bytes], None],
        max_bytes: int,
        what: str,
    ) -> Fetched:
        media_type = _media_type(response.getheader("Content-Type"))
        encoding = (response.getheader("Content-Encoding") or "identity").strip().lower()
        if media_type not in accept or encoding != "identity":
            raise FetchError(f"{what}: unexpected content type", retryable=True)
        declared_text = response.getheader("Content-Length")
        declared: int | None = None
        if declared_text is not None:
            if not declared_text.strip().isdigit():
                raise FetchError(f"{what}: malformed Content-Length", retryable=True)
            declared = int(declared_text)
            if declared > max_bytes:
                raise FetchError(f"{what}: media larger than the size cap", retryable=False)
        deadline = self._monotonic() + self.settings.transfer_timeout
        size = 0
        try:
            while True:
                chunk = response.read1(_CHUNK)  # returns what arrived: the deadline holds
                if not chunk:
                    break
                size += len(chunk)
                if size > max_bytes:
                    raise FetchError(f"{what}: media larger than the size cap", retryable=False)
                if self._monotonic() > deadline:
                    raise FetchError(f"{what}: transfer too slow", retryable=True)
                sink(chunk)
        except (OSError, http.client.HTTPException) as exc:
            raise FetchError(
                f"{what}: transfer interrupted ({type(exc).__name__})", retryable=True
            ) from exc
        if declared is not None and size != declared:
            raise FetchError(f"{what}: body shorter than its Content-Length", retryable=True)
        if size == 0:
            raise FetchError(f"{what}: empty body", retryable=True)
        return Fetched(status=response.status, content_type=media_type, size=size)

    def json(self, url: str, *, headers: Mapping[str, str], what: str) -> Any:
        """GET a small JSON document (at most :data:`MAX_JSON_BYTES`)."""
        parts: list[bytes] = []
        self.request(
            "GET",
            url,
            headers={"Accept": "application/json", **headers},
            accept=JSON_TYPES,
            sink=parts.append,
            max_bytes=MAX_JSON_BYTES,
            what=what,
        )
        try:
            return safejson.loads(b"".join(parts), limits=_API_JSON)
        except MalformedJson as exc:  # the same document next time: failing is final
            raise FetchError(f"{what}: malformed JSON ({exc})", retryable=False) from None


# -- provider media -----------------------------------------------------------------------


class MediaFile:
    """Downloaded media in an anonymous memory file (``memfd``); close to free it."""

    def __init__(self) -> None:
        self.fd = os.memfd_create("callrec-media", os.MFD_CLOEXEC)
        self.size = 0

    def write(self, chunk: bytes) -> None:
        """Append ``chunk`` (the fetcher's sink)."""
        view = memoryview(chunk)
        while view:
            written = os.write(self.fd, view)
            view = view[written:]
        self.size += len(chunk)

    def reset(self) -> None:
        """Drop what was written (a failed attempt must not leave a prefix behind)."""
        os.ftruncate(self.fd, 0)
        os.lseek(self.fd, 0, os.SEEK_SET)
        self.size = 0

    @property
    def path(self) -> Path:
        """A path the audio decoder can open: this process's view of the descriptor."""
        return Path(f"/proc/self/fd/{self.fd}")

    def close(self) -> None:
        """Free the memory."""
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def __enter__(self) -> MediaFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _basic(access: TwilioAccess) -> dict[str, str]:
    token = base64.b64encode(f"{access.username}:{access.password}".encode()).decode("ascii")
    return {"Authorization": f"Basic {token}"}


def _bearer(access: TelnyxAccess) -> dict[str, str]:
    return {"Authorization": f"Bearer {access.api_key}"}


class ProviderMedia:
    """Fetch (and optionally delete) a provider's recording by id, under the policy."""

    def __init__(self, fetcher: Fetcher) -> None:
        self.fetcher = fetcher
        self.settings = fetcher.settings

    def _twilio(self) -> TwilioAccess:
        if self.settings.twilio is None:
            raise FetchError("twilio media fetch is not configured", retryable=False)
        return self.settings.twilio

    def _telnyx(self) -> TelnyxAccess:
        if self.settings.telnyx is None:
            raise FetchError("telnyx media fetch is not configured", retryable=False)
        return self.settings.telnyx

    def download(
        self, provider: str, recording_id: str, media: MediaFile, *, formats: Sequence[str]
    ) -> Fetched:
        """Fetch the recording's audio into ``media`` (emptied first)."""
        media.reset()
        if provider == "twilio":
            access = self._twilio()
            fmt = "mp3" if list(formats)[:1] == ["mp3"] else "wav"
            return self.fetcher.request(
                "GET",
                twilio_media_url(access, recording_id, fmt),
                headers=_basic(access),
                accept=AUDIO_TYPES,
                sink=media.write,
                max_bytes=self.settings.max_bytes,
                what="twilio media",
            )
        if provider == "telnyx":
            access_t = self._telnyx()
            document = self.fetcher.json(
                telnyx_recording_url(access_t, recording_id),
                headers=_bearer(access_t),
                what="telnyx recording",
            )
            url = _telnyx_download_url(document, formats)
            return self.fetcher.request(
                "GET",
                url,
                headers={},  # the API key goes to the API only, never to a storage host
                accept=AUDIO_TYPES,
                sink=media.write,
                max_bytes=self.settings.max_bytes,
                what="telnyx media",
            )
        raise FetchError("no media fetch for this provider", retryable=False)

    def twilio_caller(self, call_id: str) -> str | None:
        """The raw ``from`` of a Twilio call (request memory only: mask it at once)."""
        access = self._twilio()
        document = self.fetcher.json(
            twilio_call_url(access, call_id), headers=_basic(access), what="twilio call"
        )
        return caller_id(document.get("from")) if isinstance(document, dict) else None

    def delete(self, provider: str, recording_id: str) -> None:
        """DELETE the provider's copy (same derived URL); a non-2xx is a :class:`FetchError`."""
        if provider == "twilio":
            access = self._twilio()
            url = twilio_media_url(access, recording_id, "json")
            headers = _basic(access)
        elif provider == "telnyx":
            access_t = self._telnyx()
            url = telnyx_recording_url(access_t, recording_id)
            headers = _bearer(access_t)
        else:
            raise FetchError("no media delete for this provider", retryable=False)
        self.fetcher.request(
            "DELETE",
            url,
            headers=headers,
            accept=frozenset(),
            sink=lambda _chunk: None,
            max_bytes=0,
            what=f"{provider} delete",
        )


def _telnyx_download_url(document: Any, formats: Sequence[str]) -> str:
    data = document.get("data") if isinstance(document, dict) else None
    urls = data.get("download_urls") if isinstance(data, dict) else None
    if not isinstance(urls, dict):
        raise FetchError("telnyx recording: no download_urls", retryable=True)
    for fmt in [*formats, "wav", "mp3"]:
        url = urls.get(fmt)
        if isinstance(url, str):
            return url
    raise FetchError("telnyx recording: no wav or mp3 download", retryable=True)
