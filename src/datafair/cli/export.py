"""`datafair export`: write a task's labelled dataset for training."""

from __future__ import annotations

from pathlib import Path

import typer

from datafair.cli.common import HOME_OPTION, blob_store, console, open_database, settings_for
from datafair.formats import EXPORT_FORMATS
from datafair.quality import METHODS
from datafair.services.exports import export_task


def export_command(
    task_id: str = typer.Argument(..., help="Task id (0x...)."),
    fmt: str = typer.Option(
        "jsonl", "--format", help=f"Output format: {', '.join(EXPORT_FORMATS)}."
    ),
    out: Path | None = typer.Option(
        None, "--out", file_okay=False, help="Output directory (default: HOME/exports/TASK)."
    ),
    method: str = typer.Option("auto", "--method", help=f"Quality method: {', '.join(METHODS)}."),
    home: Path | None = HOME_OPTION,
) -> None:
    """Infer labels and export them with provenance (item CID, confidence, contributors)."""
    if fmt not in EXPORT_FORMATS:
        raise typer.BadParameter(f"unknown format {fmt!r}; use one of {', '.join(EXPORT_FORMATS)}")
    if method not in METHODS:
        raise typer.BadParameter(f"unknown method {method!r}; use one of {', '.join(METHODS)}")
    settings = settings_for(home)
    database = open_database(settings)
    with database.session() as session:
        target = out or settings.exports_dir / task_id.removeprefix("0x")[:12]
        paths = export_task(session, blob_store(settings), task_id, fmt, target, method=method)
    for path in paths:
        console.print(f"wrote {path}")
