"""The web app's small parts on their own: Range parsing, peaks, the chart, settings, passwords,
CSRF tokens and origin checks, and the redacted spans read off a transcript."""

from __future__ import annotations

import tomllib
from datetime import date, timedelta

import numpy as np
import pytest
from argon2 import PasswordHasher

from recorder.config import parse_config
from recorder.errors import ConfigError
from recorder.qa_report import TrendPoint
from recorder.web.ui.audio import byte_range
from recorder.web.ui.call_view import redacted_spans
from recorder.web.ui.chart import trend_chart
from recorder.web.ui.csrf import csrf_token, same_origin, token_matches
from recorder.web.ui.passwords import hash_password, needs_rehash, verify_password
from recorder.web.ui.peaks import peaks
from recorder.web.ui.settings import UiSettings, ui_settings
from transcribe.models import Segment, Transcript, Word

SECRET = "s3cret-oidc"  # noqa: S105 - a test secret


@pytest.mark.parametrize(
    ("header", "want"),
    [
        (None, (0, 999, False)),
        ("bytes=0-", (0, 999, True)),
        ("bytes=10-19", (10, 19, True)),
        ("bytes=990-5000", (990, 999, True)),
        ("bytes=-10", (990, 999, True)),
        ("bytes=-5000", (0, 999, True)),
        ("bytes=1000-", None),
        ("bytes=20-10", None),
        ("bytes=-0", None),
        ("bytes=0-1,4-5", (0, 999, False)),  # several ranges: the whole file
        ("items=0-9", (0, 999, False)),
        ("bytes=99999999999999999999-", (0, 999, False)),  # absurd: ignored, not a crash
        ("bytes=-", (0, 999, False)),
    ],
)
def test_range_headers(header: str | None, want: tuple[int, int, bool] | None) -> None:
    assert byte_range(header, 1000) == want


def _pcm(frames: np.ndarray) -> bytes:
    return frames.astype("<i2").tobytes()


def test_peaks_are_the_loudest_sample_per_stretch_whatever_the_chunking() -> None:
    rng = np.random.default_rng(5)
    audio = rng.integers(-1000, 1000, size=(8000, 2))
    audio[4000, 1] = -32768
    audio[100, 0] = 16384
    data = _pcm(audio)
    whole = peaks([data], channels=2, frames=8000, buckets=80)
    cut = peaks([data[i : i + 333] for i in range(0, len(data), 333)], channels=2,
                frames=8000, buckets=80)  # fmt: skip
    assert whole == cut
    assert len(whole) == 2 and len(whole[0]) == 80
    assert whole[0][1] == 0.5 and whole[1][40] == 1.0
    assert max(whole[0][2:]) < 0.04
    assert peaks([], channels=1, frames=0) == [[]]


def test_the_chart_places_weeks_left_to_right_and_breaks_the_line_on_a_gap() -> None:
    monday = date(2026, 11, 2)
    trend = tuple(
        TrendPoint(week=monday + timedelta(days=7 * i), scorecards=2, percent=p)
        for i, p in enumerate((100.0, 50.0, None, 0.0, 25.0))
    )
    chart = trend_chart(trend)
    xs = [d.x for d in chart.dots]
    assert xs == sorted(xs) and len(chart.dots) == 4
    assert chart.dots[0].y < chart.dots[1].y < chart.dots[2].y  # 100 % is at the top
    assert len(chart.lines) == 2  # 100-50, then 0-25: nothing drawn across the gap
    assert trend_chart(()).dots == ()


def _settings(toml: str, **env: str) -> UiSettings:
    return ui_settings(parse_config(tomllib.loads(toml)), environ=env)


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ("[web]\nticket_minutes = 16", "web.ticket_minutes"),
        ("[web]\nidle_minutes = 0", "web.idle_minutes"),
        ("[web]\ncolour = 1", "unknown key"),
        ("[web]\nlocal_accounts = false", "needs a \\[web.oidc\\]"),
        ("[web]\npublic_base_url = 'ftp://x'", "public_base_url"),
        ("[web.oidc]\nissuer = 'http://idp.example.com'\nclient_id = 'c'", "https URL"),
        ("[web.oidc]\nissuer = 'https://idp.example.com?x=1'\nclient_id = 'c'", "no query"),
        ("[web.oidc]\nissuer = 'https://idp.example.com'", "client_id"),
        ("[web.oidc]\nissuer = 'https://i.example'\nclient_id = 'c'\nscopes = ['profile']",
         "openid"),
    ],
)  # fmt: skip
def test_bad_web_settings_name_the_field(toml: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        _settings(toml)


def test_settings_defaults_tls_and_the_secret_from_the_environment() -> None:
    plain = _settings("")
    assert (plain.idle, plain.absolute, plain.ticket_ttl) == (
        timedelta(minutes=15), timedelta(hours=8), timedelta(minutes=10))  # fmt: skip
    assert plain.secure_cookies is False
    tls = _settings(
        "[web]\npublic_base_url = 'https://qa.example.com/'\n"
        "[web.oidc]\nissuer = 'http://127.0.0.1:9000/'\nclient_id = 'callrec'",
        CALLREC_OIDC_CLIENT_SECRET=SECRET,
    )
    assert tls.secure_cookies is True
    oidc = tls.oidc
    assert oidc is not None and oidc.issuer == "http://127.0.0.1:9000"
    assert oidc.client_secret == SECRET and SECRET not in repr(tls)


def test_passwords_are_argon2id_hashes_checked_in_constant_work() -> None:
    stored = hash_password("a long enough passphrase")
    assert stored.startswith("$argon2id$") and stored != hash_password("a long enough passphrase")
    assert verify_password(stored, "a long enough passphrase")
    assert not verify_password(stored, "a long enough passphrasE")
    assert not verify_password(None, "a long enough passphrase")  # no account: False, same work
    assert not verify_password(stored, "x" * 5000)
    assert not needs_rehash(stored)
    assert needs_rehash(PasswordHasher(time_cost=1, memory_cost=8192).hash("old parameters!"))
    for bad in ("short", " " * 20, "x" * 1025):
        with pytest.raises(ConfigError, match="password"):
            hash_password(bad)


def test_csrf_tokens_belong_to_one_secret_and_origins_are_checked() -> None:
    token = csrf_token("session-one")
    assert token_matches("session-one", token)
    assert not token_matches("session-two", token)
    assert not token_matches("session-one", None) and not token_matches(None, token)
    assert not token_matches("session-one", token + "x")
    ours = "http://127.0.0.1:8090"
    assert same_origin({"sec-fetch-site": "same-origin"}, ours)
    assert same_origin({"sec-fetch-site": "none"}, ours)  # typed into the address bar
    assert not same_origin({"sec-fetch-site": "same-site", "origin": ours}, ours)
    assert not same_origin({"sec-fetch-site": "cross-site"}, ours)
    assert same_origin({"origin": ours}, ours) and same_origin({}, ours)
    assert not same_origin({"origin": "http://127.0.0.1:9999"}, ours)


def test_redacted_spans_are_read_off_the_tokens_and_padded_like_the_audio() -> None:
    def w(text: str, start: float) -> Word:
        return Word(text=text, start=start, end=start + 0.4, probability=0.9)

    words = (w("my", 1.0), w("card", 1.5), w("[card]", 2.0), w("", 2.5), w("", 3.0), w("ok", 6.0))
    transcript = Transcript(
        language="en", duration=10.0, model="t",
        segments=(Segment(start=1.0, end=6.4, text="my card [card] ok", words=words),),
    )  # fmt: skip
    (span,) = redacted_spans(transcript)
    assert span.kind == "card"
    assert span.start == pytest.approx(1.75) and span.end == pytest.approx(3.65)
