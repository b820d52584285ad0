"""`datafair reputation`: show contributors' reputations, record a task's inference, lift pauses."""

from __future__ import annotations

from pathlib import Path

import typer

from datafair.cli.common import (
    HOME_OPTION,
    console,
    new_table,
    open_database,
    settings_for,
    shown,
)
from datafair.core.schemas import TaskType

app = typer.Typer(help="Contributors' reputations and pauses.", no_args_is_help=True)


@app.command("show")
def show(
    task_type: TaskType = typer.Option(TaskType.CLASSIFICATION, "--type", help="Task type."),
    home: Path | None = HOME_OPTION,
) -> None:
    """List every contributor's reputation on a task type, best first."""
    from datafair.services.reputation import reputations

    database = open_database(settings_for(home))
    with database.session() as session:
        records = reputations(session, task_type)
    if not records:
        console.print(f"no reputation recorded on {shown(task_type)} tasks yet")
        return
    table = new_table("contributor", "reputation (bps)", "mean accuracy", "answers", "settlements")
    ranked = sorted(records.items(), key=lambda pair: (-pair[1].score_bps, pair[0]))
    for address, record in ranked:
        table.add_row(
            address,
            str(record.score_bps),
            f"{record.mean:.3f}",
            str(record.answers),
            str(record.settlements),
        )
    console.print(table)


@app.command("update")
def update(
    task_id: str = typer.Argument(..., help="Task id (0x...)."),
    method: str = typer.Option("auto", "--method", help="Quality method (see datafair quality)."),
    home: Path | None = HOME_OPTION,
) -> None:
    """Infer the task (with its reviews) and record each contributor's evidence; pause spammers."""
    from datafair.services.reputation import paused_on, update_reputations
    from datafair.services.reviews import infer_with_reviews

    database = open_database(settings_for(home))
    with database.session() as session:
        result = infer_with_reviews(session, task_id, method=method)
        changed = update_reputations(session, task_id, result)
        paused = paused_on(session, task_id)
    console.print(
        f"recorded {len(changed)} contributors' evidence; {len(paused)} paused on this task"
    )


@app.command("unpause")
def unpause(
    task_id: str = typer.Argument(..., help="Task id (0x...)."),
    address: str = typer.Argument(..., help="Contributor address (0x...)."),
    home: Path | None = HOME_OPTION,
) -> None:
    """Lift a contributor's pause on a task (the operator's decision)."""
    from datafair.services.reputation import lift_pause

    database = open_database(settings_for(home))
    with database.session() as session:
        lifted = lift_pause(session, task_id, address)
    console.print("pause lifted" if lifted else "the contributor was not paused on this task")
