"""`datafair pay TASK`: a task's effective hourly pay against the operator's fair-pay floor."""

from __future__ import annotations

from pathlib import Path

import typer

from datafair.cli.common import HOME_OPTION, console, new_table, open_database, settings_for


def pay_command(
    task_id: str = typer.Argument(..., help="Task id (0x...)."),
    floor: int | None = typer.Option(
        None,
        "--floor",
        min=0,
        help="Floor in base units per hour (default $DATAFAIR_FAIR_PAY_FLOOR).",
    ),
    home: Path | None = HOME_OPTION,
) -> None:
    """Show a task's median time on item and effective hourly pay against the floor."""
    from datafair.services.fair_pay import fair_pay_status

    settings = settings_for(home)
    chosen = settings.fair_pay_floor if floor is None else floor
    database = open_database(settings)
    with database.session() as session:
        status = fair_pay_status(session, task_id, chosen)
    table = new_table(show_header=False)
    table.add_row("task", "0x" + status.task_id.hex())
    table.add_row("price per answer", str(status.price_per_answer))
    table.add_row("timed answers", str(status.timed_answers))
    if status.median_ms is None:
        table.add_row("median time on item", "no answer recorded its time yet")
    else:
        table.add_row("median time on item", f"{status.median_ms / 1000:g} s")
        table.add_row("effective pay per hour", str(status.hourly))
    table.add_row("floor per hour", str(status.floor_per_hour) if status.floor_per_hour else "none")
    if status.price_needed is not None and status.floor_per_hour:
        table.add_row("price needed for the floor", str(status.price_needed))
    table.add_row("status", "BELOW THE FLOOR" if status.below_floor else "ok")
    console.print(table)
