"""A throwaway SoftHSM2 PKCS#11 token store: its own config and token dir per session.

SoftHSM2 (Debian ``softhsm2``) is a PKCS#11 module that keeps its tokens in files. It
finds its config through the ``SOFTHSM2_CONF`` environment variable, read when the module
is initialised (``C_Initialize``), so the fixture sets it for the whole test process before
anything loads the module, and child processes inherit it.

Library: python-pkcs11 (typed, ``py.typed``; a Pythonic session/key API; manylinux
wheels). Its ``Slot.get_mechanism_info`` reads an uninitialised struct that SoftHSM ORs
flags into, so its flags are garbage for some mechanisms here - test a mechanism by using
it, not by its flags.
"""

from __future__ import annotations

import os
import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from tests.servers._process import HarnessError, find_binary, run_checked, server_dir

if TYPE_CHECKING:
    import pkcs11
    from pkcs11._pkcs11 import lib as Pkcs11Lib

PACKAGE = "the Debian package `softhsm2` (`make system` installs it)"
MODULE_CANDIDATES = (
    Path("/usr/lib/softhsm/libsofthsm2.so"),
    Path("/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so"),
    Path("/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so"),
)


def find_module() -> Path:
    """The SoftHSM2 PKCS#11 module (``$CALLREC_PKCS11_MODULE`` overrides)."""
    override = os.environ.get("CALLREC_PKCS11_MODULE")
    for path in [Path(override)] if override else MODULE_CANDIDATES:
        if path.is_file():
            return path
    where = override or ", ".join(map(str, MODULE_CANDIDATES))
    raise HarnessError(f"SoftHSM2 PKCS#11 module not found ({where}): install {PACKAGE}")


@dataclass(frozen=True)
class TokenInfo:
    """An initialised token: its label, user PIN and security-officer PIN."""

    label: str
    pin: str
    so_pin: str


class SoftHSM:
    """A SoftHSM2 token directory with its config file; tokens made by ``softhsm2-util``.

    One token, :attr:`default`, is initialised at once; :meth:`init_token` makes more.
    """

    def __init__(
        self,
        *,
        base_dir: Path | None = None,
        module: Path | None = None,
        default_label: str = "callrec",
    ) -> None:
        self.module = module or find_module()
        self.util = find_binary("softhsm2-util", package=PACKAGE)
        self._own_dir = base_dir is None
        self.base_dir = base_dir or server_dir("hsm")
        self.token_dir = self.base_dir / "tokens"
        self.conf_path = self.base_dir / "softhsm2.conf"
        self.token_dir.mkdir(parents=True, exist_ok=True)
        self.conf_path.write_text(
            f"directories.tokendir = {self.token_dir}\n"
            "objectstore.backend = file\n"
            "log.level = ERROR\n"
            "slots.removable = false\n",
            "utf-8",
        )
        try:
            #: The token made at once (label ``default_label``, random PINs).
            self.default = self.init_token(default_label)
        except BaseException:
            self.cleanup()
            raise

    @property
    def env(self) -> dict[str, str]:
        """The environment a process needs to see these tokens (``SOFTHSM2_CONF``)."""
        return {"SOFTHSM2_CONF": str(self.conf_path)}

    def init_token(
        self, label: str, *, pin: str | None = None, so_pin: str | None = None
    ) -> TokenInfo:
        """Initialise a new token ``label`` in a free slot, with random PINs unless given.

        A process that already loaded the module sees it after ``lib.reinitialize()``
        (:meth:`token` does that when the label is not found).
        """
        info = TokenInfo(label, pin or secrets.token_hex(8), so_pin or secrets.token_hex(8))
        run_checked(
            [
                self.util,
                "--init-token",
                "--free",
                "--label",
                label,
                "--pin",
                info.pin,
                "--so-pin",
                info.so_pin,
            ],
            what=f"softhsm2-util --init-token {label}",
            env=self.env,
        )
        return info

    def lib(self) -> Pkcs11Lib:
        """The module loaded with python-pkcs11 (one per process; SOFTHSM2_CONF must be ours)."""
        import pkcs11

        if os.environ.get("SOFTHSM2_CONF") != str(self.conf_path):
            raise HarnessError(
                "SOFTHSM2_CONF must point at this SoftHSM's config before the module is "
                "loaded (the softhsm fixture sets it for the test session)"
            )
        return pkcs11.lib(str(self.module))

    def token(self, label: str) -> pkcs11.Token:
        """The python-pkcs11 token ``label`` (re-scanning the slots once if it is new)."""
        import pkcs11

        lib = self.lib()
        try:
            return lib.get_token(token_label=label)
        except pkcs11.NoSuchToken:
            lib.reinitialize()
            return lib.get_token(token_label=label)

    def cleanup(self) -> None:
        """Delete the token dir (kept if CALLREC_KEEP_SERVER_DIRS=1)."""
        if self._own_dir and os.environ.get("CALLREC_KEEP_SERVER_DIRS") != "1":
            shutil.rmtree(self.base_dir, ignore_errors=True)
