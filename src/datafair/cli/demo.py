"""`datafair demo`: one full labelling round on the embedded defaults."""

from __future__ import annotations

import typer


def demo_command() -> None:
    """Run a full marketplace round on the embedded defaults."""
    raise typer.Exit(1)
