// callrec web app: the call player (waveform, redacted spans, transcript follow, keyboard)
// and the playback-ticket refresh. Loaded as a module from our own origin (CSP script-src
// 'self'); no inline script anywhere. Nothing here stores page data in the browser.
import WaveSurfer from "./vendor/wavesurfer.esm.js";
import RegionsPlugin from "./vendor/regions.esm.js";

const SEEK_STEP = 5;
const LANES = [
  { waveColor: "#8fb0e6", progressColor: "#1f5fbf" },
  { waveColor: "#c7a6e3", progressColor: "#7a3fb0" },
];

function csrfToken() {
  const meta = document.querySelector('meta[name="csrf-token"]');
  return meta ? meta.content : "";
}

function clock(seconds) {
  const whole = Math.max(0, Math.floor(seconds || 0));
  return `${Math.floor(whole / 60)}:${String(whole % 60).padStart(2, "0")}`;
}

function typing(target) {
  return target instanceof HTMLElement &&
    (target.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName));
}

async function loadPeaks(url) {
  const response = await fetch(url, { credentials: "same-origin", cache: "no-store" });
  if (!response.ok) throw new Error(`peaks: ${response.status}`);
  return response.json();
}

function waveform(player, audio) {
  const spans = JSON.parse(player.dataset.spans || "[]");
  loadPeaks(player.dataset.peaks).then((data) => {
    const regions = RegionsPlugin.create();
    const lanes = data.channels === 2 ? LANES.map((l) => ({ ...l, height: 64 })) : undefined;
    const ws = WaveSurfer.create({
      container: document.getElementById("waveform"),
      media: audio,
      peaks: data.peaks,
      duration: data.duration,
      height: 128,
      splitChannels: lanes,
      waveColor: LANES[0].waveColor,
      progressColor: LANES[0].progressColor,
      normalize: true,
      cspNonce: player.dataset.nonce,
      plugins: [regions],
    });
    const mark = () => {
      regions.clearRegions();
      for (const span of spans) {
        regions.addRegion({
          start: span.start, end: span.end, color: "rgba(200, 40, 40, 0.28)",
          drag: false, resize: false, content: `${span.kind} redacted`,
        });
      }
    };
    ws.on("ready", mark);
    ws.on("decode", mark);
    player.dataset.waveform = "ready";
  }).catch(() => {
    player.dataset.waveform = "failed";
  });
}

function followTranscript(audio) {
  const list = document.getElementById("transcript");
  if (!list) return;
  const turns = Array.from(list.querySelectorAll(".turn"));
  let current = null;
  const highlight = () => {
    const t = audio.currentTime;
    let found = null;
    for (const turn of turns) {
      if (Number(turn.dataset.start) <= t + 0.05) found = turn;
      else break;
    }
    if (found && t > Number(found.dataset.end) + 1.5) found = null;
    if (found === current) return;
    if (current) { current.classList.remove("current"); current.removeAttribute("aria-current"); }
    current = found;
    if (current) {
      current.classList.add("current");
      current.setAttribute("aria-current", "true");
      current.scrollIntoView({ block: "nearest" });
    }
  };
  audio.addEventListener("timeupdate", highlight);
  audio.addEventListener("seeked", highlight);
  list.addEventListener("click", (event) => {
    const button = event.target.closest("button.seek");
    if (!button) return;
    audio.currentTime = Number(button.dataset.start);
    audio.play().catch(() => {});
  });
}

function transport(audio) {
  const play = document.getElementById("play");
  const shown = document.getElementById("clock");
  const toggle = () => (audio.paused ? audio.play().catch(() => {}) : audio.pause());
  const seek = (delta) => {
    const end = Number.isFinite(audio.duration) ? audio.duration : Infinity;
    audio.currentTime = Math.min(Math.max(0, audio.currentTime + delta), end);
  };
  play.addEventListener("click", toggle);
  document.getElementById("back").addEventListener("click", () => seek(-SEEK_STEP));
  document.getElementById("fwd").addEventListener("click", () => seek(SEEK_STEP));
  audio.addEventListener("play", () => { play.textContent = "Pause"; });
  audio.addEventListener("pause", () => { play.textContent = "Play"; });
  audio.addEventListener("timeupdate", () => { shown.textContent = clock(audio.currentTime); });
  document.addEventListener("keydown", (event) => {
    if (event.defaultPrevented || event.altKey || event.ctrlKey || event.metaKey) return;
    if (typing(event.target) || event.target === audio) return;
    if (event.key === " " && !(event.target instanceof HTMLButtonElement) &&
        !(event.target instanceof HTMLAnchorElement)) {
      event.preventDefault();
      toggle();
    } else if (event.key === "ArrowLeft" || event.key === "ArrowRight") {
      event.preventDefault();
      seek((event.key === "ArrowLeft" ? -1 : 1) * SEEK_STEP * (event.shiftKey ? 6 : 1));
    }
  });
}

// A ticket lives a few minutes; the page asks for a fresh one before it runs out (and once
// after an error), keeping the position. Every ticket is decided and audited by the server.
function refreshTickets(player, audio) {
  const url = player.dataset.ticketUrl;
  const life = Number(player.dataset.expiresIn || 0);
  let retried = false;
  const refresh = async () => {
    const body = new URLSearchParams({ purpose: player.dataset.purpose || "" });
    const response = await fetch(url, {
      method: "POST", body, credentials: "same-origin",
      headers: { "X-CSRF-Token": csrfToken() },
    });
    if (!response.ok) return false;
    const fresh = await response.json();
    const at = audio.currentTime;
    const playing = !audio.paused;
    audio.src = fresh.audio;
    audio.addEventListener("loadedmetadata", () => {
      audio.currentTime = at;
      if (playing) audio.play().catch(() => {});
    }, { once: true });
    player.dataset.audio = fresh.audio;
    player.dataset.peaks = fresh.peaks;
    schedule(fresh.expires_in);
    return true;
  };
  const schedule = (seconds) => {
    if (seconds > 90) setTimeout(() => { refresh().catch(() => {}); }, (seconds - 60) * 1000);
  };
  schedule(life);
  audio.addEventListener("error", () => {
    if (retried) return;
    retried = true;
    refresh().catch(() => {});
  });
}

function initPlayer() {
  const player = document.getElementById("player");
  const audio = document.getElementById("audio");
  if (!player || !audio) return;
  transport(audio);
  followTranscript(audio);
  refreshTickets(player, audio);
  waveform(player, audio);
  player.dataset.ready = "true";
}

if (document.readyState === "loading") {
  document.addEventListener("DOMContentLoaded", initPlayer);
} else {
  initPlayer();
}
