"""Who gets paid: the reward mechanisms against adversarial crowds, through the settlement path.

Run by hand: ``python benchmarks/economics.py [--seeds 5] [--items 1500] [--only KEY ...]
[--summary] [--mixed]``.

Every crowd of ``datafair.sim.adversaries.scenarios()`` (rings of 10-40 % of the wallets with
and without 10 % gold, small dense rings, copiers, majority-class sybils, gold-aware cheaters,
rubber-stamp and contrarian reviewers, easy-item pickers, weak honest workers on 80/20 data, an
honest control) is turned into :class:`EpochInputs` exactly as settlement gathers them (items
by CID, accounts sorted, canonical JSON answers, gold revealed, ``auto`` with
``default_params``, fee 2.5 %, reviews paid ``REVIEW_BPS`` of the item budget) and settled by
``compute_epoch``, once per mechanism (``quality``: the default; ``peer-prediction``:
``extra.mechanism``), for each seed. One table per scenario, then a summary of the targets.

Columns, per (mechanism, seed): ``adv share`` = adversaries' share of what contributors were
paid; ``adv/honest`` = adversaries' pay per unit of work (answers, or reviews for review-only
wallets) over the median honest worker's (honest reviewers' for reviewer scenarios); ``copy/orig``
= copiers' total pay over what the copied worker is paid when the same crowd settles without the
copiers (its share had nobody copied it); ``acc``/``mv`` = accuracy of the inferred labels
and of plain majority vote (every answer one vote, no dependence groups) on the non-gold
items; ``spearman`` = Spearman(pay per answer, accuracy) of the honest workers;
``honest flagged`` = spam-flagged honest workers whose accuracy in the crowd is at least
:data:`HONEST_FLOOR` (the issue's target), with all spam-flagged honest workers in brackets;
``adv flagged`` = spam-flagged adversaries; ``adv/skill`` (crowds that record each wallet's
drawn skill: easy-item pickers) = adversaries' pay over what honest workers of the same skill
are paid for as many answers (honest pay per answer fitted linearly on skill).

Targets (issue 14): noise producers (rings, sybils, gold cheaters, bad reviewers) ≤ 0.25× the
honest median and ≤ 1 % of the pay; copiers together ≤ the original; inferred labels at least
as accurate as majority vote; Spearman ≥ 0.9; no honest worker flagged. A target is met when it
holds in every seed (the ``worst`` row).

``--mixed`` also prints the earlier table: a mixed crowd (60 % skilled, 20 % careless, 15 %
spammers, 5 % constant answerers) through the economics functions directly, with the share of
the spend that reached contributors and the share refunded.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import dataclass, replace

import numpy as np
from rich.console import Console
from rich.table import Table
from scipy.stats import spearmanr

from datafair.core.schemas import LabelSchema, TaskType
from datafair.core.task import TaskSpec
from datafair.crypto.cid import compute_cid
from datafair.economics import (
    DEFAULT_FEE_BPS,
    AnswerColumns,
    Mechanism,
    peer_prediction_rewards,
    quality_weighted_rewards,
    split_payout,
)
from datafair.quality import get_aggregator
from datafair.services.settlement.bundle import (
    EpochInputs,
    EpochResult,
    Reviews,
    Submissions,
    compute_epoch,
    default_params,
)
from datafair.sim import ContributorKind, make_population
from datafair.sim.adversaries import NOISE_ROLES, Crowd, Role, scenarios

PRICE = 10**15
OVERLAP = 5
N_CLASSES = 3
UNINFORMED = (ContributorKind.SPAMMER, ContributorKind.ADVERSARY)
REVIEW_BPS = 1_000
MECHANISMS = (Mechanism.QUALITY, Mechanism.PEER_PREDICTION)
HONEST_FLOOR = 0.65
"""Honest workers at least this accurate (share of right answers) must never be flagged."""
REVIEWER_ROLES = frozenset({Role.RUBBER_STAMP, Role.CONTRARIAN})


def epoch_inputs(crowd: Crowd, mechanism: str, method: str = "auto") -> EpochInputs:
    """The crowd as one epoch's settlement inputs, in settlement's canonical order."""
    classes = [f"class {c}" for c in range(crowd.n_classes)]
    cids = [compute_cid(f"{crowd.name} item {i}".encode()) for i in range(crowd.n_items)]
    items = sorted(cids)
    accounts = sorted(crowd.addresses)
    item_at = {cid: position for position, cid in enumerate(items)}
    account_at = {address: position for position, address in enumerate(accounts)}
    item_pos = np.array([item_at[cid] for cid in cids])[crowd.item]
    account_pos = np.array([account_at[a] for a in crowd.addresses])[crowd.contributor]
    order = np.lexsort((account_pos, item_pos))
    row_of = np.empty(len(order), dtype=np.int64)
    row_of[order] = np.arange(len(order))
    extra: dict[str, object] = {}
    if mechanism != Mechanism.QUALITY:
        extra["mechanism"] = str(mechanism)
    if len(crowd.reviewer):
        extra["review_bps"] = REVIEW_BPS
    spec = TaskSpec(
        dataset_cid=items[0],
        title=crowd.name,
        schema=LabelSchema(TaskType.CLASSIFICATION, tuple(classes)),
        overlap=OVERLAP,
        price_per_answer=PRICE,
        extra=extra,
    )
    answer_text = [json.dumps(c) for c in classes]
    reviewer_pos = np.array([account_at[a] for a in crowd.addresses])[crowd.reviewer]
    review_order = np.lexsort((reviewer_pos, row_of[crowd.review_row]))
    n = len(order)
    return EpochInputs(
        task_id=spec.task_id,
        spec=spec.to_dict(),
        chain_id=spec.chain_id,
        escrow="0x" + "e5" * 20,
        token="0x" + "70" * 20,
        epoch=1,
        submissions=Submissions(
            items=items,
            accounts=accounts,
            item=item_pos[order].tolist(),
            contributor=account_pos[order].tolist(),
            answer=[answer_text[a] for a in crowd.answer[order].tolist()],
            nonce=list(range(n)),
            duration_ms=[1000] * n,
            signature=[b"\x01" * 65] * n,
            epoch=[1] * n,
        ),
        reviews=Reviews(
            submission=row_of[crowd.review_row][review_order].tolist(),
            reviewer=reviewer_pos[review_order].tolist(),
            verdict=["accept" if a else "reject" for a in crowd.accept[review_order].tolist()],
            rating=[None] * len(review_order),
            signature=[b"\x02" * 65] * len(review_order),
        ),
        gold={cids[i]: classes[c] for i, c in crowd.gold.items()},
        gold_openings={},
        gold_commitment=b"\x00" * 32,
        method=method,
        params=default_params(method),
        fee_bps=DEFAULT_FEE_BPS,
    )


@dataclass(frozen=True)
class Figures:
    """What one settlement of one crowd measured (see the module docstring's columns)."""

    adv_share: float
    adv_ratio: float
    copy_ratio: float
    accuracy: float
    majority: float
    spearman: float
    honest_flagged: int
    honest_flagged_all: int
    adv_flagged: int
    n_adversaries: int
    seconds: float
    skill_ratio: float = float("nan")


def _majority_accuracy(crowd: Crowd, scored: np.ndarray) -> float:
    """Plain majority vote's accuracy on ``scored`` (every answer one vote: the baseline)."""
    model = get_aggregator("mv")
    model.detect_dependence = False
    model.fit(crowd.item, crowd.contributor, crowd.answer, classes=list(range(crowd.n_classes)))
    labels = np.asarray(model.classes_)[np.argmax(model.probas_, axis=1)]
    return float(np.mean(labels[scored] == crowd.truth[scored]))


def _ratio(part: float, whole: float) -> float:
    """``part / whole``, with 0 when nothing is paid to ``part`` and ∞ when only it is paid."""
    if part == 0:
        return 0.0
    return part / whole if whole else float("inf")


def without_copiers(crowd: Crowd) -> Crowd:
    """``crowd`` with the copiers' wallets and answers left out (copiers are the last wallets)."""
    keep = np.array([role is not Role.COPIER for role in crowd.roles])
    rows = keep[crowd.contributor]
    n = int(keep.sum())
    return replace(
        crowd,
        item=crowd.item[rows],
        contributor=crowd.contributor[rows],
        answer=crowd.answer[rows],
        roles=crowd.roles[:n],
        addresses=crowd.addresses[:n],
    )


def _pay_alone(crowd: Crowd, mechanism: str) -> float:
    """What the copied worker is paid when the same crowd settles without its copiers."""
    alone = without_copiers(crowd)
    result = compute_epoch(epoch_inputs(alone, mechanism))
    return float(result.payout.amounts.get(alone.addresses[crowd.original or 0], 0))


def measure_crowd(crowd: Crowd, mechanism: str) -> Figures:
    """Settle ``crowd`` with ``mechanism`` and measure who was paid what."""
    inputs = epoch_inputs(crowd, mechanism)
    started = time.perf_counter()
    result: EpochResult = compute_epoch(inputs)
    seconds = time.perf_counter() - started
    pay = np.array([result.payout.amounts.get(a, 0) for a in crowd.addresses], dtype=float)
    flagged = set(result.spammers)
    is_flagged = np.array([a in flagged for a in crowd.addresses])
    roles = np.array([str(r) for r in crowd.roles])
    honest = roles == Role.HONEST
    adversary = ~honest
    answers, reviews = crowd.answers_of(), crowd.reviews_of()
    units = answers + reviews
    reviewers_only = answers == 0
    baseline = honest & (reviewers_only if REVIEWER_ROLES & set(crowd.roles) else answers > 0)
    honest_rate = float(np.median(pay[baseline] / units[baseline])) if baseline.any() else 0.0
    adv_units = units[adversary].sum()
    adv_rate = pay[adversary].sum() / adv_units if adv_units else 0.0
    copy_ratio = float("nan")
    if crowd.original is not None:
        copied = pay[roles == Role.COPIER].sum()
        copy_ratio = _ratio(copied, _pay_alone(crowd, mechanism))
    accuracy = crowd.accuracy()
    workers = honest & (answers > 0)
    rate = pay[workers] / answers[workers]
    constant = np.ptp(rate) == 0  # nobody honest was paid: the correlation is undefined
    rho = float("nan") if constant else spearmanr(rate, accuracy[workers]).statistic
    position = {cid: i for i, cid in enumerate(inputs.submissions.items)}
    cids = [compute_cid(f"{crowd.name} item {i}".encode()) for i in range(crowd.n_items)]
    labels = [result.labels[position[cid]] for cid in cids]
    inferred = np.array([result.classes.index(label) for label in labels])
    scored = np.setdiff1d(np.arange(crowd.n_items), np.fromiter(crowd.gold, dtype=np.int64))
    total = pay.sum()
    skill_ratio = float("nan")
    if crowd.skill is not None and not constant:
        slope, intercept = np.polyfit(crowd.skill[workers], rate, 1)
        expected = (slope * crowd.skill[adversary] + intercept) * answers[adversary]
        skill_ratio = _ratio(pay[adversary].sum(), float(expected.sum()))
    return Figures(
        adv_share=float(pay[adversary].sum() / total) if total else 0.0,
        adv_ratio=_ratio(adv_rate, honest_rate),
        copy_ratio=float(copy_ratio),
        accuracy=float(np.mean(inferred[scored] == crowd.truth[scored])),
        majority=_majority_accuracy(crowd, scored),
        spearman=float(rho),
        honest_flagged=int(is_flagged[workers & (accuracy >= HONEST_FLOOR)].sum()),
        honest_flagged_all=int(is_flagged[workers].sum()),
        adv_flagged=int(is_flagged[adversary].sum()),
        n_adversaries=int(adversary.sum()),
        seconds=seconds,
        skill_ratio=skill_ratio,
    )


def _worst(rows: list[Figures]) -> Figures:
    """The worst value of each figure over seeds (NaN when undefined in any seed)."""

    def pick(values: list[float], worst: str) -> float:
        if any(np.isnan(v) for v in values):  # undefined in a seed (e.g. no honest pay)
            return float("nan")
        return max(values) if worst == "max" else min(values)

    return Figures(
        adv_share=pick([r.adv_share for r in rows], "max"),
        adv_ratio=pick([r.adv_ratio for r in rows], "max"),
        copy_ratio=pick([r.copy_ratio for r in rows], "max"),
        accuracy=pick([r.accuracy - r.majority for r in rows], "min"),
        majority=0.0,
        spearman=pick([r.spearman for r in rows], "min"),
        honest_flagged=max(r.honest_flagged for r in rows),
        honest_flagged_all=max(r.honest_flagged_all for r in rows),
        adv_flagged=min(r.adv_flagged for r in rows),
        n_adversaries=rows[0].n_adversaries,
        seconds=max(r.seconds for r in rows),
        skill_ratio=pick([r.skill_ratio for r in rows], "max"),
    )


def targets(crowd: Crowd, worst: Figures) -> dict[str, bool]:
    """Issue 14's targets that apply to ``crowd``, judged on the worst seed."""
    met = {
        "labels ≥ mv": worst.accuracy >= 0.0,
        "spearman ≥ 0.9": worst.spearman >= 0.9,
        "0 honest flagged": worst.honest_flagged == 0,
    }
    if any(role in NOISE_ROLES for role in crowd.roles):
        met["adv ≤ 0.25×"] = worst.adv_ratio <= 0.25
        met["adv share ≤ 1 %"] = worst.adv_share <= 0.01
    if crowd.original is not None:
        met["copiers ≤ original"] = worst.copy_ratio <= 1.0
    return met


def _fmt(value: float, spec: str) -> str:
    return "–" if np.isnan(value) else format(value, spec)


def _row(label: str, seed: str, f: Figures, worst: bool = False) -> list[str]:
    accuracy = f"{f.accuracy:+.3f}" if worst else f"{f.accuracy:.3f}"
    return [
        label,
        seed,
        f"{f.adv_share:.1%}",
        _fmt(f.adv_ratio, ".2f"),
        _fmt(f.skill_ratio, ".2f"),
        _fmt(f.copy_ratio, ".2f"),
        accuracy,
        "(worst Δ)" if worst else f"{f.majority:.3f}",
        _fmt(f.spearman, ".3f"),
        f"{f.honest_flagged} ({f.honest_flagged_all})",
        f"{f.adv_flagged}/{f.n_adversaries}",
        f"{f.seconds:.1f}",
    ]


COLUMNS = (
    "mechanism",
    "seed",
    "adv share",
    "adv/honest",
    "adv/skill",
    "copy/orig",
    "acc",
    "mv",
    "spearman",
    "honest flagged",
    "adv flagged",
    "s",
)


def run_scenario(
    key: str, build: object, seeds: int, n_items: int, console: Console, verbose: bool
) -> list[tuple[str, str, dict[str, bool], Figures]]:
    """One table for one scenario; the targets per mechanism."""
    crowds = [build(seed, n_items) for seed in range(seeds)]  # type: ignore[operator]
    table = Table(title=f"{key}: {crowds[0].name} ({n_items} items, k={OVERLAP})")
    for column in COLUMNS:
        table.add_column(column, justify="right")
    outcome = []
    captions: list[str] = []
    for mechanism in MECHANISMS:
        rows = []
        for seed, crowd in enumerate(crowds):
            figures = measure_crowd(crowd, mechanism)
            rows.append(figures)
            table.add_row(*_row(str(mechanism), str(seed), figures))
        worst = _worst(rows)
        met = targets(crowds[0], worst)
        table.add_row(*_row(f"[bold]{mechanism}[/]", "worst", worst, worst=True))
        table.add_section()
        verdicts = ", ".join(
            f"{name} {'[green]met[/]' if ok else '[red]MISSED[/]'}" for name, ok in met.items()
        )
        captions.append(f"{mechanism}: {verdicts}")
        outcome.append((key, str(mechanism), met, worst))
    table.caption = "\n".join(captions)
    if verbose:
        console.print(table)
    return outcome


def summary_table(outcomes: list[tuple[str, str, dict[str, bool], Figures]]) -> Table:
    table = Table(title="targets of issue 14 (worst seed)")
    for column in (
        "scenario",
        "mechanism",
        "adv share",
        "adv/honest",
        "adv/skill",
        "copy/orig",
        "acc − mv",
        "spearman",
        "honest flagged",
        "missed",
    ):
        table.add_column(column, justify="right")
    for key, mechanism, met, worst in outcomes:
        missed = [name for name, ok in met.items() if not ok]
        table.add_row(
            key,
            mechanism,
            f"{worst.adv_share:.1%}",
            _fmt(worst.adv_ratio, ".2f"),
            _fmt(worst.skill_ratio, ".2f"),
            _fmt(worst.copy_ratio, ".2f"),
            f"{worst.accuracy:+.3f}",
            _fmt(worst.spearman, ".3f"),
            f"{worst.honest_flagged} ({worst.honest_flagged_all})",
            "[red]" + ", ".join(missed) + "[/]" if missed else "[green]all met[/]",
        )
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seeds", type=int, default=5, help="seeds per scenario (default 5)")
    parser.add_argument("--items", type=int, default=1500, help="items per crowd (default 1500)")
    parser.add_argument("--only", nargs="+", metavar="KEY", help="run only these scenarios")
    parser.add_argument("--summary", action="store_true", help="print only the summary table")
    parser.add_argument("--mixed", action="store_true", help="also print the mixed-crowd table")
    parser.add_argument("--contributors", type=int, default=40, help="mixed crowd's size")
    args = parser.parse_args()
    listing = scenarios()
    known = [key for key, _ in listing]
    unknown = sorted(set(args.only or []) - set(known))
    if unknown:
        parser.error(f"unknown scenario {', '.join(unknown)}; choose from {', '.join(known)}")
    console = Console(width=165)
    outcomes = []
    for key, build in listing:
        if args.only and key not in args.only:
            continue
        outcomes.extend(run_scenario(key, build, args.seeds, args.items, console, not args.summary))
    console.print(summary_table(outcomes))
    if args.mixed:
        mixed_table(args)


# ------------------------------------------------------------------------------- the mixed crowd
def crowd(
    seed: int, n_items: int, n_contributors: int
) -> tuple[object, np.ndarray, np.ndarray, np.ndarray]:
    """Seeded answers: (population, item index, contributor index, answer) per row."""
    mix = {
        ContributorKind.SKILLED: round(n_contributors * 0.60),
        ContributorKind.CARELESS: round(n_contributors * 0.20),
        ContributorKind.SPAMMER: round(n_contributors * 0.15),
        ContributorKind.ADVERSARY: max(1, round(n_contributors * 0.05)),
    }
    population = make_population(N_CLASSES, mix, seed=seed)
    rng = np.random.default_rng(seed + 10_000)
    truth = rng.integers(N_CLASSES, size=n_items)
    size = len(population.contributors)
    workers = np.concatenate([rng.choice(size, OVERLAP, replace=False) for _ in range(n_items)])
    items = np.repeat(np.arange(n_items), OVERLAP)
    answers = population.answers(workers, truth[items])
    return population, items, workers, answers


def measure(
    population: object, items: np.ndarray, workers: np.ndarray, answers: np.ndarray, mechanism: str
) -> dict[str, float]:
    contributors = population.contributors  # type: ignore[attr-defined]
    budget = PRICE * len(answers)
    if mechanism == "quality":
        model = get_aggregator("auto").fit(items, workers, answers, classes=list(range(N_CLASSES)))
        item_row = np.searchsorted(model.items_, items)
        class_col = np.searchsorted(model.classes_, answers)
        worker_row = np.searchsorted(model.workers_, workers)
        result = quality_weighted_rewards(
            AnswerColumns(
                item=items,
                contributor=workers,
                p_correct=model.probas_[item_row, class_col],
                is_spam=model.is_spammer_[worker_row],
            ),
            price_per_answer=PRICE,
        )
        gross = result.by_contributor
    else:
        result = peer_prediction_rewards(
            items, workers, answers, n_classes=N_CLASSES, pool=budget, seed=1
        )
        gross = {int(worker): int(amount) for worker, amount in result.amounts.items()}
    payout = split_payout(budget, {k: v for k, v in gross.items() if v > 0}, DEFAULT_FEE_BPS)
    paid = payout.total
    uninformed = sum(
        amount
        for worker, amount in payout.amounts.items()
        if contributors[worker].kind in UNINFORMED
    )
    counts = np.bincount(workers, minlength=len(contributors))
    pay_per_answer = [
        payout.amounts.get(index, 0) / counts[index]
        for index in range(len(contributors))
        if counts[index]
    ]
    accuracy = [c.accuracy for index, c in enumerate(contributors) if counts[index]]
    spent = payout.total + payout.fee
    return {
        "spam_share": uninformed / paid if paid else 0.0,
        "spearman": float(spearmanr(pay_per_answer, accuracy).statistic),
        "to_contributors": payout.total / spent if spent else 0.0,
        "refunded": payout.unearned / budget,
    }


def mixed_table(args: argparse.Namespace) -> None:
    """The original table: a mixed crowd, the economics functions called directly."""
    table = Table(
        title=f"rewards on simulated crowds ({args.items} items, k={OVERLAP}, "
        f"{args.contributors} contributors, fee {DEFAULT_FEE_BPS / 100:.1f} %)"
    )
    for column in (
        "mechanism",
        "seed",
        "spam share",
        "spearman",
        "to contributors",
        "refunded",
        "s",
    ):
        table.add_column(column, justify="right")
    for mechanism in ("quality", "peer-prediction"):
        rows = []
        for seed in range(args.seeds):
            started = time.perf_counter()
            data = crowd(seed, args.items, args.contributors)
            figures = measure(*data, mechanism)
            rows.append(figures)
            table.add_row(
                mechanism,
                str(seed),
                f"{figures['spam_share']:.2%}",
                f"{figures['spearman']:.3f}",
                f"{figures['to_contributors']:.2%}",
                f"{figures['refunded']:.1%}",
                f"{time.perf_counter() - started:.1f}",
            )
        table.add_row(
            f"[bold]{mechanism}[/]",
            "worst",
            f"{max(r['spam_share'] for r in rows):.2%}",
            f"{min(r['spearman'] for r in rows):.3f}",
            f"{min(r['to_contributors'] for r in rows):.2%}",
            f"{max(r['refunded'] for r in rows):.1%}",
            "",
            end_section=True,
        )
    Console(width=120).print(table)


if __name__ == "__main__":
    main()
