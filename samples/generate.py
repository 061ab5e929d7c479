"""Generate the callrec demo calls: synthetic speech only, no real persons.

Run from the repository root:

    .venv/bin/python samples/generate.py           # (re)write samples/spool/, then check it
    .venv/bin/python samples/generate.py --check   # only check the committed files

Generating needs the espeak-ng command-line synthesiser (Debian/Ubuntu:
``apt-get install espeak-ng``); checking does not. Only the standard library and numpy are
used. The output is committed, so CI never needs espeak-ng.

What it writes into ``samples/spool/``, for NN = 01..08:

- ``call-NN.wav``: 8000 Hz, 16-bit PCM; mono (``channels = ["mixed"]``) or stereo with
  channel 0 = agent and channel 1 = customer (each speaker's turns on their own channel,
  digital silence on the other). The file covers ``started_at .. ended_at``: calls that ring
  before they are answered start with silence or a 425 Hz ringback tone (1 s on, 4 s off),
  and the first word is spoken at ``answered_at``. Every file is a whole number of seconds.
- ``call-NN.json``: the spool sidecar (fields of ``recorder.models.CallEvent``).

and ``samples/transcripts.json``: per call, what each speaker says, when, on which channel,
and which spans are personal data (phone numbers, card number, address, order numbers), for
transcription and redaction tests.

Determinism: fixed voices, speeds, pitches and texts, no random numbers; a rerun with the
same espeak-ng version (1.51 made the committed files) gives byte-identical output.
Processing: espeak-ng speaks at 22050 Hz; each utterance is resampled to 8000 Hz in the
frequency domain with a telephone band-pass (300-3400 Hz), trimmed to its voiced part and
levelled to about -20 dBFS RMS over its voiced samples (customers 1.5 dB lower).
"""

from __future__ import annotations

import argparse
import io
import json
import math
import shutil
import subprocess
import sys
import tempfile
import wave
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
SPOOL = HERE / "spool"
TRANSCRIPTS = HERE / "transcripts.json"

RATE = 8000
RINGBACK_HZ = 425.0
TAIL_S = 0.8  # silence after the last word before the call ends (then rounded up to 1 s)
GAPS_S = (0.5, 0.4, 0.7, 0.6)  # pause before turn i+1, cycled
MIN_S, MAX_S = 10, 40

# DTMF keypad frequencies (Hz): digit -> (low, high)
DTMF = {
    "1": (697, 1209), "2": (697, 1336), "3": (697, 1477),
    "4": (770, 1209), "5": (770, 1336), "6": (770, 1477),
    "7": (852, 1209), "8": (852, 1336), "9": (852, 1477),
    "0": (941, 1336),
}  # fmt: skip


@dataclass(frozen=True)
class Voice:
    """An espeak-ng voice with speed (words per minute) and pitch (0-99)."""

    name: str
    speed: int = 160
    pitch: int = 50


@dataclass(frozen=True)
class Pii:
    """A span of personal data inside a turn: exactly as spoken, and its normal form."""

    kind: str  # phone_number, card_number, address, order_number, invoice_number
    spoken: str
    value: str


@dataclass(frozen=True)
class Turn:
    speaker: str  # "agent" or "customer"
    text: str
    pii: tuple[Pii, ...] = ()
    dtmf_before: str = ""  # keypad digits the speaker presses just before this turn


@dataclass(frozen=True)
class Call:
    nn: int
    language: str  # sidecar language (Whisper/ISO 639-1 code: en, no, sv, da, fi)
    topic: str
    agent: str
    agent_voice: Voice
    customer_voice: Voice
    caller: str
    service_number: str
    started_at: str
    pre_answer_s: int  # whole seconds of ringing before the answer
    ringback: bool  # pre-answer part is ringback tone (else silence)
    dual: bool
    turns: tuple[Turn, ...]
    ai: bool = True
    retention_class: str | None = None
    notes: tuple[str, ...] = field(default=())


# --- The calls ---------------------------------------------------------------------------

A, C = "agent", "customer"

CALLS: tuple[Call, ...] = (
    Call(
        nn=1,
        language="en",
        topic="bank: debit card blocked after wrong PIN attempts",
        agent="anna",
        agent_voice=Voice("en-gb+f3", 170, 55),
        customer_voice=Voice("en-gb+m3", 160, 40),
        caller="+47 912 34 567",
        service_number="+47 22 00 00 00",
        started_at="2026-11-16T09:02:00Z",
        pre_answer_s=3,
        ringback=True,
        dual=True,
        turns=(
            Turn(A, "Good morning, Nordbank card services, this is Anna. How can I help?"),
            Turn(C, "Hi, my debit card was blocked in a shop this morning."),
            Turn(A, "I'm sorry about that. Can you confirm the mobile number on your account?"),
            Turn(
                C,
                "Yes, it's nine one two three four five six seven.",
                (Pii("phone_number", "nine one two three four five six seven", "91234567"),),
            ),
            Turn(
                A,
                "Thanks. It was blocked after three wrong PIN attempts. I have unblocked it now.",
            ),
            Turn(C, "Great, thanks for your help. Bye."),
        ),
    ),
    Call(
        nn=2,
        language="no",
        topic="postal: parcel tracking, delivery delayed",
        agent="bjorn",
        agent_voice=Voice("nb+m3", 170, 45),
        customer_voice=Voice("nb+f3", 160, 60),
        caller="+4798765432",
        service_number="+47 23 00 00 00",
        started_at="2026-11-16T13:15:00Z",
        pre_answer_s=2,
        ringback=False,
        dual=False,
        turns=(
            Turn(A, "Nordpost kundeservice, du snakker med Bjørn. Hva kan jeg hjelpe deg med?"),
            Turn(
                C, "Hei, jeg venter på en pakke som skulle kommet i går, men den har ikke kommet."
            ),
            Turn(A, "Jeg kan sjekke det. Hvilket mobilnummer står på sendingen?"),
            Turn(
                C,
                "Det er ni åtte sju seks fem fire tre to.",
                (Pii("phone_number", "ni åtte sju seks fem fire tre to", "98765432"),),
            ),
            Turn(
                A,
                "Takk. Pakken ligger på terminalen i Oslo, "
                "og blir levert i morgen før klokken seksten.",
            ),
            Turn(C, "Så bra, tusen takk."),
            Turn(A, "Bare hyggelig. Ha en fin dag."),
        ),
        notes=("bjorn in team oslo-1 at call time",),
    ),
    Call(
        nn=3,
        language="sv",
        topic="bank: change of address",
        agent="carla",
        agent_voice=Voice("sv+f3", 165, 55),
        customer_voice=Voice("sv+m3", 160, 40),
        caller="+46 70 123 45 67",
        service_number="+46 8 500 000 00",
        started_at="2026-11-17T10:30:00Z",
        pre_answer_s=0,
        ringback=False,
        dual=True,
        turns=(
            Turn(A, "Välkommen till Nordbanken, du pratar med Carla. Vad kan jag hjälpa dig med?"),
            Turn(C, "Hej, jag har flyttat och vill ändra min adress."),
            Turn(A, "Självklart. Vilken är den nya adressen, och vilket telefonnummer har du?"),
            Turn(
                C,
                "Storgatan tolv i Varberg. "
                "Och numret är noll sju noll, ett två tre, fyra fem, sex sju.",
                (
                    Pii("address", "Storgatan tolv i Varberg", "Storgatan 12, Varberg"),
                    Pii(
                        "phone_number",
                        "noll sju noll, ett två tre, fyra fem, sex sju",
                        "0701234567",
                    ),
                ),
            ),
            Turn(A, "Tack. Adressen är ändrad från och med idag. Du får en bekräftelse per post."),
            Turn(C, "Perfekt, tack så mycket. Hej då."),
        ),
    ),
    Call(
        nn=4,
        language="en",
        topic="retail: invoice for an unpaid order, paid by card on the phone",
        agent="dag",
        agent_voice=Voice("en-us+m3", 170, 45),
        customer_voice=Voice("en-us+f3", 160, 60),
        caller="+45 20 12 34 56",
        service_number="+47 21 00 00 00",
        started_at="2026-11-17T14:05:00Z",
        pre_answer_s=0,
        ringback=False,
        dual=False,
        turns=(
            Turn(A, "Thank you for calling Northmart, this is Dag. How can I help you today?"),
            Turn(
                C,
                "Hi, I got a reminder for an invoice I thought I had paid. "
                "The invoice number is five five eight two.",
                (Pii("invoice_number", "five five eight two", "5582"),),
            ),
            Turn(A, "Let me look. The card payment did not go through. Would you like to pay now?"),
            Turn(
                C,
                "Yes. The card number is four one one one, one one one one, "
                "one one one one, one one one one.",
                (
                    Pii(
                        "card_number",
                        "four one one one, one one one one, one one one one, one one one one",
                        "4111111111111111",
                    ),
                ),
            ),
            Turn(A, "Thank you. Please don't say the security code, type it on your keypad."),
            Turn(C, "Okay, done.", dtmf_before="123"),
            Turn(A, "The payment is approved and the invoice is closed. Goodbye."),
        ),
        notes=(
            "card number is the Luhn-valid TEST number 4111 1111 1111 1111",
            "the customer keys a 3-digit security code as DTMF (1, 2, 3) before 'Okay, done.'",
        ),
    ),
    Call(
        nn=5,
        language="da",
        topic="retail: complaint about a broken coffee machine",
        agent="dag",
        agent_voice=Voice("da+m3", 165, 45),
        customer_voice=Voice("da+f3", 160, 60),
        caller="0045 31 23 45 67",
        service_number="+45 70 00 00 00",
        started_at="2026-11-18T11:20:00Z",
        pre_answer_s=0,
        ringback=False,
        dual=True,
        ai=False,
        turns=(
            Turn(A, "Northmart kundeservice, det er Dag. Hvad kan jeg hjælpe med?"),
            Turn(C, "Jeg vil gerne klage. Min nye kaffemaskine gik i stykker efter to dage."),
            Turn(A, "Det er jeg ked af at høre. Har du ordrenummeret?"),
            Turn(
                C,
                "Ja, det er otte tre syv ni to.",
                (Pii("order_number", "otte tre syv ni to", "83792"),),
            ),
            Turn(
                A, "Tak. Jeg sender dig en ny maskine i dag, og du kan returnere den gamle gratis."
            ),
            Turn(C, "Okay, det er fint. Tak."),
            Turn(A, "Selv tak, og undskyld ulejligheden."),
        ),
        notes=("customer declined AI processing (ai: false)",),
    ),
    Call(
        nn=6,
        language="no",
        topic="bank: investment advice (pension savings), regulated recording",
        agent="bjorn",
        agent_voice=Voice("nb+m3", 170, 45),
        customer_voice=Voice("nb+f4", 160, 65),
        caller="934 56 789",
        service_number="+47 22 00 00 00",
        started_at="2026-11-19T09:40:00Z",
        pre_answer_s=4,
        ringback=True,
        dual=True,
        retention_class="regulated_5y",
        turns=(
            Turn(
                A,
                "Nordbanken investeringsrådgivning, du snakker med Bjørn. "
                "Samtalen blir tatt opp fordi det er rådgivning.",
            ),
            Turn(C, "Det er greit. Jeg vil spare til pensjon, og lurer på fond."),
            Turn(A, "Hvor lenge vil du spare, og hvor mye risiko tåler du?"),
            Turn(C, "Omtrent tjue år, og middels risiko."),
            Turn(
                A,
                "Da anbefaler jeg et globalt indeksfond. Du får rådet skriftlig i nettbanken.",
            ),
            Turn(C, "Flott, takk skal du ha."),
        ),
        notes=(
            "bjorn in team stockholm-1 at call time (moved 2026-11-18)",
            "caller number in national format without country code (default_region NO)",
        ),
    ),
    Call(
        nn=7,
        language="fi",
        topic="retail: change the delivery day of a sofa order",
        agent="carla",
        agent_voice=Voice("fi+f3", 165, 55),
        customer_voice=Voice("fi+m3", 160, 40),
        caller="+358 40 123 4567",
        service_number="+358 9 000 0000",
        started_at="2026-11-19T15:10:00Z",
        pre_answer_s=3,
        ringback=False,
        dual=False,
        ai=False,
        turns=(
            Turn(A, "Northmart asiakaspalvelu, Carla puhelimessa. Kuinka voin auttaa?"),
            Turn(C, "Hei. Tilasin sohvan, ja haluaisin muuttaa toimituspäivää."),
            Turn(A, "Selvä. Mikä on tilausnumero?"),
            Turn(
                C,
                "Se on seitsemän kaksi yksi neljä.",
                (Pii("order_number", "seitsemän kaksi yksi neljä", "7214"),),
            ),
            Turn(A, "Kiitos. Voimme toimittaa sohvan torstaina kello kymmenen."),
            Turn(C, "Torstai sopii hyvin. Kiitos."),
            Turn(A, "Kiitos soitosta, hei hei."),
        ),
        notes=("customer declined AI processing (ai: false)",),
    ),
    Call(
        nn=8,
        language="en",
        topic="bank: customer asks about a suspicious text message (phishing)",
        agent="anna",
        agent_voice=Voice("en-gb+f3", 170, 55),
        customer_voice=Voice("en-us+m3", 160, 40),
        caller="anonymous",
        service_number="+47 22 00 00 00",
        started_at="2026-11-20T09:00:00Z",
        pre_answer_s=0,
        ringback=False,
        dual=False,
        turns=(
            Turn(A, "Nordbank, Anna speaking. How can I help?"),
            Turn(
                C,
                "Hello, I got a text message asking me to log in and confirm my account. "
                "Is that from you?",
            ),
            Turn(
                A,
                "No, we never ask you to log in from a link in a text message. "
                "Please delete it, and don't click the link.",
            ),
            Turn(C, "Good, I didn't click it."),
            Turn(A, "Then you are safe. Thank you for telling us."),
        ),
        notes=("caller withheld the number",),
    ),
)


# --- Audio -------------------------------------------------------------------------------


def espeak_version(exe: str) -> str:
    cmd = [exe, "--version"]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout  # noqa: S603
    # "eSpeak NG text-to-speech: 1.51  Data at: ..."
    return out.split(":", 1)[1].split("Data")[0].strip() if ":" in out else out.strip()


def synth(exe: str, voice: Voice, text: str) -> tuple[np.ndarray, int]:
    """Speak ``text`` with espeak-ng; float samples in [-1, 1] and their rate."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "u.wav"
        cmd = [exe, "-v", voice.name, "-s", str(voice.speed), "-p", str(voice.pitch)]
        cmd += ["-w", str(out), "--", text]
        subprocess.run(cmd, check=True, capture_output=True)  # noqa: S603 (list args, no shell)
        with wave.open(str(out), "rb") as w:
            if w.getnchannels() != 1 or w.getsampwidth() != 2:
                raise RuntimeError(f"unexpected espeak-ng output format for {voice.name}")
            rate = w.getframerate()
            raw = w.readframes(w.getnframes())
    return np.frombuffer(raw, dtype="<i2").astype(np.float64) / 32768.0, rate


def to_phone_band(x: np.ndarray, rate_in: int) -> np.ndarray:
    """Resample to 8 kHz in the frequency domain, keeping 300-3400 Hz (cosine edges)."""
    x = np.concatenate([x, np.zeros(rate_in // 10)])  # room so the circular tail is silence
    n = len(x)
    m = round(n * RATE / rate_in)
    spec = np.fft.rfft(x)[: m // 2 + 1]
    f = np.arange(len(spec)) * rate_in / n
    gain = np.ones_like(f)
    low = f < 300
    gain[low] = 0.5 - 0.5 * np.cos(np.pi * np.clip((f[low] - 200) / 100, 0, 1))
    high = f > 3400
    gain[high] = 0.5 + 0.5 * np.cos(np.pi * np.clip((f[high] - 3400) / 400, 0, 1))
    return np.fft.irfft(spec * gain, n=m) * (m / n)


def trim(x: np.ndarray) -> np.ndarray:
    """Cut leading/trailing silence, keeping 10 ms before and 60 ms after the voice."""
    thresh = 0.02 * float(np.max(np.abs(x)))
    idx = np.nonzero(np.abs(x) > thresh)[0]
    first = max(0, int(idx[0]) - RATE // 100)
    last = min(len(x), int(idx[-1]) + 6 * RATE // 100)
    return x[first:last]


def level(x: np.ndarray, rms_target: float) -> np.ndarray:
    """Scale to ``rms_target`` over the voiced samples, peak limited to 0.9."""
    loud = np.abs(x) > 0.05 * float(np.max(np.abs(x)))
    rms = float(np.sqrt(np.mean(x[loud] ** 2)))
    y = x * (rms_target / rms)
    peak = float(np.max(np.abs(y)))
    return y * (0.9 / peak) if peak > 0.9 else y


def fade(x: np.ndarray, ms: int = 10) -> np.ndarray:
    k = RATE * ms // 1000
    ramp = 0.5 - 0.5 * np.cos(np.linspace(0, np.pi, k))
    y = x.copy()
    y[:k] *= ramp
    y[-k:] *= ramp[::-1]
    return y


def tone(freqs: tuple[float, ...], seconds: float, amp: float) -> np.ndarray:
    t = np.arange(round(seconds * RATE)) / RATE
    return fade(sum(amp * np.sin(2 * np.pi * f * t) for f in freqs))  # type: ignore[arg-type]


def dtmf(digits: str) -> np.ndarray:
    parts = []
    for d in digits:
        parts += [tone(DTMF[d], 0.12, 0.15), np.zeros(round(0.10 * RATE))]
    return np.concatenate(parts)


def render(call: Call, exe: str) -> tuple[np.ndarray, dict[str, object], dict[str, object]]:
    """The call as (channels, samples) float audio, the sidecar, and its timed turns."""
    tracks: list[tuple[int, np.ndarray, str]] = []  # (start sample, audio, speaker)
    turns_out: list[dict[str, object]] = []
    events: list[dict[str, object]] = []
    t = call.pre_answer_s * RATE
    for i, turn in enumerate(call.turns):
        if i:
            t += round(GAPS_S[(i - 1) % len(GAPS_S)] * RATE)
        if turn.dtmf_before:
            keys = dtmf(turn.dtmf_before)
            tracks.append((t, keys, turn.speaker))
            events.append(
                {
                    "kind": "dtmf",
                    "speaker": turn.speaker,
                    "digits": turn.dtmf_before,
                    "start": round(t / RATE, 2),
                    "end": round((t + len(keys)) / RATE, 2),
                }
            )
            t += len(keys) + round(0.4 * RATE)
        voice = call.agent_voice if turn.speaker == A else call.customer_voice
        raw, rate = synth(exe, voice, turn.text)
        gain = 0.10 if turn.speaker == A else 0.085
        speech = fade(level(trim(to_phone_band(raw, rate)), gain), 5)
        tracks.append((t, speech, turn.speaker))
        turns_out.append(
            {
                "speaker": turn.speaker,
                "channel": (0 if turn.speaker == A else 1) if call.dual else 0,
                "voice": voice.name,
                "start": round(t / RATE, 2),
                "end": round((t + len(speech)) / RATE, 2),
                "text": turn.text,
                "pii": [{"kind": p.kind, "spoken": p.spoken, "value": p.value} for p in turn.pii],
            }
        )
        for p in turn.pii:
            if p.spoken not in turn.text:
                raise RuntimeError(f"call {call.nn}: pii span not in text: {p.spoken!r}")
        t += len(speech)
    seconds = math.ceil(t / RATE + TAIL_S)
    if not MIN_S <= seconds <= MAX_S:
        raise RuntimeError(f"call {call.nn} lasts {seconds} s, outside {MIN_S}-{MAX_S} s")
    n_ch = 2 if call.dual else 1
    audio = np.zeros((n_ch, seconds * RATE))
    if call.ringback:
        # European ringback: 425 Hz, 1 s on, 4 s off, from the start until the answer.
        # Heard by the caller, so it is on the customer channel of a dual-channel file.
        for start in range(0, call.pre_answer_s, 5):
            on = min(1.0, call.pre_answer_s - start)
            ring = tone((RINGBACK_HZ,), on, 0.1)
            audio[n_ch - 1, start * RATE : start * RATE + len(ring)] += ring
            events.append({"kind": "ringback", "start": float(start), "end": start + on})
    for start, x, speaker in tracks:
        ch = (0 if speaker == A else 1) if call.dual else 0
        audio[ch, start : start + len(x)] += x
    started = datetime.strptime(call.started_at, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)

    def iso(dt: datetime) -> str:
        return dt.strftime("%Y-%m-%dT%H:%M:%SZ")

    sidecar: dict[str, object] = {
        "v": 1,
        "source_id": f"spool-call-{call.nn:02d}",
        "caller": call.caller,
        "service_number": call.service_number,
        "agent": call.agent,
        "started_at": call.started_at,
        "answered_at": iso(started + timedelta(seconds=call.pre_answer_s)),
        "ended_at": iso(started + timedelta(seconds=seconds)),
        "channels": ["agent", "customer"] if call.dual else ["mixed"],
        "ai": call.ai,
        "retention_class": call.retention_class,
        "language": call.language,
    }
    entry: dict[str, object] = {
        "file": f"call-{call.nn:02d}.wav",
        "source_id": sidecar["source_id"],
        "topic": call.topic,
        "language": call.language,
        "channels": sidecar["channels"],
        "duration_s": seconds,
        "answered_offset_s": call.pre_answer_s,
        "pre_answer": ("ringback" if call.ringback else "silence") if call.pre_answer_s else None,
        "turns": turns_out,
        "events": events,
        "notes": list(call.notes),
    }
    return audio, sidecar, entry


def write_wav(path: Path, audio: np.ndarray) -> None:
    pcm = np.clip(np.round(audio * 32767.0), -32768, 32767).astype("<i2")
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(audio.shape[0])
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(pcm.T.tobytes())  # frames interleave the channels: ch0, ch1, ch0, ...
    path.write_bytes(buf.getvalue())


def generate() -> None:
    exe = shutil.which("espeak-ng")
    if exe is None:
        sys.exit("espeak-ng not found: install it (apt-get install espeak-ng) or use --check")
    SPOOL.mkdir(exist_ok=True)
    entries: list[dict[str, object]] = []
    for call in CALLS:
        audio, sidecar, entry = render(call, exe)
        stem = f"call-{call.nn:02d}"
        write_wav(SPOOL / f"{stem}.wav", audio)
        (SPOOL / f"{stem}.json").write_text(json.dumps(sidecar, indent=2) + "\n", encoding="utf-8")
        entries.append(entry)
    doc = {
        "v": 1,
        "generator": f"samples/generate.py with espeak-ng {espeak_version(exe)}",
        "times": "seconds from the start of the audio file (= started_at); approximate to 10 ms",
        "calls": entries,
    }
    TRANSCRIPTS.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


# --- Check -------------------------------------------------------------------------------


def _dbfs(x: np.ndarray) -> float:
    rms = float(np.sqrt(np.mean(x**2))) if len(x) else 0.0
    return 20 * math.log10(rms) if rms > 0 else -math.inf


def check() -> list[str]:
    """Check every WAV against its sidecar and the transcript; returns problems (empty = ok)."""
    problems: list[str] = []
    doc = json.loads(TRANSCRIPTS.read_text(encoding="utf-8"))
    for entry in doc["calls"]:
        wav = SPOOL / entry["file"]
        side = json.loads(wav.with_suffix(".json").read_text(encoding="utf-8"))
        name = wav.name
        with wave.open(str(wav), "rb") as w:
            n_ch, width, rate, frames = (
                w.getnchannels(), w.getsampwidth(), w.getframerate(), w.getnframes()
            )  # fmt: skip
            raw = w.readframes(frames)
        if rate != RATE or width != 2:
            problems.append(f"{name}: {rate} Hz, {8 * width}-bit (want 8000 Hz, 16-bit)")
        if n_ch != len(side["channels"]):
            problems.append(f"{name}: {n_ch} channels but sidecar says {side['channels']}")
        x = (np.frombuffer(raw, dtype="<i2").astype(np.float64) / 32768.0).reshape(-1, n_ch).T
        if len(raw) != frames * n_ch * width:
            problems.append(f"{name}: data shorter than the header claims")
        dur = frames / rate
        t0 = datetime.fromisoformat(side["started_at"].replace("Z", "+00:00"))
        t1 = datetime.fromisoformat(side["ended_at"].replace("Z", "+00:00"))
        ta = datetime.fromisoformat(side["answered_at"].replace("Z", "+00:00"))
        if (t1 - t0).total_seconds() != dur:
            problems.append(f"{name}: audio {dur} s, sidecar {(t1 - t0).total_seconds()} s")
        if not MIN_S <= dur <= MAX_S:
            problems.append(f"{name}: duration {dur} s outside {MIN_S}-{MAX_S}")
        answer = (ta - t0).total_seconds()
        turns = entry["turns"]
        if abs(turns[0]["start"] - answer) > 0.05:
            problems.append(f"{name}: first word at {turns[0]['start']} s, answered at {answer} s")
        # Pre-answer: digital silence, or a 425 Hz tone on the customer channel only.
        pre = x[:, : round(answer * RATE)]
        if pre.size and np.any(pre != 0):
            ring = pre[-1]
            if n_ch == 2 and np.any(pre[0] != 0):
                problems.append(f"{name}: sound on the agent channel before the answer")
            spec = np.abs(np.fft.rfft(ring))
            peak_hz = np.argmax(spec) * RATE / len(ring)
            if entry["pre_answer"] != "ringback" or abs(peak_hz - RINGBACK_HZ) > 2:
                problems.append(f"{name}: pre-answer part is neither silence nor ringback")
        # Each turn: loud on its own channel; digital silence on the other (dual).
        levels = []
        for turn in turns:
            a, b = round(turn["start"] * RATE), round(turn["end"] * RATE)
            levels.append(_dbfs(x[turn["channel"], a:b]))
            if levels[-1] < -35:
                problems.append(f"{name}: quiet turn at {turn['start']} s ({levels[-1]:.1f} dBFS)")
            if n_ch == 2 and np.any(x[1 - turn["channel"], a:b] != 0):
                problems.append(f"{name}: other channel not silent during turn at {turn['start']}")
        print(
            f"{name}: {n_ch} ch, {rate} Hz, {8 * width}-bit, {dur:.0f} s, answered +{answer:.0f} s,"
            f" turns {min(levels):.1f}..{max(levels):.1f} dBFS RMS"
        )
    total = sum(p.stat().st_size for p in HERE.rglob("*") if p.is_file())
    print(f"samples/ holds {total / 1e6:.2f} MB")
    if total > 6_000_000:
        problems.append(f"samples/ holds {total} bytes (budget 6 MB)")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
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
