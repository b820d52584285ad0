"""`datafair dataset`: import files as content-addressed datasets, list and show them."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from datafair.cli.common import (
    HOME_OPTION,
    blob_store,
    console,
    open_database,
    settings_for,
    split_list,
)
from datafair.core.task import DatasetCard

app = typer.Typer(help="Import, list and show datasets.", no_args_is_help=True)


@app.command("import")
def import_(
    path: Path = typer.Argument(
        ...,
        exists=True,
        help="A folder of PNG/JPEG images, a CSV or JSONL of texts, or a Label Studio JSON export.",
    ),
    title: str | None = typer.Option(None, "--title", help="Dataset title (default: file name)."),
    description: str = typer.Option("", "--description", help="What the data is."),
    license: str = typer.Option("CC-BY-4.0", "--license", help="SPDX licence id."),
    languages: str = typer.Option("", "--languages", help="BCP-47 tags, comma-separated."),
    source: str = typer.Option("", "--source", help="Where the data comes from."),
    home: Path | None = HOME_OPTION,
) -> None:
    """Import PATH as a dataset; items are content-addressed and duplicates collapse."""
    from datafair.services.datasets import import_dataset

    settings = settings_for(home)
    card = DatasetCard(
        title=title or path.stem,
        description=description,
        license=license,
        languages=split_list(languages),
        source=source,
    )
    database = open_database(settings)
    with database.session() as session:
        report = import_dataset(session, blob_store(settings), path, card)
    if report.already_imported:
        console.print(f"already imported: dataset {report.manifest_cid}")
    else:
        console.print(f"imported dataset [bold]{report.manifest_cid}[/]")
    counts = ", ".join(f"{count} {kind}" for kind, count in report.counts.items())
    console.print(
        f"{report.items} items ({counts}), {report.new_items} new, format {report.format}"
    )
    if report.duplicates:
        console.print(f"{len(report.duplicates)} duplicates collapsed, e.g.:")
        for duplicate, first in report.duplicates[:5]:
            console.print(f"  {duplicate} = {first}")
    if report.skipped:
        console.print(f"{len(report.skipped)} files skipped:")
        for skipped, reason in report.skipped[:10]:
            console.print(f"  {skipped}: {reason}")


@app.command("list")
def list_(home: Path | None = HOME_OPTION) -> None:
    """List stored datasets."""
    from datafair.services.datasets import list_datasets

    database = open_database(settings_for(home))
    with database.session() as session:
        datasets = list_datasets(session)
    if not datasets:
        console.print("no datasets yet; import one with 'datafair dataset import PATH'")
        return
    table = Table("manifest CID", "title", "items", "licence")
    for info in datasets:
        table.add_row(info.manifest_cid, info.title, str(info.items), info.card.get("license", ""))
    console.print(table)


@app.command("show")
def show(
    manifest_cid: str = typer.Argument(..., help="The dataset's manifest CID."),
    home: Path | None = HOME_OPTION,
) -> None:
    """Show a dataset's card."""
    from datafair.services.datasets import get_dataset

    database = open_database(settings_for(home))
    with database.session() as session:
        info = get_dataset(session, manifest_cid)
    table = Table(show_header=False)
    table.add_row("manifest", info.manifest_cid)
    table.add_row("items", str(info.items))
    for key, value in info.card.items():
        table.add_row(key, ", ".join(value) if isinstance(value, list) else str(value))
    console.print(table)
