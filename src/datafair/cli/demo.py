"""`datafair demo`: one full labelling round of the marketplace on the embedded defaults."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from datafair.cli.common import QUALITY_METHODS, console, err_console, new_table, settings_for
from datafair.cli.progress import RichProgress

if TYPE_CHECKING:
    from rich.table import Table as RichTable

    from datafair.services.demo import DemoReport


def _render(report: DemoReport) -> None:
    summary = new_table(title="datafair demo", show_header=False, title_justify="left")
    summary.add_column(style="bold", no_wrap=True)
    summary.add_column(overflow="fold")
    summary.add_row("items", f"{report.items} ({report.gold_items} gold)")
    summary.add_row(
        "contributors",
        ", ".join(f"{count} {kind}" for kind, count in report.contributors.items()),
    )
    summary.add_row(
        "signed submissions", f"{report.submissions} accepted, {report.rejected} refused"
    )
    summary.add_row("signed reviews", str(report.reviews))
    summary.add_row(
        "accuracy",
        f"{report.accuracy:.1%} ({report.method})  vs  "
        f"{report.accuracy_majority_vote:.1%} majority vote",
    )
    summary.add_row(
        "flagged as spam",
        ", ".join(f"{count} {kind}" for kind, count in report.flagged_spammers.items()),
    )
    summary.add_row("task", report.task_id)
    summary.add_row("dataset", report.dataset_cid)
    summary.add_row("payout bundle", report.money.bundle_cid or "(nothing earned)")
    for fmt, path in report.exports.items():
        summary.add_row(f"export ({fmt})", path)
    summary.add_row(
        "seconds", ", ".join(f"{step} {value:.1f}" for step, value in report.seconds.items())
    )
    console.print(summary)
    console.print(_money_table(report))


def _tokens(amount: int) -> str:
    """Base units of an 18-decimal token as a decimal amount."""
    return f"{amount / 10**18:,.6f}"


def _pay_per_answer(paid: dict[str, int], answers: dict[str, int]) -> dict[str, float]:
    """Base units paid per answer, for each contributor kind that answered."""
    return {kind: amount / answers[kind] for kind, amount in paid.items() if answers.get(kind)}


def _money_table(report: DemoReport) -> RichTable:
    money = report.money
    table = new_table(title="money flow (DDEV, embedded chain)", title_justify="left")
    table.add_column("", style="bold")
    table.add_column("amount", justify="right")
    table.add_column("share of funding", justify="right")
    table.add_column("per answer (× skilled)", justify="right")

    def row(label: str, amount: int, per_answer: str = "") -> None:
        share = amount / money.funded if money.funded else 0.0
        table.add_row(label, _tokens(amount), f"{share:.1%}", per_answer)

    row("funded by the requester", money.funded)
    rates = _pay_per_answer(money.paid_by_kind, report.answers_by_kind)
    skilled = rates.get("skilled", 0.0)
    for kind, amount in money.paid_by_kind.items():
        rate = rates.get(kind)
        relative = f" ({rate / skilled:.2f}×)" if rate is not None and skilled else ""
        per_answer = "" if rate is None else f"{rate / 10**18:,.6f}{relative}"
        wallets = report.contributors.get(kind, 0)
        row(f"  paid to {kind} contributors ({wallets})", amount, per_answer)
    copied = report.copied
    if copied.get("answers") and skilled:
        rate = copied["paid"] / copied["answers"]
        row(
            "    (the worker the copier copies)",
            copied["paid"],
            f"{rate / 10**18:,.6f} ({rate / skilled:.2f}×)",
        )
    row("  platform fee", money.fee)
    row("  refunded to the requester", money.refunded)
    row("  still held by the escrow", money.still_held)
    table.add_row(
        "share of the spend that reached contributors", "", f"{money.contributor_share:.1%}"
    )
    table.add_row("audit of the payout bundle", "", "passed" if money.audit_ok else "FAILED")
    table.add_row(
        "gold revealed by the bundle (retired)", "", f"{money.gold_revealed} of {report.gold_items}"
    )
    if report.market is not None:
        _sales_rows(table, report)
    return table


def _sales_rows(table: RichTable, report: DemoReport) -> None:
    """The release's sales: what buyers paid and where it went, royalties by contributor kind."""
    sales = report.market
    assert sales is not None
    table.add_section()
    table.add_row(
        f"{sales.sales} licences sold (release #{sales.dataset_token})",
        _tokens(sales.gross),
        "share of sales",
    )

    def row(label: str, amount: int) -> None:
        share = amount / sales.gross if sales.gross else 0.0
        table.add_row(label, _tokens(amount), f"{share:.1%}")

    row("  platform fee", sales.fee)
    row("  to the dataset owner", sales.owner)
    row(f"  royalty pool ({sales.royalty_share:.0%} promised)", sales.royalties)
    for kind, amount in sales.royalties_by_kind.items():
        row(f"    royalties claimed by {kind} contributors", amount)
    table.add_row(
        "collection task",
        _tokens(sales.collection_paid),
        f"{sales.collected} items, {sales.refused_duplicates} duplicates refused",
    )
    table.add_row("audit of the release weights", "", "passed" if sales.audit_ok else "FAILED")


def demo_command(
    home: Path | None = typer.Option(
        None, "--home", help="Data directory for the demo (default: $DATAFAIR_HOME or ./.datafair)."
    ),
    seed: int = typer.Option(7, "--seed", min=0, help="Seed of the simulated crowd and data."),
    items: int = typer.Option(
        400, "--items", min=10, max=100_000, help="Number of items to publish and label."
    ),
    method: str = typer.Option(
        "auto", "--method", help=f"Quality method: {', '.join(QUALITY_METHODS)}."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the result as one JSON object."),
) -> None:
    """Run a full round: publish, fund, crowd-label and review, infer, export, settle, claim,
    refund, audit."""
    from datafair.services.demo import run_demo

    if method not in QUALITY_METHODS:
        raise typer.BadParameter(
            f"unknown method {method!r}; use one of {', '.join(QUALITY_METHODS)}"
        )
    settings = settings_for(home)
    with RichProgress(err_console, enabled=not as_json) as progress:
        report = run_demo(settings, seed=seed, n_items=items, method=method, progress=progress)
    if as_json:
        typer.echo(json.dumps(report.as_dict(), sort_keys=True))
    else:
        _render(report)
