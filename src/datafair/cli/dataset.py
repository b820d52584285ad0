"""`datafair dataset`: import files as content-addressed datasets, list and show them."""

from __future__ import annotations

from pathlib import Path

import typer

from datafair.cli.common import (
    HOME_OPTION,
    blob_store,
    console,
    new_table,
    open_database,
    settings_for,
    shown,
    split_list,
)
from datafair.core.task import DatasetCard

app = typer.Typer(help="Import, list and show datasets.", no_args_is_help=True)


@app.command("import")
def import_(
    path: Path = typer.Argument(
        ...,
        exists=True,
        help=(
            "A folder of PNG/JPEG images, a CSV or JSONL of texts, a Label Studio JSON export "
            "or a COCO JSON file."
        ),
    ),
    title: str | None = typer.Option(None, "--title", help="Dataset title (default: file name)."),
    description: str = typer.Option("", "--description", help="What the data is."),
    license: str = typer.Option("CC-BY-4.0", "--license", help="SPDX licence id."),
    languages: str = typer.Option("", "--languages", help="BCP-47 tags, comma-separated."),
    source: str = typer.Option("", "--source", help="Where the data comes from."),
    annotator: str | None = typer.Option(
        None,
        "--annotator",
        help="Contributor named on imported annotations (default: labelstudio:<completed_by>, "
        "or coco).",
    ),
    ground_truth: str = typer.Option(
        "gold",
        "--ground-truth",
        help="Label Studio ground_truth annotations become: gold, or annotation.",
    ),
    coco_as_gold: bool = typer.Option(
        False, "--coco-as-gold", help="Keep a COCO file's boxes as gold instead of annotations."
    ),
    show_predictions: bool = typer.Option(
        False,
        "--show-predictions",
        help="Let labellers see Label Studio predictions as pre-annotations (hidden by default).",
    ),
    skip_unsupported: bool = typer.Option(
        False,
        "--skip-unsupported",
        help="Report Label Studio results with no datafair equivalent instead of refusing.",
    ),
    home: Path | None = HOME_OPTION,
) -> None:
    """Import PATH as a dataset; items are content-addressed and duplicates collapse.

    Label Studio annotations and predictions and COCO boxes are kept as prior answers.
    """
    from datafair.formats import PriorOptions
    from datafair.services.datasets import import_dataset

    if ground_truth not in ("gold", "annotation"):
        raise typer.BadParameter("use gold or annotation", param_hint="--ground-truth")
    options = PriorOptions(
        annotator=annotator,
        ground_truth=ground_truth,
        coco_role="gold" if coco_as_gold else "annotation",
        show_predictions=show_predictions,
        skip_unsupported=skip_unsupported,
    )
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
        report = import_dataset(session, blob_store(settings), path, card, options=options)
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
            console.print(f"  {shown(duplicate)} = {shown(first)}")
    if report.skipped:
        console.print(f"{len(report.skipped)} files skipped:")
        for skipped, reason in report.skipped[:10]:
            console.print(f"  {shown(skipped)}: {shown(reason)}")
    if report.prior:
        kept = ", ".join(f"{count} {kind}" for kind, count in sorted(report.prior.items()))
        hidden = "" if show_predictions else " (predictions hidden from labellers)"
        console.print(f"prior answers: {shown(kept)}; {report.prior_new} new{hidden}")
    if report.unsupported:
        console.print(f"{len(report.unsupported)} results with no datafair equivalent skipped:")
        for where, kind in report.unsupported[:10]:
            console.print(f"  {shown(where)}: {shown(kind)}")


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
    table = new_table("manifest CID", "title", "items", "licence")
    for info in datasets:
        licence = shown(info.card.get("license", ""))
        table.add_row(info.manifest_cid, shown(info.title), str(info.items), licence)
    console.print(table)


@app.command("show")
def show(
    manifest_cid: str = typer.Argument(..., help="The dataset's manifest CID."),
    home: Path | None = HOME_OPTION,
) -> None:
    """Show a dataset's card."""
    from datafair.services.datasets import get_dataset
    from datafair.services.prior_answers import prior_counts

    database = open_database(settings_for(home))
    with database.session() as session:
        info = get_dataset(session, manifest_cid)
        counts = prior_counts(session, manifest_cid)
    table = new_table(show_header=False)
    table.add_row("manifest", info.manifest_cid)
    table.add_row("items", str(info.items))
    for key, value in info.card.items():
        text = ", ".join(map(str, value)) if isinstance(value, list) else str(value)
        table.add_row(shown(key), shown(text, lines=True))
    if counts:
        table.add_row(
            "prior answers",
            shown(", ".join(f"{n} {kind}" for kind, n in sorted(counts.items()))),
        )
    console.print(table)
