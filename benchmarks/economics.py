"""Who gets paid: the reward mechanisms on seeded simulated crowds, through the real quality engine.

Run by hand: ``python benchmarks/economics.py [--seeds 8] [--items 2000] [--contributors 40]``.
Prints one table, one row per (mechanism, seed) and a summary row per mechanism.

For each seed: a crowd from ``datafair.sim`` (60 % skilled, 20 % careless, 15 % uniform
spammers, 5 % constant-answer adversaries), ``--items`` items with 3 classes, k = 5 answers per
item from contributors drawn at random. Labels and skills come from ``datafair.quality``'s
``auto`` (Bayesian Dawid-Skene); an answer's ``p_correct`` is the posterior probability of the
class it gave, spam flags are the engine's. Rewards:

* ``quality``: ``quality_weighted_rewards`` (price × p_correct, spam earns nothing), then the
  platform fee (2.5 %, ``split_payout``);
* ``peer-prediction``: the correlated-agreement mechanism (Shnayder et al. 2016) over the same
  budget, then the fee.

Columns: ``spam share`` = share of the paid rewards that reached spammers and adversaries
(target ≤ 1 %); ``spearman`` = Spearman correlation between a contributor's pay per answer and
their true accuracy (mean of their confusion diagonal; target ≥ 0.9); ``to contributors`` =
share of the requester's spend (everything paid out: rewards + fee) that reached contributors
(target ≥ 95 %); ``refunded`` = share of the budget left in escrow for the requester.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from rich.console import Console
from rich.table import Table
from scipy.stats import spearmanr

from datafair.economics import (
    DEFAULT_FEE_BPS,
    AnswerColumns,
    peer_prediction_rewards,
    quality_weighted_rewards,
    split_payout,
)
from datafair.quality import get_aggregator
from datafair.sim import ContributorKind, make_population

PRICE = 10**15
OVERLAP = 5
N_CLASSES = 3
UNINFORMED = (ContributorKind.SPAMMER, ContributorKind.ADVERSARY)


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seeds", type=int, default=8)
    parser.add_argument("--items", type=int, default=2000)
    parser.add_argument("--contributors", type=int, default=40)
    args = parser.parse_args()
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
