"""`datafair export`: write a task's labelled dataset."""

from __future__ import annotations

import typer


def export_command() -> None:
    """Export a task's labelled dataset."""
    raise typer.Exit(1)
