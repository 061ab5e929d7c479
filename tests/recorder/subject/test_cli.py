"""``callrec subject`` commands at the CLI boundary: exit codes and one-line errors."""

from __future__ import annotations

from pathlib import Path

from tests.recorder.conftest import run


def test_keygen_into_a_missing_directory_is_a_one_line_error(
    env: dict[str, str], tmp_path: Path
) -> None:
    """An OSError from a file the user named was a FileNotFoundError traceback."""
    key, pub = tmp_path / "nodir" / "a.key", tmp_path / "nodir" / "a.pub"
    result = run(env, "subject", "keygen", "--key", str(key), "--pub", str(pub))
    assert result.exit_code == 1
    assert result.stderr.strip() == f"error: {key}: No such file or directory"
    assert not key.exists() and not pub.exists()
    ok = run(
        env, "subject", "keygen", "--key", str(tmp_path / "a.key"), "--pub", str(tmp_path / "a.pub")
    )
    assert ok.exit_code == 0 and (tmp_path / "a.key").stat().st_mode & 0o077 == 0
