"""A socket-layer recorder for outbound-connection tests (S1, P11).

:func:`guard` patches, for the duration of a ``with`` block, ``socket.socket.connect``,
``socket.socket.connect_ex``, ``socket.create_connection`` and ``socket.getaddrinfo`` in
this process. Every attempt is recorded; a connection to anything but the ``allowed``
(ip, port) pairs is refused with ``OSError`` *and* recorded, so a test can assert on it
even if the code under test swallowed the error. ``names`` is a tiny DNS for
``getaddrinfo`` (test host → address); any other name fails to resolve and is recorded.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Net:
    """What the code under test tried to do on the network."""

    allowed: frozenset[tuple[str, int]]
    names: Mapping[str, str]
    connects: list[tuple[str, int]] = field(default_factory=list)
    lookups: list[str] = field(default_factory=list)

    @property
    def outside(self) -> list[tuple[str, int]]:
        """Connection attempts to anything not allowed."""
        return [c for c in self.connects if c not in self.allowed]


def _address(value: Any) -> tuple[str, int]:
    if isinstance(value, tuple) and len(value) >= 2:
        return str(value[0]), int(value[1])
    return str(value), -1  # AF_UNIX path or anything odd: never allowed


@contextmanager
def guard(allowed: set[tuple[str, int]], names: Mapping[str, str]) -> Iterator[Net]:
    """Record (and police) every outbound connection and lookup inside the block."""
    net = Net(allowed=frozenset(allowed), names=dict(names))
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex
    real_create = socket.create_connection
    real_getaddrinfo = socket.getaddrinfo

    def check(address: Any) -> None:
        target = _address(address)
        net.connects.append(target)
        if target not in net.allowed:
            raise OSError(f"netguard: connection to {target} refused")

    def connect(self: socket.socket, address: Any) -> None:
        if self.family in (socket.AF_INET, socket.AF_INET6):
            check(address)
        real_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> int:
        if self.family in (socket.AF_INET, socket.AF_INET6):
            check(address)
        return real_connect_ex(self, address)

    def create_connection(address: Any, *args: Any, **kwargs: Any) -> socket.socket:
        host, port = _address(address)
        if host not in {a for a, _ in net.allowed}:
            net.connects.append((host, port))
            raise OSError(f"netguard: connection to {(host, port)} refused")
        return real_create(address, *args, **kwargs)

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            ipaddress.ip_address(str(host))
        except ValueError:
            pass
        else:  # a literal (create_connection passes the pinned address): no DNS involved
            return real_getaddrinfo(host, port, *args, **kwargs)
        net.lookups.append(str(host))
        ip = net.names.get(str(host))
        if ip is None:
            raise socket.gaierror(socket.EAI_NONAME, "netguard: unknown name")
        return real_getaddrinfo(ip, port, *args, **kwargs)

    socket.socket.connect = connect  # type: ignore[method-assign,assignment]
    socket.socket.connect_ex = connect_ex  # type: ignore[method-assign,assignment]
    socket.create_connection = create_connection
    socket.getaddrinfo = getaddrinfo
    try:
        yield net
    finally:
        socket.socket.connect = real_connect  # type: ignore[method-assign]
        socket.socket.connect_ex = real_connect_ex  # type: ignore[method-assign]
        socket.create_connection = real_create
        socket.getaddrinfo = real_getaddrinfo
