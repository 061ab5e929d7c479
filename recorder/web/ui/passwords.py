"""Password hashing for local web accounts: argon2id, the only module that imports argon2.

Parameters are argon2-cffi's defaults, RFC 9106's "low memory" profile (argon2id, t=3,
m=64 MiB, p=4): the hash is memory-hard, and a stored hash made with older parameters is
upgraded on the next successful sign-in (:func:`needs_rehash`). Verifying a name that has
no account still runs one verification against a fixed dummy hash, so the time taken does
not tell whether the account exists.
"""

from __future__ import annotations

import functools

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from recorder.errors import ConfigError

MIN_LENGTH = 12
#: Longer input is refused before hashing (an unbounded password is a CPU lever).
MAX_LENGTH = 1024

_HASHER = PasswordHasher()


def check_new_password(password: str) -> str:
    """A password fit to set: 12 to 1024 characters, not only white space."""
    if not MIN_LENGTH <= len(password) <= MAX_LENGTH or not password.strip():
        raise ConfigError(
            f"password: expected {MIN_LENGTH} to {MAX_LENGTH} characters (a passphrase works)"
        )
    return password


def hash_password(password: str) -> str:
    """The argon2id PHC string of ``password`` (salted; a new salt every call)."""
    return _HASHER.hash(check_new_password(password))


@functools.cache
def _dummy() -> str:
    return _HASHER.hash("callrec: no such account, same work")


def verify_password(stored: str | None, password: str) -> bool:
    """True if ``password`` matches ``stored``; ``stored=None`` does the same work, False."""
    if len(password) > MAX_LENGTH:
        return False
    try:
        return _HASHER.verify(stored or _dummy(), password) and stored is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    """True if ``stored`` was made with other parameters than today's."""
    try:
        return _HASHER.check_needs_rehash(stored)
    except InvalidHashError:
        return True
