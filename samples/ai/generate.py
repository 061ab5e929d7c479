"""Generate the AI-path demo calls: spoken card and phone numbers, topics, an opt-out.

Run from the repository root:

    .venv/bin/python samples/ai/generate.py           # (re)write samples/ai/, then check it
    .venv/bin/python samples/ai/generate.py --check   # only check the committed files

Generating needs espeak-ng (``apt-get install espeak-ng``); checking does not. The synthesis
helpers (telephone band, trimming, levelling, WAV writing) are imported from
``samples/generate.py`` so both sets sound alike. Output is committed: CI never needs espeak-ng.

What it writes into ``samples/ai/``, for NN = 01..07 (all English, 8 kHz 16-bit, dual
channel: 0 = agent, 1 = customer, 1 s of silence before the answer, at most 25 s):

- ``ai-NN.wav`` and ``ai-NN.json`` (the spool sidecar: fields of ``recorder.models.CallEvent``,
  with ``ai_notice`` and, for the opt-out call, ``ai_optout_at_ms``);
- ``expected.json``: per call the intended topic, each turn's text and times, every spoken
  number (kind, words, digits, start/end seconds in the file) and the opt-out time.

Numbers are synthesised as their own utterance inside a turn (with 0.12 s joins), so their
time spans are exact. The card numbers are the public Luhn-valid TEST PANs 4242 4242 4242
4242 (Visa) and 5555 5555 5555 4444 (Mastercard); the phone number is fictional. Voice and
numbers were chosen so tiny.en hears the digits (it mishears espeak's "one" and "seven":
"4111 ..." came out as "Born 1 1 1 Born ...", "seven" as "heaven").

Topics: one call per topic of ``transcribe.categorize.DEFAULT_TOPICS`` (ai-06 investment
advice, ai-07 parcel tracking; ai-05's investment talk comes after its opt-out, so it does
not count). The wording was iterated until tiny.en (greedy, temperature 0: deterministic)
ranks the intended topic first both on the whole file and on the answered part (the first
second cut, as the pipeline hears it), mostly from the customer channel: espeak's agent
voice fares worse ("Nordbank" is heard as "Lord Bank", "index fund" as "next fund").
Determinism: fixed voices and texts; espeak-ng 1.51 made the committed files.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import shutil
import sys
import wave
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType

import numpy as np

HERE = Path(__file__).resolve().parent
EXPECTED = HERE / "expected.json"
MAX_S = 25
PRE_ANSWER_S = 1
JOIN_S = 0.12  # pause between the parts of one turn (text / number / text)
GAPS_S = (0.45, 0.35, 0.5, 0.4)
TAIL_S = 0.3
BUDGET_BYTES = 4_500_000


def _base() -> ModuleType:
    """``samples/generate.py`` (not a package; loaded by path under its own name)."""
    spec = importlib.util.spec_from_file_location(
        "callrec_samples_generate", HERE.parent / "generate.py"
    )
    if spec is None or spec.loader is None:
        raise RuntimeError("samples/generate.py not found")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while being defined
    spec.loader.exec_module(module)
    return module


base = _base()
RATE: int = base.RATE
Voice = base.Voice


@dataclass(frozen=True)
class Number:
    """A number spoken as words inside a turn."""

    kind: str  # card | phone
    spoken: str
    digits: str


Part = str | Number


@dataclass(frozen=True)
class Turn:
    speaker: str
    parts: tuple[Part, ...]
    optout: bool = False  # the customer asks to stop AI in this turn (time = turn start)

    @property
    def text(self) -> str:
        return " ".join(p if isinstance(p, str) else p.spoken + "." for p in self.parts)


@dataclass(frozen=True)
class Call:
    nn: int
    topic: str  # a name from transcribe.categorize.DEFAULT_TOPICS
    about: str
    agent: str
    caller: str
    started_at: str
    turns: tuple[Turn, ...]


A, C = "agent", "customer"
AGENT_VOICE = Voice("en-gb+f3", 180, 55)
CUSTOMER_VOICE = Voice("en-gb+f3", 150, 45)

CARD_VISA = Number("card", "four two four two, four two four two, four two four two, "
                   "four two four two", "4242424242424242")  # fmt: skip
CARD_MC = Number("card", "five five five five, five five five five, five five five five, "
                 "four four four four", "5555555555554444")  # fmt: skip
PHONE = Number("phone", "plus four six, eight two three, four five, six nine eight", "4682345698")

CALLS: tuple[Call, ...] = (
    Call(
        nn=1,
        topic="card_block",
        about="lost card: the customer reads the card number to block",
        agent="anna",
        caller="+47 912 34 567",
        started_at="2026-11-20T09:00:00Z",
        turns=(
            Turn(A, ("Nordbank card services, how can I help?",)),
            Turn(C, ("I lost my card. Please block my card. The number is", CARD_VISA)),
            Turn(A, ("Thank you. I have blocked the card and sent you a new one.",)),
        ),
    ),
    Call(
        nn=2,
        topic="address_change",
        about="moved house: new address and a phone number read out with plus",
        agent="anna",
        caller="+47 912 34 567",
        started_at="2026-11-20T09:10:00Z",
        turns=(
            Turn(A, ("Nordbank, this is Anna. How can I help?",)),
            Turn(
                C,
                (
                    "I have moved house. I need a new address on my account. My phone number is",
                    PHONE,
                ),
            ),
            Turn(A, ("Thanks. The new address and your phone number are now updated.",)),
        ),
    ),
    Call(
        nn=3,
        topic="loan_enquiry",
        about="mortgage question, amounts and a rate only (nothing to redact)",
        agent="bjorn",
        caller="+47 987 65 432",
        started_at="2026-11-20T10:00:00Z",
        turns=(
            Turn(A, ("Nordbank loans, how can I help you today?",)),
            Turn(
                C, ("I would like to apply for a loan. What is the interest rate on a mortgage?",)
            ),
            Turn(A, ("The interest rate is four percent. I have sent you the loan application.",)),
        ),
    ),
    Call(
        nn=4,
        topic="payment_dispute",
        about="charged twice: the customer reads a Mastercard test number",
        agent="bjorn",
        caller="+47 987 65 432",
        started_at="2026-11-20T10:20:00Z",
        turns=(
            Turn(A, ("Nordbank, how can I help?",)),
            Turn(C, ("I want to dispute a payment, I was charged twice. My card is", CARD_MC)),
            Turn(A, ("I have opened a dispute and you will get a refund.",)),
        ),
    ),
    Call(
        nn=5,
        topic="complaint",
        about="complaint, then the customer opts out of AI; investment talk only after it",
        agent="carla",
        caller="+46 70 123 45 67",
        started_at="2026-11-20T11:00:00Z",
        turns=(
            Turn(A, ("Nordbank. This call uses AI to take notes. How can I help?",)),
            Turn(C, ("I want to make a complaint about the poor service at your branch.",)),
            Turn(C, ("And please stop the AI. I don't want AI on this call.",), optout=True),
            Turn(A, ("Of course, I have stopped the AI notes.",)),
            Turn(C, ("Thanks. I would also like some investment advice on funds and shares.",)),
        ),
    ),
    Call(
        nn=6,
        topic="investment_advice",
        about="the customer wants to invest savings in shares or a fund (nothing to redact)",
        agent="carla",
        caller="+46 70 123 45 67",
        started_at="2026-11-20T11:30:00Z",
        turns=(
            Turn(A, ("Nordbank savings, how can I help?",)),
            Turn(C, ("I want to invest my savings. Should I buy shares or stocks?",)),
            Turn(
                A,
                (
                    "For a first investment, an index fund is a good choice. "
                    "I will send you our advice.",
                ),
            ),
        ),
    ),
    Call(
        nn=7,
        topic="parcel_tracking",
        about="a card reader sent by post has not arrived: tracking the parcel",
        agent="anna",
        caller="+47 912 34 567",
        started_at="2026-11-20T12:00:00Z",
        turns=(
            Turn(A, ("Nordbank, how can I help?",)),
            Turn(
                C,
                (
                    "You sent me a card reader, but the parcel has not arrived. "
                    "Can I track my parcel?",
                ),
            ),
            Turn(
                A,
                ("The package is with the delivery company. I have sent you the tracking number.",),
            ),
        ),
    ),
)


def _speak(exe: str, voice: object, text: str, gain: float) -> np.ndarray:
    raw, rate = base.synth(exe, voice, text)
    out: np.ndarray = base.fade(base.level(base.trim(base.to_phone_band(raw, rate)), gain), 5)
    return out


def render(call: Call, exe: str) -> tuple[np.ndarray, dict[str, object], dict[str, object]]:
    """The call as (2, samples) float audio, its sidecar and its expected.json entry."""
    tracks: list[tuple[int, np.ndarray, int]] = []  # (start sample, audio, channel)
    turns_out: list[dict[str, object]] = []
    numbers: list[dict[str, object]] = []
    optout_s: float | None = None
    t = PRE_ANSWER_S * RATE
    for i, turn in enumerate(call.turns):
        if i:
            t += round(GAPS_S[(i - 1) % len(GAPS_S)] * RATE)
        voice = AGENT_VOICE if turn.speaker == A else CUSTOMER_VOICE
        gain = 0.10 if turn.speaker == A else 0.085
        channel = 0 if turn.speaker == A else 1
        start = t
        if turn.optout:
            optout_s = round(start / RATE, 3)
        for j, part in enumerate(turn.parts):
            if j:
                t += round(JOIN_S * RATE)
            text = part if isinstance(part, str) else part.spoken
            audio = _speak(exe, voice, text, gain)
            tracks.append((t, audio, channel))
            if isinstance(part, Number):
                numbers.append(
                    {
                        "kind": part.kind,
                        "spoken": part.spoken,
                        "digits": part.digits,
                        "speaker": turn.speaker,
                        "start": round(t / RATE, 3),
                        "end": round((t + len(audio)) / RATE, 3),
                    }
                )
            t += len(audio)
        turns_out.append(
            {
                "speaker": turn.speaker,
                "channel": channel,
                "start": round(start / RATE, 3),
                "end": round(t / RATE, 3),
                "text": turn.text,
            }
        )
    seconds = math.ceil(t / RATE + TAIL_S)
    if seconds > MAX_S:
        raise RuntimeError(f"ai-{call.nn:02d} lasts {seconds} s (max {MAX_S})")
    audio = np.zeros((2, seconds * RATE))
    for start, x, ch in tracks:
        audio[ch, start : start + len(x)] += x
    started = datetime.strptime(call.started_at, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)

    def iso(dt: datetime) -> str:
        return dt.strftime("%Y-%m-%dT%H:%M:%SZ")

    optout_ms = None if optout_s is None else round((optout_s - PRE_ANSWER_S) * 1000)
    sidecar: dict[str, object] = {
        "v": 1,
        "source_id": f"spool-ai-{call.nn:02d}",
        "caller": call.caller,
        "service_number": "+47 22 00 00 00",
        "agent": call.agent,
        "started_at": call.started_at,
        "answered_at": iso(started + timedelta(seconds=PRE_ANSWER_S)),
        "ended_at": iso(started + timedelta(seconds=seconds)),
        "channels": ["agent", "customer"],
        "ai": True,
        "ai_notice": True,
        "ai_optout_at_ms": optout_ms,
        "retention_class": None,
        "language": "en",
    }
    entry: dict[str, object] = {
        "file": f"ai-{call.nn:02d}.wav",
        "source_id": sidecar["source_id"],
        "topic": call.topic,
        "about": call.about,
        "language": "en",
        "duration_s": seconds,
        "answered_offset_s": PRE_ANSWER_S,
        "optout_s": optout_s,
        "optout_at_ms": optout_ms,
        "turns": turns_out,
        "numbers": numbers,
    }
    return audio, sidecar, entry


def generate() -> None:
    exe = shutil.which("espeak-ng")
    if exe is None:
        sys.exit("espeak-ng not found: install it (apt-get install espeak-ng) or use --check")
    entries = []
    for call in CALLS:
        audio, sidecar, entry = render(call, exe)
        stem = f"ai-{call.nn:02d}"
        base.write_wav(HERE / f"{stem}.wav", audio)
        (HERE / f"{stem}.json").write_text(json.dumps(sidecar, indent=2) + "\n", encoding="utf-8")
        entries.append(entry)
    doc = {
        "v": 1,
        "generator": f"samples/ai/generate.py with espeak-ng {base.espeak_version(exe)}",
        "times": "seconds from the start of the audio file (= started_at); exact to 1 ms",
        "calls": entries,
    }
    EXPECTED.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


def check() -> list[str]:
    """Check every WAV against its sidecar and expected.json; returns problems (empty = ok)."""
    problems: list[str] = []
    doc = json.loads(EXPECTED.read_text(encoding="utf-8"))
    topics: set[str] = set()
    optouts = 0
    for entry in doc["calls"]:
        wav = HERE / entry["file"]
        side = json.loads(wav.with_suffix(".json").read_text(encoding="utf-8"))
        name = wav.name
        with wave.open(str(wav), "rb") as w:
            n_ch, width, rate, frames = (
                w.getnchannels(), w.getsampwidth(), w.getframerate(), w.getnframes()
            )  # fmt: skip
            raw = w.readframes(frames)
        if (n_ch, width, rate) != (2, 2, RATE):
            problems.append(f"{name}: {n_ch} ch {8 * width}-bit {rate} Hz (want 2, 16, 8000)")
            continue
        x = (np.frombuffer(raw, dtype="<i2").astype(np.float64) / 32768.0).reshape(-1, 2).T
        dur = frames / rate
        t0 = datetime.fromisoformat(side["started_at"].replace("Z", "+00:00"))
        t1 = datetime.fromisoformat(side["ended_at"].replace("Z", "+00:00"))
        if (t1 - t0).total_seconds() != dur or dur > MAX_S:
            problems.append(f"{name}: audio {dur} s, sidecar {(t1 - t0).total_seconds()} s")
        for turn in entry["turns"]:
            a, b = round(turn["start"] * RATE), round(turn["end"] * RATE)
            if np.any(x[1 - turn["channel"], a:b] != 0):
                problems.append(f"{name}: other channel not silent at {turn['start']} s")
            if float(np.sqrt(np.mean(x[turn["channel"], a:b] ** 2))) < 0.01:
                problems.append(f"{name}: quiet turn at {turn['start']} s")
        for number in entry["numbers"]:
            ok = number["kind"] != "card" or (
                13 <= len(number["digits"]) <= 19 and _luhn(number["digits"])
            )
            if not ok:
                problems.append(f"{name}: card number is not a Luhn-valid PAN")
            inside = any(
                t["start"] <= number["start"] < number["end"] <= t["end"] for t in entry["turns"]
            )
            if not inside:
                problems.append(f"{name}: number span outside its turn")
        if entry["optout_s"] is not None:
            optouts += 1
            answered = datetime.fromisoformat(side["answered_at"].replace("Z", "+00:00"))
            want = round((entry["optout_s"] - (answered - t0).total_seconds()) * 1000)
            if side["ai_optout_at_ms"] != want:
                problems.append(
                    f"{name}: sidecar opt-out {side['ai_optout_at_ms']} ms, want {want}"
                )
        topics.add(entry["topic"])
        print(f"{name}: {dur:.0f} s, topic {entry['topic']}, {len(entry['numbers'])} number(s)")
    if len(topics) < 4 or optouts < 1:
        problems.append(f"{len(topics)} topics and {optouts} opt-out call(s) (want >= 4 and >= 1)")
    total = sum(p.stat().st_size for p in HERE.iterdir() if p.is_file())
    print(f"samples/ai/ holds {total / 1e6:.2f} MB")
    if total > BUDGET_BYTES:
        problems.append(f"samples/ai/ holds {total} bytes (budget {BUDGET_BYTES})")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="only check the existing files")
    args = parser.parse_args()
    if not args.check:
        generate()
    problems = check()
    for p in problems:
        print("PROBLEM:", p, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
