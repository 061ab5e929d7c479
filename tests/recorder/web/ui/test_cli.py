"""``callrec users set-password`` and ``callrec web``: the edges an operator uses.

The password is read from a prompt (twice) or the first line of stdin, never from the
command line; it must belong to a user of the org chart; setting it is audited without the
password and ends that user's open sessions. ``callrec web`` serves the app in its own
process and stops cleanly on SIGTERM.
"""

from __future__ import annotations

import http.client
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from click.testing import CliRunner

from recorder.cli import cli
from tests.recorder.conftest import run


def _password_rows(env: dict[str, str]) -> list[tuple[str, str]]:
    conn = sqlite3.connect(Path(env["CALLREC_HOME"]) / "catalog.db")
    try:
        return conn.execute("SELECT user_id, password_hash FROM web_accounts").fetchall()
    finally:
        conn.close()


def test_set_password_from_stdin_or_a_prompt_never_argv(env: dict[str, str]) -> None:
    assert run(env, "init").exit_code == 0
    secret = "a passphrase for siri"  # noqa: S105 - a test password
    done = CliRunner().invoke(cli, ["users", "set-password", "siri", "--stdin"], env=env,
                              input=secret + "\n")  # fmt: skip
    assert done.exit_code == 0, done.output
    assert "Set the web password of siri" in done.output
    prompted = CliRunner().invoke(cli, ["users", "set-password", "siri"], env=env,
                                  input="another passphrase\nanother passphrase\n")  # fmt: skip
    assert prompted.exit_code == 0 and "Changed the web password of siri" in prompted.output
    rows = _password_rows(env)
    assert [u for u, _ in rows] == ["siri"] and rows[0][1].startswith("$argon2id$")
    assert secret not in str(rows)
    as_arg = CliRunner().invoke(cli, ["users", "set-password", "siri", secret], env=env)
    assert as_arg.exit_code == 2  # no such argument: a password is never put on a command line
    unknown = CliRunner().invoke(cli, ["users", "set-password", "mallory", "--stdin"], env=env,
                                 input=secret + "\n")  # fmt: skip
    assert unknown.exit_code == 2 and "not a user of the org chart" in unknown.output
    short = CliRunner().invoke(cli, ["users", "set-password", "anna", "--stdin"], env=env,
                               input="short\n")  # fmt: skip
    assert short.exit_code == 2 and "12 to 1024 characters" in short.output
    audit = sqlite3.connect(Path(env["CALLREC_HOME"]) / "catalog.db")
    try:
        entries = audit.execute(
            "SELECT action, detail FROM audit_log WHERE action = 'web.password.set'"
        ).fetchall()
    finally:
        audit.close()
    assert len(entries) == 2 and all(secret not in str(e) for e in entries)


def test_help_has_examples(env: dict[str, str]) -> None:
    for args in (("web", "--help"), ("users", "set-password", "--help")):
        out = run(env, *args).output
        assert "Examples:" in out, args
    assert "callrec web" in run(env, "--help").output


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_callrec_web_serves_in_its_own_process_and_stops_on_sigterm(
    env: dict[str, str], tmp_path: Path
) -> None:
    assert run(env, "init").exit_code == 0
    port = _free_port()
    proc = subprocess.Popen(
        [str(Path(sys.executable).parent / "callrec"), "web", "--port", str(port)],
        env={**os.environ, **env}, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        status = None
        for _ in range(300):
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                conn.request("GET", "/login")
                response = conn.getresponse()
                status, csp = response.status, response.getheader("content-security-policy")
                conn.close()
                break
            except OSError:
                time.sleep(0.05)
        assert status == 200 and csp is not None and "script-src 'self'" in csp
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert b"callrec web app on http://127.0.0.1:" in err


def test_local_accounts_never_load_the_oidc_extra() -> None:
    """Authlib and requests (the ``oidc`` extra) load only when ``[web.oidc]`` is configured:
    the CLI and the web app import without them (urllib3 even probes a socket on import)."""
    extra = "('authlib', 'joserfc', 'requests', 'urllib3')"
    probe = "import sys, recorder.cli, recorder.web.ui.app\n"
    probe += f"print([m for m in {extra} if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         timeout=120, check=True)  # fmt: skip
    assert out.stdout.strip() == "[]"
