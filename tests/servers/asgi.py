"""An ASGI app (Starlette) served by a real uvicorn on a free 127.0.0.1 port, on a thread.

For browser tests (and any test that needs real HTTP): ``with serve_asgi(app) as url:``.
Kept here rather than borrowed from ``recorder.web`` so the harness does not depend on
the code under test.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from tests.servers._process import HarnessError


@contextmanager
def serve_asgi(app: Any, *, timeout: float = 15.0) -> Iterator[str]:
    """Serve ``app`` until the block ends; yields its base URL (``http://127.0.0.1:<port>``)."""
    import uvicorn

    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="asgi-test-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            raise HarnessError("the test ASGI server did not start")
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
