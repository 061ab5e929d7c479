"""``callrec demo``: the main job on the embedded default (storage self-check for now)."""

from __future__ import annotations

from recorder.cli.app import Context, cli, run_guarded
from recorder.cli.store_cmds import init_store, pass_ctx, run_selfcheck_cmd


@cli.command()
@pass_ctx
def demo(ctx: Context) -> None:
    """Initialise the store if needed, then run the storage self-check."""

    def body() -> None:
        init_store(ctx)
        ctx.out.print(f"callrec store at {ctx.paths.home} (keyring {ctx.paths.keyring})")
        run_selfcheck_cmd(ctx)
        ctx.out.print("Storage self-check passed.")

    run_guarded(ctx.err, body)
