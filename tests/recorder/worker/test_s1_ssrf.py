"""S1: hostile media URLs, hosts, ids, redirect targets and DNS answers (≥ 60 cases): 0
connections outside the allow-list, asserted at the socket layer (RELIABILITY.md T-SSRF).

The media URL is derived from the recording id + the configured base; everything else a
provider or an attacker could steer (a redirect, Telnyx's ``download_urls``, DNS) passes
the same policy. Every case runs under :func:`netguard.guard`, which records every
``connect``/``create_connection``/``getaddrinfo`` in the process.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recorder.errors import FetchError, FetchRefused
from recorder.fetch import (
    AUDIO_TYPES,
    Fetcher,
    address_allowed,
    check_url,
    telnyx_recording_url,
    twilio_media_url,
)
from recorder.providers import Endpoint
from storage.jobs import JobStore
from tests.recorder.fake_provider import ACCOUNT, TOKEN, FakeProvider
from tests.recorder.worker.conftest import (
    Clock,
    Workers,
    make_settings,
    payload,
    resolver,
    telnyx_id,
    twilio_id,
    wav,
)
from tests.recorder.worker.netguard import Net, guard

P = "{port}"  # replaced by the fake provider's port in each case

HOSTILE_URLS = [
    # not https
    f"http://api.twilio.test:{P}/x",
    f"HTTPS://api.twilio.test:{P}/x",
    "ftp://api.twilio.test/x",
    "file:///etc/passwd",
    "gopher://api.twilio.test:70/_x",
    "data:audio/wav;base64,UklGRg==",
    "javascript:alert(1)",
    f"//api.twilio.test:{P}/x",
    f"https:/api.twilio.test:{P}/x",
    f"https:///api.twilio.test:{P}/x",
    "",
    "https://",
    # other hosts and ports
    "https://evil.test/x",
    "https://api.twilio.test/x",  # 443 is not the configured port
    "https://api.twilio.test:22/x",
    "https://api.twilio.test:0/x",
    "https://api.twilio.test:65536/x",
    f"https://api.twilio.test:{P}0/x",
    f"https://api.twilio.test:{P}:{P}/x",
    "https://metadata.google.internal/computeMetadata/v1/",
    f"https://api.twilio.test.evil.test:{P}/x",
    f"https://evil-api.twilio.test:{P}/x",
    f"https://api.twilio.test.:{P}/x",
    f"https://API.TWILIO.TEST:{P}/x",
    # IP literals in every notation
    f"https://127.0.0.1:{P}/x",
    f"https://2130706433:{P}/x",
    f"https://0x7f000001:{P}/x",
    f"https://017700000001:{P}/x",
    f"https://127.1:{P}/x",
    f"https://0177.0.0.1:{P}/x",
    f"https://0x7f.0.0.1:{P}/x",
    f"https://[::1]:{P}/x",
    f"https://[::ffff:127.0.0.1]:{P}/x",
    f"https://[0:0:0:0:0:ffff:7f00:1]:{P}/x",
    "https://169.254.169.254/latest/meta-data/",
    "https://[fd00:ec2::254]/latest/meta-data/",
    "https://100.100.100.200/latest/meta-data/",
    f"https://0.0.0.0:{P}/x",
    "https://10.0.0.1/x",
    "https://192.168.1.1/x",
    # user info and parser confusion
    f"https://api.twilio.test:{P}@evil.test/x",
    f"https://user:pass@api.twilio.test:{P}/x",
    f"https://evil.test@api.twilio.test:{P}/x",
    f"https://api.twilio.test:{P}%40evil.test/x",
    f"https://evil.test#@api.twilio.test:{P}/x",
    f"https://evil.test\\@api.twilio.test:{P}/x",
    f"https://api.twilio.test:{P}\\@evil.test/x",
    f"https://evil.test?@api.twilio.test:{P}/x",
    f"https://[api.twilio.test]:{P}/x",
    f"https://api%2etwilio%2etest:{P}/x",
    f"https://api.twilio.test%00.evil.test:{P}/x",
    # IDN and non-ASCII look-alikes
    f"https://\u0430pi.twilio.test:{P}/x",
    f"https://xn--pi-7ld.twilio.test:{P}/x",
    f"https://api.twilio.test\uff0e:{P}/x",
    # whitespace, control characters, odd paths
    f"https://api.twilio.test:{P} /x",
    f"https://api.twilio.test:{P}/x\r\nHost: evil.test",
    f"https://api.twilio.test:{P}/x\x00",
    f"https://api.twilio.test:{P}/../../etc/passwd",
    f"https://api.twilio.test:{P}/x#fragment",
    f"https://api.twilio.test:{P}",
    f"https://api.twilio.test:{P}?q=1",
]

HOSTILE_ANSWERS: list[list[str]] = [
    ["127.0.0.1"],  # loopback is off unless the test flag is set
    ["::1"],
    ["169.254.169.254"],
    ["10.0.0.5"],
    ["172.16.0.1"],
    ["192.168.0.10"],
    ["100.64.0.1"],
    ["0.0.0.0"],  # noqa: S104 - a hostile DNS answer, not a bind address
    ["255.255.255.255"],
    ["224.0.0.251"],
    ["240.0.0.1"],
    ["::ffff:169.254.169.254"],
    ["::ffff:127.0.0.1"],
    ["::ffff:7f00:1"],
    ["fe80::1%eth0"],
    ["fe80::1"],
    ["fd00:ec2::254"],
    ["64:ff9b::a9fe:a9fe"],
    ["2002:a9fe:a9fe::1"],
    ["2001:0:4136:e378:8000:63bf:3fff:fdd2"],
    ["::"],
    ["2130706433"],
    ["0x7f000001"],
    ["017700000001"],
    ["127.1"],
    ["localhost"],
    [" 8.8.8.8"],
    ["8.8.8.8", "10.0.0.1"],  # one bad answer poisons the set (rebinding)
    ["2606:4700::1111", "::1"],
]

REDIRECTS = [
    "https://127.0.0.1/",
    "https://169.254.169.254/latest/meta-data/iam/security-credentials/",
    "http://api.twilio.test/x",
    "https://evil.test/x",
    "https://api.twilio.test@evil.test/x",
    "https://localhost:22/",
    "https://[::1]/",
    "file:///etc/passwd",
]

HOSTILE_IDS = [
    "../../etc/passwd",
    "RE" + "0" * 32 + "/../../x",
    "RE" + "0" * 31,
    "RE" + "0" * 33,
    "RE" + "G" * 32,
    "RE" + "A" * 32,
    "re" + "0" * 32,
    "RE" + "0" * 31 + "\n",
    "RE" + "0" * 30 + "%2f",
    "//evil.test/RE" + "0" * 32,
    "RE" + "0" * 32 + "?x=https://evil.test",
    "RE" + "0" * 32 + "@evil.test",
]

TELNYX_MEDIA_HOSTS = [
    "evil.test",
    "127.0.0.1",
    "api.telnyx.test@evil.test",
    "[::1]",
    "169.254.169.254",
]


@pytest.fixture
def net(provider: FakeProvider) -> Iterator[Net]:
    """The socket guard: only the fake provider (127.0.0.1:port) may be connected to."""
    names = dict.fromkeys(("api.twilio.test", "api.telnyx.test", "media.telnyx.test"), "127.0.0.1")
    with guard({("127.0.0.1", provider.port)}, names) as recorded:
        yield recorded


AUTH = {"Authorization": "Basic " + base64.b64encode(f"{ACCOUNT}:{TOKEN}".encode()).decode()}


def _fetch(fetcher: Fetcher, url: str) -> None:
    fetcher.request(
        "GET", url, headers=AUTH, accept=AUDIO_TYPES, sink=lambda _b: None, max_bytes=1 << 20,
        what="test",
    )  # fmt: skip


def test_case_count() -> None:
    total = (
        len(HOSTILE_URLS) + len(HOSTILE_ANSWERS) + len(REDIRECTS) + len(HOSTILE_IDS)
        + len(TELNYX_MEDIA_HOSTS)
    )  # fmt: skip
    assert total >= 60 and len(HOSTILE_URLS) >= 40


@pytest.mark.parametrize("template", HOSTILE_URLS)
def test_hostile_url_is_refused_before_any_network(
    template: str, provider: FakeProvider, net: Net
) -> None:
    url = template.replace(P, str(provider.port))
    fetcher = Fetcher(make_settings(provider), resolver=resolver)
    with pytest.raises(FetchRefused):
        _fetch(fetcher, url)
    assert net.connects == [] and net.lookups == []


@pytest.mark.parametrize("answers", HOSTILE_ANSWERS, ids=lambda a: "+".join(a))
def test_hostile_dns_answer_is_refused(
    answers: list[str], provider: FakeProvider, net: Net
) -> None:
    settings = make_settings(provider, allow_loopback_for_tests=False)
    fetcher = Fetcher(settings, resolver=lambda _h, _p: answers)
    url = twilio_media_url(settings.twilio, twilio_id(1))  # type: ignore[arg-type]
    with pytest.raises(FetchRefused):
        _fetch(fetcher, url)
    assert net.connects == []


@pytest.mark.parametrize(
    "answer", ["::ffff:127.0.0.1", "169.254.169.254", "10.1.2.3", "::ffff:10.0.0.1"]
)
def test_the_loopback_test_flag_admits_loopback_only(answer: str) -> None:
    assert address_allowed("127.0.0.1", allow_loopback=True)
    assert address_allowed("::1", allow_loopback=True)
    assert not address_allowed(answer, allow_loopback=True)
    assert not address_allowed("127.0.0.1", allow_loopback=False)
    assert address_allowed("8.8.8.8", allow_loopback=False)


def test_real_resolver_result_is_pinned_and_refused(provider: FakeProvider, net: Net) -> None:
    """Through ``getaddrinfo`` itself: a name the guard's DNS does not know never connects."""
    settings = make_settings(provider, allow_loopback_for_tests=False)
    fetcher = Fetcher(settings)  # the system resolver, i.e. the guarded getaddrinfo
    with pytest.raises(FetchRefused):  # resolves to 127.0.0.1, loopback not allowed
        _fetch(fetcher, twilio_media_url(settings.twilio, twilio_id(1)))  # type: ignore[arg-type]
    assert net.lookups == ["api.twilio.test"] and net.connects == []


@pytest.mark.parametrize("location", REDIRECTS)
def test_redirects_are_refused(
    location: str,
    provider: FakeProvider,
    net: Net,
    jobs: JobStore,
    workers: Workers,
    clock: Clock,
) -> None:
    rid = twilio_id(500)
    provider.add(rid, wav())
    provider.fault(rid, f"redirect:{location}")
    jobs.enqueue(provider="twilio", recording_id=rid, payload=payload("twilio", rid), now=clock())
    worker = workers()
    try:
        result = worker.run_once()
    finally:
        worker.close()
    assert result is not None and result.outcome == "failed"
    assert "redirect refused" in (result.error or "")
    assert net.outside == [] and len(net.connects) == 1


@pytest.mark.parametrize("location", REDIRECTS)
def test_an_allowed_redirect_hop_is_rechecked(
    location: str, provider: FakeProvider, net: Net
) -> None:
    settings = make_settings(provider)
    fetcher = Fetcher(settings, resolver=resolver, max_redirects=1)
    rid = twilio_id(501)
    provider.add(rid, wav())
    provider.fault(rid, f"redirect:{location}")
    with pytest.raises(FetchRefused):
        _fetch(fetcher, twilio_media_url(settings.twilio, rid))  # type: ignore[arg-type]
    assert net.outside == [] and len(net.connects) == 1


def test_an_allowed_redirect_drops_credentials(provider: FakeProvider, net: Net) -> None:
    settings = make_settings(provider)
    fetcher = Fetcher(settings, resolver=resolver, max_redirects=1)
    rid, tx = twilio_id(502), telnyx_id(502)
    provider.add(rid, wav())
    provider.add(tx, wav(seed=9))
    provider.fault(rid, f"redirect:https://media.telnyx.test:{provider.port}/media/{tx}.wav")
    body: list[bytes] = []
    fetcher.request(
        "GET", twilio_media_url(settings.twilio, rid),  # type: ignore[arg-type]
        headers=AUTH, accept=AUDIO_TYPES, sink=body.append,
        max_bytes=1 << 20, what="test",
    )  # fmt: skip
    assert b"".join(body) == wav(seed=9)  # the fake answers 400 if credentials follow
    assert net.outside == [] and len(net.connects) == 2


@pytest.mark.parametrize("rid", HOSTILE_IDS)
def test_hostile_ids_never_become_urls(
    rid: str, provider: FakeProvider, net: Net, jobs: JobStore, workers: Workers, clock: Clock
) -> None:
    settings = make_settings(provider)
    with pytest.raises(FetchRefused):
        twilio_media_url(settings.twilio, rid)  # type: ignore[arg-type]
    with pytest.raises(FetchRefused):
        telnyx_recording_url(settings.telnyx, rid)  # type: ignore[arg-type]
    body = payload("twilio", rid)
    if jobs.enqueue(provider="twilio", recording_id=rid.strip(), payload=body, now=clock()):
        worker = workers()
        try:
            result = worker.run_once()
        finally:
            worker.close()
        assert result is not None and result.outcome == "failed"
    assert net.connects == [] and net.lookups == []


@pytest.mark.parametrize("host", TELNYX_MEDIA_HOSTS)
def test_telnyx_download_urls_obey_the_allow_list(
    host: str, provider: FakeProvider, net: Net, jobs: JobStore, workers: Workers, clock: Clock
) -> None:
    rid = telnyx_id(600)
    provider.add(rid, wav())
    provider.media_host = host
    jobs.enqueue(provider="telnyx", recording_id=rid, payload=payload("telnyx", rid), now=clock())
    worker = workers()
    try:
        result = worker.run_once()
    finally:
        worker.close()
    assert result is not None and result.outcome == "failed"
    assert net.outside == [] and len(net.connects) == 1  # the API call only


def test_a_wrong_ca_is_refused_and_not_retried(provider: FakeProvider, net: Net) -> None:
    settings = replace(make_settings(provider), ca_file=None)  # system store: fake CA unknown
    fetcher = Fetcher(settings, resolver=resolver)
    with pytest.raises(FetchError) as caught:
        _fetch(fetcher, twilio_media_url(settings.twilio, twilio_id(1)))  # type: ignore[arg-type]
    assert not caught.value.retryable and "certificate" in str(caught.value)
    assert net.outside == []


ALLOWED = frozenset({Endpoint("api.twilio.test", 8443), Endpoint("media.telnyx.test", 443)})
_PIECES = st.sampled_from(
    ["https://", "http://", "api.twilio.test", "media.telnyx.test", "evil.test", ":8443",
     ":443", ":", "@", "/", "\\", "#", "?", "%40", "%2e", ".", "..", "[::1]", "127.0.0.1",
     "0x7f", "user:pw", "\u0430", "\x00", " ", "xn--", "/x.wav"]
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.lists(_PIECES, max_size=8).map("".join) | st.text(max_size=40))
def test_check_url_fuzz_only_admits_allowed_origins(url: str) -> None:
    try:
        target = check_url(url, ALLOWED)
    except FetchRefused:
        return
    assert target.endpoint in ALLOWED
    origin = f"https://{target.endpoint.host}"
    assert url.startswith(origin) and target.path.startswith("/")
    rest = url[len(origin) :]
    assert rest[:1] in ("/", ":") and "@" not in rest.split("/", 1)[0]
