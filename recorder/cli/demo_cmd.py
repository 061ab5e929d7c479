"""``callrec demo``: the main job on the embedded default, start to finish."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import click

from recorder.access import principal_for
from recorder.cli.app import Context, cli, run_guarded
from recorder.cli.call_cmds import show_calls, spool_pass
from recorder.cli.store_cmds import init_store, pass_ctx
from recorder.errors import AccessDenied, ConfigError
from recorder.playback import open_playback
from storage.models import State

SAMPLES = Path(__file__).resolve().parents[2] / "samples"


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
    6. verify the audit chain and sign a checkpoint
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
            report = vault.audit.verify()
            vault.audit.checkpoint(ctx.now())
        ctx.out.print(
            f"[bold]6. Audit chain verified[/]: {report.size} entries, signed checkpoint written."
        )
        ctx.out.print(
            "Next: callrec calls list --as bjorn; callrec play ID --as siri --purpose quality "
            "--out x.wav; callrec audit verify; callrec fsck"
        )

    run_guarded(ctx.err, body)
