"""`datafair quality` commands: infer labels and skills from an answers CSV; agreement metrics.

Handlers only parse files (``datafair.cli.quality_io``), call ``datafair.quality`` and render.
"""

from __future__ import annotations

import math
from collections import Counter
from enum import StrEnum
from pathlib import Path

import typer
from rich.table import Table

from datafair.cli.common import console
from datafair.cli.quality_io import read_answers, read_gold, write_table
from datafair.core.errors import InvalidInput
from datafair.quality import (
    agreement_with_aggregate,
    cohen_kappa,
    fleiss_kappa,
    get_aggregator,
    krippendorff_alpha,
)
from datafair.quality.agreement import rating_table

app = typer.Typer(help="Truth inference, contributor skills and agreement.", no_args_is_help=True)


class Method(StrEnum):
    auto = "auto"
    mv = "mv"
    wmv = "wmv"
    ds = "ds"
    onecoin = "onecoin"
    bds = "bds"


@app.command("infer")
def infer(
    answers: Path = typer.Argument(..., help="CSV with item,worker,label (or task,worker,label)."),
    out: Path = typer.Option(..., "--out", help="Where to write item,label,confidence."),
    gold: Path | None = typer.Option(None, "--gold", help="CSV with item,label of known answers."),
    method: Method = typer.Option(Method.auto, "--method", help="Aggregation method."),
    skills: Path | None = typer.Option(
        None, "--skills", help="Where to write worker,accuracy,low,high,answers,spam_score."
    ),
    classes: str | None = typer.Option(
        None, "--classes", help="Comma-separated class list; other labels are an error."
    ),
) -> None:
    """Infer each item's label and each worker's skill (Dawid-Skene family)."""
    columns = read_answers(answers)
    gold_map = read_gold(gold) if gold is not None else None
    declared = _classes(classes)
    est = get_aggregator(method.value).fit(
        columns.items, columns.workers, columns.labels, gold=gold_map, classes=declared
    )
    confidence = est.probas_.max(axis=1) if est.probas_.shape[0] else []
    label_rows = [
        (item, label, f"{conf:.6f}")
        for item, label, conf in zip(
            est.items_.tolist(), est.labels_.tolist(), confidence, strict=True
        )
    ]
    skill_rows = [
        (
            s.worker,
            f"{s.accuracy:.6f}",
            f"{s.low:.6f}",
            f"{s.high:.6f}",
            s.n_answers,
            f"{s.spam_score:.6f}",
        )
        for s in est.skills_
    ]
    write_table(out, ("item", "label", "confidence"), label_rows)
    if skills is not None:
        write_table(
            skills, ("worker", "accuracy", "low", "high", "answers", "spam_score"), skill_rows
        )
    flagged = int(est.is_spammer_.sum())
    console.print(
        f"{len(label_rows)} items, {len(skill_rows)} workers, {len(columns.items)} answers: "
        f"labels written to {out} (method {method.value}, "
        f"{'converged' if est.converged_ else 'stopped'} after {len(est.loss_history_)} rounds); "
        f"{flagged} worker{'s' if flagged != 1 else ''} flagged as spam"
    )


@app.command("agreement")
def agreement(
    answers: Path = typer.Argument(..., help="CSV with item,worker,label (or task,worker,label)."),
) -> None:
    """Print Krippendorff's alpha, Fleiss' kappa, Cohen's kappa and agreement with the aggregate."""
    columns = read_answers(answers)
    if not columns.items:
        raise InvalidInput(str(answers), "has no answers", "add rows below the header")
    items, workers, labels = columns.items, columns.workers, columns.labels
    _, _, table = rating_table(items, workers, labels)
    raters = table.sum(axis=1)
    fleiss = (
        _fmt(fleiss_kappa(table)) if raters.min() == raters.max() else "n/a (raters per item vary)"
    )
    pair, cohen = _busiest_pair(items, workers, labels)
    est = get_aggregator("auto").fit(items, workers, labels)
    aggregate = dict(zip(est.items_.tolist(), est.labels_.tolist(), strict=True))
    shares = [s for s in agreement_with_aggregate(items, workers, labels, aggregate).values()]
    known = [s for s in shares if not math.isnan(s)]

    view = Table(title=f"Agreement in {answers.name}")
    view.add_column("metric")
    view.add_column("value", justify="right")
    view.add_row(
        "answers / items / workers", f"{len(items)} / {len(est.items_)} / {len(est.workers_)}"
    )
    view.add_row("Krippendorff's alpha (nominal)", _fmt(krippendorff_alpha(items, workers, labels)))
    view.add_row("Fleiss' kappa", fleiss)
    view.add_row(f"Cohen's kappa ({pair})", cohen)
    view.add_row(
        "mean agreement with the auto aggregate",
        _fmt(sum(known) / len(known)) if known else "n/a",
    )
    console.print(view)


def _classes(value: str | None) -> list[str] | None:
    if value is None:
        return None
    names = [name.strip() for name in value.split(",")]
    if not all(names):
        raise InvalidInput("--classes", "has an empty class name", "write e.g. --classes cat,dog")
    return names


def _busiest_pair(items: list[str], workers: list[str], labels: list[str]) -> tuple[str, str]:
    """Cohen's kappa of the two workers who share the most items."""
    by_worker: dict[str, dict[str, str]] = {}
    for item, worker, label in zip(items, workers, labels, strict=True):
        by_worker.setdefault(worker, {})[item] = label
    counts = Counter(workers)
    busiest = [w for w, _ in counts.most_common(50)]
    best: tuple[int, str, str] | None = None
    for i, first in enumerate(busiest):
        for second in busiest[i + 1 :]:
            shared = len(by_worker[first].keys() & by_worker[second].keys())
            if shared and (best is None or shared > best[0]):
                best = (shared, first, second)
    if best is None:
        return "no two workers share an item", "n/a"
    _, first, second = best
    common = sorted(by_worker[first].keys() & by_worker[second].keys())
    kappa = cohen_kappa(
        [by_worker[first][i] for i in common], [by_worker[second][i] for i in common]
    )
    return f"{first} vs {second}, {len(common)} items", _fmt(kappa)


def _fmt(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value:.3f}"
