"""``callrec demo``: the main job on the embedded default, start to finish."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import click

from recorder.access import principal_for
from recorder.ai import AiPipeline, live_ai_artefacts
from recorder.ai_config import ai_settings
from recorder.ai_review import show_transcript
from recorder.cli import ai_cmds
from recorder.cli.app import Context, cli, run_guarded
from recorder.cli.call_cmds import show_calls, spool_pass
from recorder.cli.store_cmds import init_store, pass_ctx
from recorder.config import Config
from recorder.errors import AccessDenied, ConfigError
from recorder.playback import open_playback
from recorder.retention import load_classes
from recorder.sweep import sweep
from storage.models import State
from storage.vault import Vault
from transcribe.errors import TranscribeError

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
#: The AI sample call the demo adds to the spool: a customer reading a (test) card number.
AI_DEMO_CALL = "ai-01"


@cli.command()
@click.option(
    "--samples",
    type=click.Path(path_type=Path, file_okay=False),
    default=SAMPLES,
    show_default=True,
    help="Folder with spool/ (sample calls) and callrec.toml (demo org chart).",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("demo-out"),
    show_default=True,
    help="Where the played-back WAV is written.",
)
@pass_ctx
def demo(ctx: Context, samples: Path, out: Path) -> None:
    """Set up a store, capture the sample calls, then list, play, deny and verify.

    \b
    1. init: data dir + master keyring (outside the data dir, mode 0600)
    2. copy the sample spool and capture it (numbers masked, audio sealed)
    3. list calls as supervisor 'siri' (her team's calls at call time)
    4. play one call as its own agent into --out
    5. show a denied attempt (an agent playing a colleague's call), audited
    6. AI on the sample call with a spoken card number (samples/ai/ai-01): offline
       transcription, the number redacted in text and audio, topics, a draft summary
    7. what the retention sweep would destroy today (dry run)
    8. verify the audit chain and sign a checkpoint
    Safe to run again: calls already stored are recognised and not stored twice.
    """

    def body() -> None:
        if not (samples / "spool").is_dir() or not (samples / "callrec.toml").is_file():
            raise ConfigError(f"no sample spool/ and callrec.toml under {samples} (see --samples)")
        init_store(ctx)
        home = ctx.paths.home
        if ctx.paths.config is None:
            shutil.copyfile(samples / "callrec.toml", home / "callrec.toml")
            ctx.paths = dataclasses.replace(ctx.paths, config=home / "callrec.toml")
        ctx.out.print(f"[bold]1. Store[/] {home} (keyring {ctx.paths.keyring})")

        spool = home.parent / f"{home.name}-spool"
        spool.mkdir(mode=0o700, exist_ok=True)
        for item in sorted((samples / "spool").iterdir()):
            if item.is_file():
                shutil.copyfile(item, spool / item.name)
        for suffix in (".wav", ".json"):  # the AI demo call (customer told about AI)
            name = AI_DEMO_CALL + suffix
            if (samples / "ai" / name).is_file():
                shutil.copyfile(samples / "ai" / name, spool / name)
        ctx.out.print(f"[bold]2. Capture[/] the sample spool ({spool})")
        spool_pass(ctx, spool)

        config = ctx.config()
        ctx.out.print("[bold]3. Calls visible to supervisor siri[/]")
        show_calls(ctx, "siri", as_json=False)

        with ctx.vault() as vault:
            calls = sorted(
                (r for r in vault.catalog.list_recordings(state=State.AVAILABLE)
                 if r.agent_id == "anna"),
                key=lambda r: r.started_at,
            )  # fmt: skip
            if not calls:
                raise ConfigError("the sample spool has no call by agent 'anna'")
            call = calls[0]
            out.mkdir(parents=True, exist_ok=True)
            target = out / f"{call.id}.wav"
            playback = open_playback(
                vault, config, principal_for(config, "anna"), call.id,
                purpose="quality", now=ctx.now(),
            )  # fmt: skip
            with target.open("wb") as fh:
                for chunk in playback.wav_chunks():
                    fh.write(chunk)
            ctx.out.print(
                f"[bold]4. Played[/] call {call.id} as its agent anna -> {target} "
                f"({playback.duration_ms / 1000:.1f} s, caller {call.caller_display})",
                highlight=False,
            )
            try:
                open_playback(
                    vault, config, principal_for(config, "carla"), call.id,
                    purpose="quality", now=ctx.now(),
                )  # fmt: skip
                raise ConfigError("demo expected carla to be denied")
            except AccessDenied as exc:
                ctx.out.print(
                    f"[bold]5. Denied[/] carla playing anna's call: {exc.reason} (audited)"
                )
            _ai_step(ctx, vault, config)
            sweep_report = sweep(vault, classes=load_classes(config), now=ctx.now(), dry_run=True)
            ctx.out.print(
                f"[bold]7. Retention[/] (dry run): {sweep_report.recordings_destroyed} "
                "recordings due for destruction today; `callrec retention sweep` destroys them",
                highlight=False,
            )
            report = vault.audit.verify()
            vault.audit.checkpoint(ctx.now())
        ctx.out.print(
            f"[bold]8. Audit chain verified[/]: {report.size} entries, signed checkpoint written."
        )
        ctx.out.print(
            "Next: callrec calls list --as bjorn; callrec play ID --as siri --purpose quality "
            "--out x.wav; callrec audit verify; callrec fsck"
        )

    run_guarded(ctx.err, body)


def _ai_step(ctx: Context, vault: Vault, config: Config) -> None:
    """Step 6: run the AI path on every call waiting for it, then show the redacted text."""
    settings = ai_settings(config)
    try:
        engine = ai_cmds.make_engine(settings)
    except TranscribeError as exc:
        ctx.out.print(f"[bold]6. AI[/] skipped: {exc}", highlight=False)
        return
    pipeline = AiPipeline(vault, settings, engine, classes=load_classes(config))
    done = [o for o in pipeline.run_pending(now=ctx.now, rng=ctx.rng) if o.done]
    calls = [o.recording_id for o in done] or [
        r.id for r in vault.catalog.list_recordings() if live_ai_artefacts(vault, r.id)
    ]
    if not calls:
        ctx.out.print("[bold]6. AI[/]: no call in the spool carries the AI notice")
        return
    call = vault.catalog.get_recording(calls[0])
    agent = principal_for(config, call.agent_id or "")
    transcript = show_transcript(vault, config, agent, call.id, now=ctx.now())
    ctx.out.print(
        f"[bold]6. AI[/] call {call.id}: redacted transcript as its agent {agent.user_id} "
        "sees it (audited):",
        highlight=False,
    )
    for segment in transcript.segments[:6]:
        ctx.out.print(
            f"   {segment.speaker or '?'}: {segment.text.strip()}", highlight=False, markup=False
        )
    topics = ", ".join(done[0].topics) if done else "(processed earlier)"
    ctx.out.print(
        f"   topics: {topics}; draft summary waits for review: "
        f"callrec summary show {call.id} --as {agent.user_id}",
        highlight=False,
    )
