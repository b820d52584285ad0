"""`datafair task`: create labelling tasks, take items, submit signed answers, follow progress."""

from __future__ import annotations

import csv
import io
import json
import re
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import typer

from datafair.cli.common import (
    HOME_OPTION,
    STATE,
    blob_store,
    console,
    new_table,
    open_database,
    read_password,
    settings_for,
    shown,
    split_list,
)
from datafair.core.errors import InvalidInput
from datafair.core.schemas import LabelSchema, TaskType
from datafair.core.task import TaskSpec

app = typer.Typer(
    help="Create labelling tasks, take items, submit signed answers.", no_args_is_help=True
)

_RELATIVE = re.compile(r"^\+(\d+)([dhm])$")
_UNIT_SECONDS = {"d": 86_400, "h": 3_600, "m": 60}


def parse_deadline(value: str, now: float) -> int:
    """``+7d`` / ``+12h`` / ``+30m``, an ISO date or date-time (UTC), or Unix seconds."""
    text = value.strip()
    relative = _RELATIVE.match(text)
    if relative:
        return int(now) + int(relative.group(1)) * _UNIT_SECONDS[relative.group(2)]
    if text.isdigit():
        return int(text)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput(
            "deadline", f"{value!r} is not a date", "use +7d, +12h, 2026-12-31 or 2026-12-31T18:00"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp())


def parse_answer(text: str) -> Any:
    """An answer from the command line: JSON if it parses as JSON, else the plain string."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def read_gold(path: Path) -> dict[str, Any]:
    """Gold answers from a CSV with header ``item,label`` (or ``item,answer`` holding JSON)."""
    gold: dict[str, Any] = {}
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as failure:
        utf16 = raw[:2] in (b"\xff\xfe", b"\xfe\xff")
        line = raw[: failure.start].count(b"\n") + 1
        raise InvalidInput(
            str(path),
            "is UTF-16 text, not UTF-8" if utf16 else f"line {line} is not UTF-8",
            "save the file as UTF-8 (CSV UTF-8 in a spreadsheet)",
        ) from None
    with io.StringIO(text, newline="") as handle:
        reader = csv.DictReader(handle)
        fields = reader.fieldnames or []
        column = "label" if "label" in fields else "answer" if "answer" in fields else None
        if "item" not in fields or column is None:
            raise InvalidInput(str(path), "needs a header with item,label (or item,answer)")
        for line, row in enumerate(reader, start=2):
            item = (row.get("item") or "").strip()
            value = row.get(column) or ""
            if not item or not value.strip():
                raise InvalidInput(f"{path}:{line}", "item and label must not be blank")
            gold[item] = value.strip() if column == "label" else parse_answer(value)
    return gold


@app.command("create")
def create(
    dataset: str = typer.Argument(..., help="Manifest CID of the dataset to label."),
    title: str = typer.Option(..., "--title", help="Task title shown to contributors."),
    task_type: TaskType = typer.Option(TaskType.CLASSIFICATION, "--type", help="Task type."),
    classes: str = typer.Option("", "--classes", help="Classes, comma-separated."),
    instructions: str = typer.Option("", "--instructions", help="Instructions for contributors."),
    overlap: int = typer.Option(3, "--overlap", min=1, help="Answers per item (k)."),
    gold_file: Path | None = typer.Option(
        None, "--gold", exists=True, dir_okay=False, help="CSV of gold answers: item,label."
    ),
    gold_from_dataset: bool = typer.Option(
        False,
        "--gold-from-dataset",
        help="Use the dataset's imported gold (e.g. Label Studio ground truth) as gold answers.",
    ),
    gold_ratio: float = typer.Option(0.0, "--gold-ratio", help="Share of gold assignments."),
    price: int = typer.Option(0, "--price", min=0, help="Price per answer, token base units."),
    deadline: str = typer.Option(
        "+7d",
        "--deadline",
        help="+7d, +12h, a date or Unix seconds; in the future, at most ten years away.",
    ),
    royalty_bps: int = typer.Option(
        3_000,
        "--royalty-bps",
        help="Share of every future sale of data built from this task promised to its "
        "contributors, in basis points (default 3000 = 30 %; at least DATAFAIR_ROYALTY_FLOOR_BPS).",
    ),
    assigned_only: bool = typer.Option(
        False,
        "--assigned-only",
        help="Take answers only on items held through `task next` (no choosing items: "
        "extra.assigned_only).",
    ),
    home: Path | None = HOME_OPTION,
) -> None:
    """Create a labelling task over a stored dataset."""
    from datafair.services.tasks import create_task

    settings = settings_for(home)
    now = time.time()
    spec = TaskSpec(
        dataset_cid=dataset,
        title=title,
        instructions=instructions,
        schema=LabelSchema(task_type, split_list(classes)),
        overlap=overlap,
        gold_ratio=gold_ratio,
        price_per_answer=price,
        deadline=parse_deadline(deadline, now),
        chain_id=settings.chain_id,
        salt=time.time_ns(),
        extra={"royalty_bps": royalty_bps} | ({"assigned_only": True} if assigned_only else {}),
    )
    gold = read_gold(gold_file) if gold_file else {}
    database = open_database(settings)
    with database.session() as session:
        if gold_from_dataset:
            from datafair.services.prior_answers import gold_from_prior

            imported = gold_from_prior(session, dataset, spec.schema)
            if not imported:
                raise InvalidInput(
                    "--gold-from-dataset",
                    f"dataset {dataset} has no imported gold for a {spec.task_type} task",
                    "import a Label Studio export with ground_truth annotations, or use --gold",
                )
            gold = imported | gold
        info = create_task(session, spec, gold=gold, royalty_floor_bps=settings.royalty_floor_bps)
    console.print(f"created task [bold]{info.task_id_hex}[/]")


@app.command("list")
def list_(home: Path | None = HOME_OPTION) -> None:
    """List tasks."""
    from datafair.services.tasks import list_tasks

    database = open_database(settings_for(home))
    with database.session() as session:
        tasks = list_tasks(session)
    if not tasks:
        console.print("no tasks yet; create one with 'datafair task create DATASET --title ...'")
        return
    table = new_table("task id", "title", "type", "k", "price", "status")
    for info in tasks:
        spec = info.spec
        table.add_row(
            info.task_id_hex,
            shown(spec.title),
            str(spec.task_type),
            str(spec.overlap),
            str(spec.price_per_answer),
            info.status,
        )
    console.print(table)


@app.command("show")
def show(
    task_id: str = typer.Argument(..., help="Task id (0x...)."), home: Path | None = HOME_OPTION
) -> None:
    """Show a task's spec and progress."""
    from datafair.services.tasks import get_task, task_progress

    database = open_database(settings_for(home))
    with database.session() as session:
        info = get_task(session, task_id)
        progress = task_progress(session, task_id)
    spec = info.spec
    table = new_table(show_header=False)
    table.add_row("task", info.task_id_hex)
    table.add_row("title", shown(spec.title))
    if spec.instructions:
        table.add_row("instructions", shown(spec.instructions, lines=True))
    table.add_row("type", f"{spec.task_type} ({shown(', '.join(spec.schema.choices))})")
    table.add_row("dataset", info.dataset_cid)
    table.add_row("overlap k", str(spec.overlap))
    if spec.assignment_rules().assigned_only:
        table.add_row("answers", "only on items taken with `task next` (assigned only)")
    table.add_row("price per answer", str(spec.price_per_answer))
    table.add_row("deadline", datetime.fromtimestamp(spec.deadline, UTC).isoformat())
    table.add_row("status", info.status)
    table.add_row(
        "progress",
        f"{progress.answers} answers, {progress.full_items}/{progress.items} items full, "
        f"{progress.reserved} held",
    )
    console.print(table)


@app.command("close")
def close(
    task_id: str = typer.Argument(..., help="Task id (0x...)."), home: Path | None = HOME_OPTION
) -> None:
    """Close a task: no more assignments or submissions."""
    from datafair.services.tasks import close_task

    database = open_database(settings_for(home))
    with database.session() as session:
        info = close_task(session, task_id)
    console.print(f"closed task {info.task_id_hex}")


@app.command("next")
def next_(
    task_id: str = typer.Argument(..., help="Task id (0x...)."),
    account: str = typer.Option(..., "--account", help="Your account name."),
    home: Path | None = HOME_OPTION,
) -> None:
    """Take the next item to label (held for you for ten minutes)."""
    from datafair.services.assignment import next_item
    from datafair.store.keystore import KeyStore

    settings = settings_for(home)
    if STATE.server:
        from datafair.cli import remote

        remote.task_next(settings, task_id, account)
        return
    address = KeyStore(settings.keys_dir).info(account).address
    database = open_database(settings)
    hints: list[Any] = []
    with database.session() as session:
        assigned = next_item(session, task_id, address, blobs=blob_store(settings))
        if assigned is not None:
            from datafair.services.prior_answers import pre_annotations
            from datafair.services.tasks import get_task

            info = get_task(session, task_id)
            hints = pre_annotations(
                session, info.dataset_cid, assigned.item_cid, str(info.spec.task_type)
            )
    if assigned is None:
        console.print("no item left for you in this task")
        return
    console.print(f"item {assigned.item_cid}")
    for hint in hints:
        console.print(
            f"pre-annotation ({shown(hint.contributor)}): {shown(json.dumps(hint.answer))}"
        )
    if assigned.text is not None:
        console.print(shown(assigned.text, lines=True))
    else:
        console.print(f"image: {blob_store(settings).path(assigned.item_cid)}")


@app.command("submit")
def submit_(
    task_id: str = typer.Argument(..., help="Task id (0x...)."),
    item: str = typer.Argument(..., help="Item CID you answer."),
    answer: str = typer.Argument(..., help="Your answer: a class, or JSON for lists/spans/boxes."),
    account: str = typer.Option(..., "--account", help="Your account name (signs the answer)."),
    seconds: float = typer.Option(0.0, "--seconds", min=0, help="Time you spent on the item."),
    home: Path | None = HOME_OPTION,
) -> None:
    """Sign your answer with your wallet (EIP-712) and submit it."""
    from datafair.services.signing import signed_submission
    from datafair.services.submissions import submit
    from datafair.store.keystore import KeyStore

    settings = settings_for(home)
    if STATE.server:
        from datafair.cli import remote

        remote.task_submit(settings, task_id, item, parse_answer(answer), account, seconds)
        return
    wallet = KeyStore(settings.keys_dir).load(account, read_password(settings))
    database = open_database(settings)
    value = parse_answer(answer)
    with database.session() as session:
        entry = signed_submission(
            session,
            task_id,
            item,
            value,
            bytes(wallet.key),
            nonce=time.time_ns() // 1000,
            duration_ms=int(seconds * 1000),
        )
        submission_id = submit(session, entry)
    console.print(f"submitted #{submission_id} signed by {wallet.address}")
