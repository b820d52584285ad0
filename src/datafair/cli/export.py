"""`datafair export`: write a task's labelled dataset for training."""

from __future__ import annotations

from pathlib import Path

import typer

from datafair.cli.common import (
    EXPORT_FORMAT_NAMES,
    HOME_OPTION,
    QUALITY_METHODS,
    blob_store,
    console,
    open_database,
    settings_for,
)


def export_command(
    task_id: str = typer.Argument(..., help="Task id (0x...)."),
    fmt: str = typer.Option(
        "jsonl", "--format", help=f"Output format: {', '.join(EXPORT_FORMAT_NAMES)}."
    ),
    out: Path | None = typer.Option(
        None, "--out", file_okay=False, help="Output directory (default: HOME/exports/TASK)."
    ),
    method: str = typer.Option(
        "auto", "--method", help=f"Quality method: {', '.join(QUALITY_METHODS)}."
    ),
    home: Path | None = HOME_OPTION,
) -> None:
    """Infer labels and export them with provenance (item CID, confidence, contributors)."""
    from datafair.services.exports import export_task

    if fmt not in EXPORT_FORMAT_NAMES:
        raise typer.BadParameter(
            f"unknown format {fmt!r}; use one of {', '.join(EXPORT_FORMAT_NAMES)}"
        )
    if method not in QUALITY_METHODS:
        raise typer.BadParameter(
            f"unknown method {method!r}; use one of {', '.join(QUALITY_METHODS)}"
        )
    settings = settings_for(home)
    database = open_database(settings)
    with database.session() as session:
        target = out or settings.exports_dir / task_id.removeprefix("0x")[:12]
        paths = export_task(session, blob_store(settings), task_id, fmt, target, method=method)
    for path in paths:
        console.print(f"wrote {path}")
