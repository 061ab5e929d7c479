"""The package boundaries of ARCHITECTURE.md §1, enforced with ``ast``.

- ``storage`` and ``transcribe`` never import ``recorder`` or each other.
- Each third-party library with a hazardous surface is imported by one module only.

Modelled on pallets/click ``tests/test_imports.py``: an import rule as a test. The checker
is also run over a synthetic tree with known violations, so this test can fail.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("recorder", "storage", "transcribe")

#: package -> packages it must never import
FORBIDDEN_PACKAGES: dict[str, tuple[str, ...]] = {
    "storage": ("recorder", "transcribe"),
    "transcribe": ("recorder", "storage"),
    "recorder": (),
}

#: library -> modules allowed to import it (relative posix paths; a trailing "/" = a folder)
CONFINED: dict[str, tuple[str, ...]] = {
    "cryptography": ("storage/crypto.py",),
    "sqlite3": ("storage/catalog.py", "storage/audit.py", "storage/jobs.py"),
    "faster_whisper": ("transcribe/engine.py",),
    "ctranslate2": ("transcribe/engine.py",),
    "phonenumbers": ("recorder/masking.py",),
    "pydub": ("recorder/audio.py",),
    "imageio_ffmpeg": ("recorder/audio.py",),
    "starlette": ("recorder/web/",),
    "fastapi": ("recorder/web/",),
    "uvicorn": ("recorder/web/",),
    "multipart": ("recorder/web/",),
    "python_multipart": ("recorder/web/",),
    "jinja2": ("recorder/web/ui/render.py",),
    "argon2": ("recorder/web/ui/passwords.py",),
    "authlib": ("recorder/web/ui/oidc.py",),
    "joserfc": ("recorder/web/ui/oidc.py",),
    "requests": ("recorder/web/ui/oidc.py",),
    "click": ("recorder/cli/", "recorder/cli.py"),
    "rich": ("recorder/cli/", "recorder/cli.py"),
}


@dataclass(frozen=True)
class Violation:
    module: str
    line: int
    imported: str
    rule: str


def _imports(tree: ast.AST) -> Iterator[tuple[int, str]]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.lineno, node.module


def _allowed(rel: str, places: tuple[str, ...]) -> bool:
    return any(rel.startswith(p) if p.endswith("/") else rel == p for p in places)


def check_tree(root: Path) -> list[Violation]:
    """Every import rule broken by the packages under ``root``."""
    found: list[Violation] = []
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            rel = path.relative_to(root).as_posix()
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=rel)
            for line, name in _imports(tree):
                top = name.split(".")[0]
                if top in FORBIDDEN_PACKAGES[package]:
                    found.append(Violation(rel, line, name, f"{package} must not import {top}"))
                places = CONFINED.get(top)
                if places is not None and not _allowed(rel, places):
                    found.append(Violation(rel, line, name, f"{top} only in {', '.join(places)}"))
    return found


def test_packages_respect_the_boundaries() -> None:
    violations = check_tree(ROOT)
    assert violations == [], "\n".join(
        f"{v.module}:{v.line} imports {v.imported} ({v.rule})" for v in violations
    )


def test_packages_exist_and_are_walked() -> None:
    for package in PACKAGES:
        assert (ROOT / package / "__init__.py").is_file()
    assert any((ROOT / "storage").rglob("crypto.py"))


@pytest.mark.parametrize(
    ("rel", "source", "rule_fragment"),
    [
        ("storage/bad.py", "import recorder.cli\n", "storage must not import recorder"),
        ("storage/bad.py", "from transcribe import engine\n", "must not import transcribe"),
        ("transcribe/bad.py", "from storage.crypto import seal_stream\n", "must not import"),
        ("storage/blobs.py", "from cryptography.hazmat import primitives\n", "cryptography"),
        ("recorder/capture.py", "import sqlite3\n", "sqlite3 only"),
        ("recorder/ai.py", "def f():\n    import faster_whisper\n", "faster_whisper"),
        ("recorder/web2/app.py", "from starlette.requests import Request\n", "starlette"),
        ("recorder/web/ui/pages_calls.py", "import jinja2\n", "jinja2 only"),
        ("recorder/web/ui/auth.py", "from argon2 import PasswordHasher\n", "argon2 only"),
        ("recorder/web/ui/app.py", "from authlib.oidc.core import CodeIDToken\n", "authlib"),
    ],
)
def test_checker_catches_violations(
    tmp_path: Path, rel: str, source: str, rule_fragment: str
) -> None:
    for package in PACKAGES:
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").write_text("")
    target = tmp_path / rel
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(source)
    violations = check_tree(tmp_path)
    assert len(violations) == 1
    assert rule_fragment in violations[0].rule


def test_checker_allows_the_owners(tmp_path: Path) -> None:
    for package in PACKAGES:
        (tmp_path / package).mkdir()
    (tmp_path / "storage" / "crypto.py").write_text("from cryptography import x509\n")
    (tmp_path / "storage" / "catalog.py").write_text("import sqlite3\n")
    (tmp_path / "recorder" / "web").mkdir()
    (tmp_path / "recorder" / "web" / "app.py").write_text("import starlette\nimport storage\n")
    assert check_tree(tmp_path) == []
