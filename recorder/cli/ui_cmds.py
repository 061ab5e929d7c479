"""``callrec web`` (the QA and supervisor web app) and ``callrec users set-password``."""

from __future__ import annotations

import sys

import click

from recorder.cli.app import Context, cli, run_guarded
from recorder.cli.store_cmds import pass_ctx
from recorder.errors import ConfigError
from recorder.web.server import serve
from recorder.web.ui.auth import set_password
from recorder.web.ui.server import DEFAULT_PORT, ui_config, ui_deps
from recorder.web.ui.settings import ui_settings


@cli.command("web")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=DEFAULT_PORT, show_default=True, type=click.IntRange(0, 65535))
@pass_ctx
def web(ctx: Context, host: str, port: int) -> None:
    """Serve the QA review and supervisor web app (its own process and port).

    Pages: Calls, Call (player, redacted transcript, AI summary), Review (the QA
    reviewer's queue and scorecard), Team report (supervisors), Access log (DPO). Every
    page and every audio byte is decided by the same rules as the CLI and written to the
    audit log first.

    Sign-in: local accounts (`callrec users set-password USER`) or, with [web.oidc] in
    the config file, your organisation's OpenID Connect provider. Put a TLS-terminating
    proxy in front and set [web] public_base_url = "https://..." so cookies are Secure.

    \b
    Examples:
      callrec users set-password siri          # once per person, for local accounts
      callrec web                              # http://127.0.0.1:8090
      callrec web --host 0.0.0.0 --port 9443   # behind your TLS proxy
    """

    def body() -> None:
        config = ctx.config()
        settings = ui_settings(config)
        deps = ui_deps(
            ctx.paths.home, ctx.paths.keyring, config, settings, clock=ctx.now, rng=ctx.rng,
            redirect_base=settings.public_base_url or f"http://{host}:{port}",
        )  # fmt: skip
        ctx.err.print(
            f"callrec web app on http://{host}:{port} "
            f"(sign-in: {'local accounts' if settings.local_accounts else ''}"
            f"{' + ' if settings.local_accounts and settings.oidc else ''}"
            f"{'OpenID Connect' if settings.oidc else ''}; "
            f"cookies {'Secure' if settings.secure_cookies else 'not Secure: no TLS configured'})",
            highlight=False,
        )
        try:
            serve(ui_config(deps, host, port))
        finally:
            deps.db.close()

    run_guarded(ctx.err, body)


@cli.group()
def users() -> None:
    """Local web accounts of the org chart's users (passwords are argon2id hashes)."""


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline()
        if not line:
            raise ConfigError("password: nothing on standard input")
        return line.rstrip("\r\n")
    value: str = click.prompt("New password", hide_input=True, confirmation_prompt=True, err=True)
    return value


@users.command("set-password")
@click.argument("user")
@click.option(
    "--stdin", "from_stdin", is_flag=True, help="Read the password from the first line of stdin."
)
@pass_ctx
def set_password_cmd(ctx: Context, user: str, from_stdin: bool) -> None:
    """Set USER's web password (prompted twice, or --stdin; never an argument).

    USER must be in the org chart. At least 12 characters; stored as an argon2id hash.
    The user's open web sessions end. Audited (web.password.set), without the password.

    \b
    Examples:
      callrec users set-password siri
      printf '%s\\n' "$PASSWORD" | callrec users set-password siri --stdin
    """

    def body() -> None:
        config = ctx.config()
        if user not in config.users:
            raise ConfigError("user: not a user of the org chart (add them to [[users]] first)")
        password = _read_password(from_stdin)
        with ctx.vault() as vault:
            replaced, ended = set_password(vault, config, user, password, now=ctx.now())
        verb = "Changed" if replaced else "Set"
        ctx.out.print(
            f"{verb} the web password of {user} ({ended} open session(s) ended).",
            highlight=False,
        )

    run_guarded(ctx.err, body)
