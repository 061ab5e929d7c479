"""Placeholder CLI (replaced below)."""


def main() -> None:
    """Entry point."""
