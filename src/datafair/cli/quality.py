"""`datafair quality` commands: infer labels and skills from an answers file; agreement metrics.

Handlers only parse files (``datafair.cli.quality_io``), call ``datafair.quality`` and render.
numpy, pyarrow and the quality engine are imported inside the commands, so that starting the
command costs only typer and rich.
"""

from __future__ import annotations

import math
import sys
from collections import Counter
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console
from rich.table import Table

from datafair.cli.common import shown
from datafair.core.errors import InvalidInput

if TYPE_CHECKING:
    from datafair.cli.quality_io import EncodedColumns

app = typer.Typer(help="Truth inference, contributor skills and agreement.", no_args_is_help=True)
console = Console(highlight=False, width=None if sys.stdout.isatty() else 240)

GOLD_FOLDS = 5
"""Folds of the gold check: each gold item is predicted with its own gold withheld."""

ECE_BINS = 10
"""Bins of the expected calibration error reported by the gold check."""


class Method(StrEnum):
    auto = "auto"
    mv = "mv"
    wmv = "wmv"
    ds = "ds"
    onecoin = "onecoin"
    bds = "bds"


@app.command("infer")
def infer(
    answers: Path = typer.Argument(
        ..., help="CSV (or .parquet) with item,worker,label (or task,worker,label)."
    ),
    out: Path = typer.Option(..., "--out", help="Where to write item,label,confidence."),
    gold: Path | None = typer.Option(
        None,
        "--gold",
        help="CSV with item,label of known answers; also reports accuracy and ECE on them, "
        f"each gold item predicted with its own gold withheld ({GOLD_FOLDS}-fold).",
    ),
    method: Method = typer.Option(Method.auto, "--method", help="Aggregation method."),
    skills: Path | None = typer.Option(
        None,
        "--skills",
        help="Where to write worker,accuracy,low,high,answers,spam_score and each worker's "
        "dependence group with its evidence.",
    ),
    classes: str | None = typer.Option(
        None, "--classes", help="Comma-separated class list; other labels are an error."
    ),
    verbose: bool = typer.Option(
        False, "--verbose", "-v", help="Explain the model auto chose and print every score."
    ),
) -> None:
    """Infer each item's label and each worker's skill (Dawid-Skene family)."""
    from datafair.cli.quality_io import read_encoded_answers, read_gold, write_labels, write_table
    from datafair.quality import get_aggregator

    with console.status("reading answers", spinner="dots"):
        columns = read_encoded_answers(answers)
        gold_map = read_gold(gold) if gold is not None else None
        coded = _coded_inputs(columns, gold_map, _classes(classes))
    with console.status(f"fitting {method.value} on {len(columns):,} answers", spinner="dots"):
        est = get_aggregator(method.value).fit(
            coded.items, coded.workers, coded.labels, gold=coded.gold, classes=coded.classes
        )
    item_names = columns.keys["item"][est.items_.astype(int)]
    label_names = coded.class_names[est.labels_.astype(int)]
    confidence = est.probas_.max(axis=1) if est.probas_.shape[0] else est.probas_[:, :0].sum(1)
    write_labels(out, item_names, label_names, confidence)
    if skills is not None:
        worker_names = columns.keys["worker"][est.workers_.astype(int)].tolist()
        dep = est.dependence_
        skill_rows = [
            (
                name,
                f"{s.accuracy:.6f}",
                f"{s.low:.6f}",
                f"{s.high:.6f}",
                s.n_answers,
                f"{s.spam_score:.6f}",
                *_dependence_cells(dep, w, worker_names),
            )
            for w, (name, s) in enumerate(zip(worker_names, est.skills_, strict=True))
        ]
        write_table(skills, SKILL_COLUMNS, skill_rows)
    flagged = int(est.is_spammer_.sum())
    console.print(
        f"{len(item_names)} items, {len(est.workers_)} workers, {len(columns)} answers: "
        f"labels written to {shown(out)} (method {method.value}, "
        f"{'converged' if est.converged_ else 'stopped'} after {len(est.loss_history_)} rounds); "
        f"{flagged} worker{'s' if flagged != 1 else ''} flagged as spam"
    )
    if est.dependence_.n_groups:
        grouped = int((est.dependence_.group >= 0).sum())
        console.print(
            f"{grouped} workers in {est.dependence_.n_groups} dependent group(s), each counted "
            "as one voice (agreement on wrong answers beyond independence; see --skills)"
        )
    selection = getattr(est, "selection_", None)
    if selection is not None and selection.scores:
        console.print(f"model: {selection.reason()}", markup=False)
        if verbose:
            _print_selection(selection)
    elif verbose:
        console.print(f"model: {method.value} (fixed by --method; auto compares models)")
    if coded.gold:
        _gold_check(method.value, coded)


SKILL_COLUMNS = (
    "worker",
    "accuracy",
    "low",
    "high",
    "answers",
    "spam_score",
    "group",
    "dependence_score",
    "partner",
    "shared_items",
    "agree_wrong",
    "expected_independent",
    "p_value",
)
"""Columns of the ``--skills`` file: skill, spam score, dependence group and its evidence."""


def _dependence_cells(dep: Any, w: int, names: list[Any]) -> tuple[object, ...]:
    """Group (blank when independent), score and the strongest pair's evidence of worker ``w``."""
    partner = int(dep.partner[w])
    return (
        "" if dep.group[w] < 0 else int(dep.group[w]),
        f"{dep.score[w]:.6f}",
        "" if partner < 0 else names[partner],
        int(dep.shared[w]),
        int(dep.agree_wrong[w]),
        "" if math.isnan(dep.expected[w]) else f"{dep.expected[w]:.6f}",
        f"{dep.p_value[w]:.6g}",
    )


@dataclass(frozen=True)
class CodedInputs:
    """Answers as integer codes for the engine, with the names to map results back."""

    items: Any
    workers: Any
    labels: Any
    gold: dict[int, int]
    classes: list[int]
    class_names: Any


def _coded_inputs(
    columns: EncodedColumns, gold: dict[str, str] | None, declared: list[str] | None
) -> CodedInputs:
    """Integer codes for items, workers and classes; labels checked against ``declared``."""
    import numpy as np

    label_keys = columns.keys["label"]
    gold = gold or {}
    if declared is not None:
        class_names = np.asarray(declared, dtype=str)
        if len(set(declared)) != len(declared):
            raise InvalidInput("--classes", "repeats a class", "list each class once")
        for field, values in (("label", label_keys.tolist()), ("gold", list(gold.values()))):
            unknown = sorted({v for v in values if v not in set(declared)})
            if unknown:
                shown = ", ".join(repr(v) for v in unknown[:3])
                raise InvalidInput(
                    field,
                    f"{shown} not among the classes [{', '.join(declared)}]",
                    "fix the answer or declare the class",
                )
    else:
        # sorted by code point, as np.unique would (which imports numpy.ma: 10 ms)
        observed = sorted(set(label_keys.tolist()) | set(gold.values()))
        class_names = np.asarray(observed, dtype=str)
    position = {name: i for i, name in enumerate(class_names.tolist())}
    label_to_class = np.asarray([position[v] for v in label_keys.tolist()], dtype=np.int64)
    labels = (
        label_to_class[columns.codes["label"]]
        if label_to_class.shape[0]
        else np.zeros(0, dtype=np.int64)
    )
    item_keys = columns.keys["item"]
    gold_codes: dict[int, int] = {}
    if gold and item_keys.shape[0]:
        names = np.asarray(list(gold.keys()), dtype=str)
        where = np.minimum(np.searchsorted(item_keys, names), item_keys.shape[0] - 1)
        for name, spot in zip(names.tolist(), where.tolist(), strict=True):
            if item_keys[spot] == name:
                gold_codes[int(spot)] = position[gold[name]]
    return CodedInputs(
        items=columns.codes["item"],
        workers=columns.codes["worker"],
        labels=labels,
        gold=gold_codes,
        classes=list(range(len(class_names))),
        class_names=class_names,
    )


def _print_selection(selection: Any) -> None:
    view = Table(title="auto: candidate models, best held-out answer score first")
    view.add_column("model")
    view.add_column("held-out log-likelihood per answer", justify="right")
    view.add_column("behind the best (nats)", justify="right")
    view.add_column("gold labels (nats)", justify="right")
    best = selection.scores[0][1]
    for name, value, gold in selection.scores:
        view.add_row(
            name,
            f"{value:.5f}",
            f"{(best - value) * selection.sampled_answers:.1f}",
            f"{gold:.2f}" if gold else "-",
        )
    console.print(view)
    console.print(
        f"compared on {selection.sampled_answers:,} answers: each answer predicted from the "
        "others; the simplest model within one standard error of the best wins, unless with "
        f"gold another predicts the gold labels clearly better. Chosen: {selection.winner}, "
        f"{selection.why}; posteriors tempered by {selection.temperature:.2f}"
        + (
            f", mixed {selection.contamination:.2f} with the class prior (fitted on gold)"
            if selection.contamination
            else ""
        )
        + "; see docs/quality.md",
        markup=False,
    )


def _gold_check(method: str, coded: CodedInputs) -> None:
    """Accuracy and ECE on the gold items, each predicted with its own gold withheld."""
    import numpy as np

    from datafair.quality import get_aggregator
    from datafair.quality.calibration import expected_calibration_error

    gold_items = np.asarray(sorted(coded.gold), dtype=np.int64)
    if gold_items.shape[0] < 2:
        console.print("gold check: needs at least two gold items that have answers")
        return
    folds = np.random.default_rng(0).permutation(gold_items.shape[0]) % GOLD_FOLDS
    probas: list[Any] = []
    truth: list[int] = []
    for fold in range(min(GOLD_FOLDS, gold_items.shape[0])):
        held = gold_items[folds == fold]
        if not held.shape[0]:
            continue
        kept = {i: c for i, c in coded.gold.items() if i not in set(held.tolist())}
        est = get_aggregator(method).fit(
            coded.items, coded.workers, coded.labels, gold=kept, classes=coded.classes
        )
        rows = np.searchsorted(est.items_.astype(np.int64), held)
        probas.append(est.probas_[rows])
        truth.extend(coded.gold[int(i)] for i in held)
    stacked = np.concatenate(probas)
    target = np.asarray(truth)
    accuracy = float(np.mean(stacked.argmax(axis=1) == target))
    ece = expected_calibration_error(stacked, target, bins=ECE_BINS)
    console.print(
        f"gold check ({target.shape[0]} gold items, each predicted with its own gold withheld, "
        f"{GOLD_FOLDS}-fold): accuracy {accuracy:.4f}, mean confidence "
        f"{float(stacked.max(axis=1).mean()):.4f}, ECE ({ECE_BINS} bins) {ece:.4f}",
        markup=False,
    )


@app.command("agreement")
def agreement(
    answers: Path = typer.Argument(
        ..., help="CSV (or .parquet) with item,worker,label (or task,worker,label)."
    ),
) -> None:
    """Print Krippendorff's alpha, Fleiss' kappa, Cohen's kappa and agreement with the aggregate."""
    from datafair.cli.quality_io import read_answers
    from datafair.quality import (
        agreement_with_aggregate,
        fleiss_kappa,
        get_aggregator,
        krippendorff_alpha,
    )
    from datafair.quality.agreement import rating_table

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

    view = Table(title=f"Agreement in {shown(answers.name)}")
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
    from datafair.quality import cohen_kappa

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
    return f"{shown(first)} vs {shown(second)}, {len(common)} items", _fmt(kappa)


def _fmt(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value:.3f}"
