"""The ``callrec`` command line: the edge where people and scripts meet callrec.

Exit codes: 0 ok, 1 error, 2 usage or configuration, 3 denied. Only this package reads
the clock and the system random source; everything below takes ``now=`` and ``rng=``.
"""

from __future__ import annotations

from recorder.cli import (  # noqa: F401  (importing registers the commands)
    ai_cmds,
    call_cmds,
    chat_cmds,
    demo_cmd,
    qa_cmds,
    retention_cmds,
    store_cmds,
    subject_cmds,
    ui_cmds,
    web_cmds,
    worker_cmds,
)
from recorder.cli.app import cli, main

__all__ = ["cli", "main"]
