"""Adversarial crowds: rings, copiers, sybils, gold-aware cheaters, bad reviewers, item pickers.

Each builder returns a :class:`Crowd`: answer rows ``(item, contributor, answer)`` as class
indices, the true class of every item, the gold items (item → true class), reviews as rows
``(submission row, reviewer, accept?)`` and each contributor's :class:`Role`. Everything is drawn
from one ``numpy`` generator seeded by ``seed``, and wallets are derived from ``(seed, index)``
like :func:`datafair.sim.population.make_population`'s, so a seed fixes the whole crowd.

Honest workers answer through a Dawid & Skene (1979) confusion matrix: accuracy ``a`` drawn
per worker (default U(0.65, 0.95)), the same on every class, errors spread by a Dirichlet(1).
The adversaries, as in issue 14:

* **ring** (:func:`ring_crowd`, :func:`dense_ring_crowd`): wallets that all give one random
  answer per item, chosen once per item, so they agree with each other and carry no information
  about the truth; either a share of all wallets under uniform assignment, or a few wallets that
  land ``per_item`` of the ``k`` answers on the same items;
* **copier** (:func:`copier_crowd`): wallets that repeat one mediocre worker's answers on the
  items that worker answered (copying, in the sense of Dong, Berti-Equille & Srivastava 2009);
* **sybil** (:func:`sybil_crowd`): many wallets, a few answers each, always the majority class of
  an imbalanced task;
* **gold-cheater** (:func:`gold_cheater_crowd`): gold is secret, so they guess which items are
  gold (spotting a gold item with probability ``detect``, mistaking another item for gold with
  probability ``false_alarm``), answer right with probability ``right_if_believed`` on items they
  believe gold, and at random elsewhere;
* **rubber-stamp** / **contrarian** reviewers (:func:`reviewer_crowd`): review-only wallets that
  accept everything, reject everything, or invert the right verdict;
* **easy-picker** (:func:`easy_picker_crowd`): workers who only take easy items;
* honest-but-weak workers on imbalanced data (:func:`weak_imbalanced_crowd`): no adversary at
  all, a control for spam flags.

Pure: no I/O, no settlement; ``benchmarks/economics.py`` feeds these crowds to the settlement
path.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from enum import StrEnum

import numpy as np

from datafair.sim.population import (
    ContributorKind,
    Population,
    SimContributor,
    address_of,
    derive_key,
)

OVERLAP = 5
"""k, the answers each item gets (the issue's setting)."""


class Role(StrEnum):
    """What a wallet of an adversarial crowd does."""

    HONEST = "honest"
    RING = "ring"
    COPIER = "copier"
    SYBIL = "sybil"
    GOLD_CHEATER = "gold-cheater"
    RUBBER_STAMP = "rubber-stamp"
    CONTRARIAN = "contrarian"
    EASY_PICKER = "easy-picker"


NOISE_ROLES = frozenset(
    {Role.RING, Role.SYBIL, Role.GOLD_CHEATER, Role.RUBBER_STAMP, Role.CONTRARIAN}
)
"""Roles whose work carries no information about the truth (the issue's noise producers)."""


@dataclass(frozen=True, eq=False)
class Crowd:
    """One simulated round: answers, truth, gold, reviews and who is who.

    ``item``/``contributor``/``answer`` are aligned rows sorted by (item, contributor), answers
    and ``truth`` are class indices in ``range(n_classes)``; ``gold`` maps gold items to their
    true class; ``review_row``/``reviewer``/``accept`` are aligned review rows (the reviewed
    answer row, the reviewing contributor, whether it accepts); ``roles[c]`` and
    ``addresses[c]`` describe contributor ``c``; ``original`` is the worker copiers copy;
    ``skill`` (where a crowd sets it) is each contributor's accuracy drawn by the generator, for
    crowds whose share of right answers depends on the items a contributor chose.
    """

    name: str
    n_classes: int
    truth: np.ndarray
    item: np.ndarray
    contributor: np.ndarray
    answer: np.ndarray
    gold: dict[int, int]
    roles: list[Role]
    addresses: list[str]
    review_row: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    reviewer: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    accept: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    original: int | None = None
    skill: np.ndarray | None = None

    @property
    def n_items(self) -> int:
        return len(self.truth)

    @property
    def n_contributors(self) -> int:
        return len(self.roles)

    @property
    def adversaries(self) -> np.ndarray:
        """Indices of the contributors whose role is not honest."""
        return np.flatnonzero([role is not Role.HONEST for role in self.roles])

    @property
    def noise(self) -> bool:
        """Whether this crowd's adversaries produce noise (their share of pay should be ~0)."""
        return any(role in NOISE_ROLES for role in self.roles)

    def answers_of(self) -> np.ndarray:
        """Answers per contributor."""
        return np.bincount(self.contributor, minlength=self.n_contributors)

    def reviews_of(self) -> np.ndarray:
        """Reviews per contributor."""
        return np.bincount(self.reviewer, minlength=self.n_contributors)

    def accuracy(self) -> np.ndarray:
        """Each contributor's share of right answers (NaN for wallets that only review)."""
        right = np.bincount(
            self.contributor,
            weights=(self.answer == self.truth[self.item]).astype(float),
            minlength=self.n_contributors,
        )
        counts = self.answers_of()
        with np.errstate(invalid="ignore", divide="ignore"):
            accuracy: np.ndarray = np.where(counts > 0, right / np.maximum(counts, 1), np.nan)
        return accuracy


# ------------------------------------------------------------------------------- building blocks


def confusion(accuracy: float, n_classes: int, rng: np.random.Generator) -> np.ndarray:
    """A confusion matrix with ``accuracy`` on every class and Dirichlet(1)-spread errors."""
    matrix = np.zeros((n_classes, n_classes))
    for true_class in range(n_classes):
        others = rng.dirichlet(np.ones(n_classes - 1)) * (1.0 - accuracy)
        matrix[true_class] = np.insert(others, true_class, accuracy)
    return matrix


def _population(
    seed: int, accuracies: np.ndarray, n_classes: int, rng: np.random.Generator
) -> Population:
    """Wallets ``0..len(accuracies)-1`` answering through :func:`confusion` (NaN = uniform)."""
    contributors = []
    for index, accuracy in enumerate(accuracies.tolist()):
        key = derive_key(seed, index)
        if np.isnan(accuracy):
            matrix, kind = np.full((n_classes, n_classes), 1 / n_classes), ContributorKind.SPAMMER
        else:
            matrix = confusion(accuracy, n_classes, rng)
            kind = ContributorKind.SKILLED if accuracy >= 0.75 else ContributorKind.CARELESS
        contributors.append(SimContributor(index, kind, key, address_of(key), matrix))
    return Population(contributors, n_classes, rng)


def assign(
    n_items: int, pool: np.ndarray, rng: np.random.Generator, k: int = OVERLAP
) -> np.ndarray:
    """An ``(n_items, k)`` matrix of distinct workers per item, drawn uniformly from ``pool``."""
    order = rng.random((n_items, len(pool))).argsort(axis=1)[:, :k]
    chosen: np.ndarray = pool[order]
    return chosen


def _truth(n_items: int, prior: tuple[float, ...], rng: np.random.Generator) -> np.ndarray:
    truth: np.ndarray = rng.choice(len(prior), size=n_items, p=np.asarray(prior))
    return truth


def _gold(truth: np.ndarray, share: float, rng: np.random.Generator) -> dict[int, int]:
    count = round(share * len(truth))
    chosen = np.sort(rng.choice(len(truth), size=count, replace=False))
    return {int(i): int(truth[i]) for i in chosen.tolist()}


def _crowd(
    name: str,
    population: Population,
    truth: np.ndarray,
    slots: np.ndarray,
    roles: list[Role],
    gold: dict[int, int],
    answer_of: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray] | None = None,
    original: int | None = None,
) -> Crowd:
    """Rows from the ``(n_items, k)`` assignment ``slots``: honest workers answer through their
    confusion; ``answer_of(items, workers, honest_answers)`` may overwrite adversaries' rows."""
    items = np.repeat(np.arange(len(truth)), slots.shape[1])
    workers = slots.reshape(-1)
    keep = workers >= 0
    items, workers = items[keep], workers[keep]
    order = np.lexsort((workers, items))
    items, workers = items[order], workers[order]
    answers = population.answers(workers, truth[items])
    if answer_of is not None:
        answers = answer_of(items, workers, answers)
    return Crowd(
        name=name,
        n_classes=population.n_classes,
        truth=truth,
        item=items,
        contributor=workers,
        answer=answers.astype(np.int64),
        gold=gold,
        roles=roles,
        addresses=[c.address for c in population.contributors],
        original=original,
    )


def _honest_accuracies(n: int, rng: np.random.Generator, low: float, high: float) -> np.ndarray:
    accuracies: np.ndarray = rng.uniform(low, high, size=n)
    return accuracies


def _replace_slots(
    slots: np.ndarray,
    items: np.ndarray,
    newcomer: int,
    rng: np.random.Generator,
    protected: frozenset[int] = frozenset(),
) -> None:
    """Put ``newcomer`` on each of ``items`` in place of a random worker not in ``protected``
    (skipping items where it already is or where no slot is free)."""
    for position in items.tolist():
        row = slots[position]
        if newcomer in row:
            continue
        free = [s for s, w in enumerate(row.tolist()) if w not in protected]
        if free:
            row[free[int(rng.integers(len(free)))]] = newcomer


# ------------------------------------------------------------------------------- the crowds


def _start(
    seed: int,
    n_items: int,
    n_honest: int,
    n_other: int,
    n_classes: int,
    prior: tuple[float, ...] | None = None,
) -> tuple[np.random.Generator, Population, np.ndarray]:
    """The seeded generator, ``n_honest`` honest workers (accuracy U(0.65, 0.95)) followed by
    ``n_other`` uninformed wallets, and the items' true classes drawn from ``prior``."""
    rng = np.random.default_rng(seed)
    accuracies = np.concatenate(
        [_honest_accuracies(n_honest, rng, 0.65, 0.95), np.full(n_other, np.nan)]
    )
    population = _population(seed, accuracies, n_classes, rng)
    truth = _truth(n_items, prior or (1 / n_classes,) * n_classes, rng)
    return rng, population, truth


def honest_crowd(
    seed: int, n_items: int = 1500, *, n_wallets: int = 40, n_classes: int = 3
) -> Crowd:
    """Honest workers only (accuracy U(0.65, 0.95)), uniform assignment: the control."""
    rng = np.random.default_rng(seed)
    population = _population(seed, _honest_accuracies(n_wallets, rng, 0.65, 0.95), n_classes, rng)
    truth = _truth(n_items, (1 / n_classes,) * n_classes, rng)
    slots = assign(n_items, np.arange(n_wallets), rng)
    return _crowd("honest", population, truth, slots, [Role.HONEST] * n_wallets, {})


def ring_crowd(
    seed: int,
    n_items: int = 1500,
    *,
    share: float = 0.35,
    gold_share: float = 0.0,
    n_wallets: int = 40,
    n_classes: int = 3,
) -> Crowd:
    """A ring of ``round(share × n_wallets)`` wallets among honest ones, all wallets assigned
    uniformly; ring members give the item's ring answer (one uniform draw per item)."""
    n_ring = max(1, round(share * n_wallets))
    n_honest = n_wallets - n_ring
    rng, population, truth = _start(seed, n_items, n_honest, n_ring, n_classes)
    gold = _gold(truth, gold_share, rng)
    slots = assign(n_items, np.arange(n_wallets), rng)
    ring_answer = rng.integers(n_classes, size=n_items)
    roles = [Role.HONEST] * n_honest + [Role.RING] * n_ring
    name = f"ring {share:.0%} of wallets" + (f", {gold_share:.0%} gold" if gold_share else "")
    return _crowd(name, population, truth, slots, roles, gold, _ring_answers(n_honest, ring_answer))


def _ring_answers(
    first_member: int, ring_answer: np.ndarray
) -> Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]:
    def answer_of(items: np.ndarray, workers: np.ndarray, answers: np.ndarray) -> np.ndarray:
        return np.where(workers >= first_member, ring_answer[items], answers)

    return answer_of


def dense_ring_crowd(
    seed: int,
    n_items: int = 1500,
    *,
    size: int = 5,
    per_item: int = 3,
    gold_share: float = 0.0,
    n_honest: int = 40,
    n_classes: int = 3,
) -> Crowd:
    """A small ring of ``size`` wallets landing ``per_item`` of the k answers on the same items.

    The ring works on as many items as gives each member an average wallet's load (k × items /
    wallets answers); the other slots of those items, and all other items, go to honest workers.
    """
    if not 1 <= per_item <= min(size, OVERLAP):
        raise ValueError("per_item must be between 1 and min(size, k)")
    rng, population, truth = _start(seed, n_items, n_honest, size, n_classes)
    gold = _gold(truth, gold_share, rng)
    slots = assign(n_items, np.arange(n_honest), rng)
    load = OVERLAP * n_items / (n_honest + size)
    targets = rng.choice(n_items, size=min(n_items, round(size * load / per_item)), replace=False)
    for position in targets.tolist():
        members = n_honest + rng.choice(size, size=per_item, replace=False)
        slots[position, rng.choice(OVERLAP, size=per_item, replace=False)] = members
    ring_answer = rng.integers(n_classes, size=n_items)
    roles = [Role.HONEST] * n_honest + [Role.RING] * size
    name = f"ring of {size}, {per_item} of {OVERLAP} answers" + (
        f", {gold_share:.0%} gold" if gold_share else ""
    )
    return _crowd(name, population, truth, slots, roles, gold, _ring_answers(n_honest, ring_answer))


def copier_crowd(
    seed: int,
    n_items: int = 1500,
    *,
    n_copiers: int = 2,
    original_accuracy: float = 0.70,
    n_honest: int = 40,
    n_classes: int = 3,
    copy_share: float = 1.0,
) -> Crowd:
    """Copiers repeat worker 0's answers (accuracy ``original_accuracy``) on every item worker 0
    answered, each taking the slot of another honest worker there. With ``copy_share < 1`` a
    copier repeats worker 0 on that share of the items (a fixed-seed draw per answer) and answers
    the others at random, to look independent."""
    if not 0.0 < copy_share <= 1.0:
        raise ValueError(f"copy_share must be in (0, 1], got {copy_share}")
    rng = np.random.default_rng(seed)
    accuracies = np.concatenate(
        [
            [original_accuracy],
            _honest_accuracies(n_honest - 1, rng, 0.65, 0.95),
            np.full(n_copiers, np.nan),
        ]
    )
    population = _population(seed, accuracies, n_classes, rng)
    truth = _truth(n_items, (1 / n_classes,) * n_classes, rng)
    slots = assign(n_items, np.arange(n_honest), rng)
    originals = np.flatnonzero((slots == 0).any(axis=1))
    copiers = list(range(n_honest, n_honest + n_copiers))
    for copier in copiers:
        _replace_slots(slots, originals, copier, rng, frozenset([0, *copiers]))

    def answer_of(items: np.ndarray, workers: np.ndarray, answers: np.ndarray) -> np.ndarray:
        copied = answers.copy()
        by_item = dict(
            zip(items[workers == 0].tolist(), answers[workers == 0].tolist(), strict=True)
        )
        rows = np.flatnonzero(workers >= n_honest)
        copies = rng.random(rows.shape[0]) < copy_share
        guesses = rng.integers(0, n_classes, size=rows.shape[0])
        for row, copy, guess in zip(rows.tolist(), copies.tolist(), guesses.tolist(), strict=True):
            copied[row] = by_item[int(items[row])] if copy else guess
        return copied

    roles = [Role.HONEST] * n_honest + [Role.COPIER] * n_copiers
    name = f"{n_copiers} copier{'s' if n_copiers > 1 else ''} of a {original_accuracy:.2f} worker"
    if copy_share < 1.0:
        name += f" ({copy_share:.0%} copied, the rest guessed)"
    return _crowd(name, population, truth, slots, roles, {}, answer_of, original=0)


def sybil_crowd(
    seed: int,
    n_items: int = 1500,
    *,
    n_sybils: int = 50,
    answers_each: int = 8,
    majority: float = 0.8,
    n_honest: int = 40,
) -> Crowd:
    """``n_sybils`` wallets, ``answers_each`` answers each, always class 0 on a 2-class task
    whose class 0 holds ``majority`` of the items; each takes an honest worker's slot."""
    rng, population, truth = _start(seed, n_items, n_honest, n_sybils, 2, (majority, 1 - majority))
    slots = assign(n_items, np.arange(n_honest), rng)
    for sybil in range(n_honest, n_honest + n_sybils):
        chosen = rng.choice(n_items, size=min(answers_each, n_items), replace=False)
        _replace_slots(slots, chosen, sybil, rng, frozenset(range(n_honest, n_honest + n_sybils)))

    def answer_of(items: np.ndarray, workers: np.ndarray, answers: np.ndarray) -> np.ndarray:
        return np.where(workers >= n_honest, 0, answers)

    roles = [Role.HONEST] * n_honest + [Role.SYBIL] * n_sybils
    name = f"{n_sybils} sybils × {answers_each} answers, {majority:.0%}/{1 - majority:.0%}"
    return _crowd(name, population, truth, slots, roles, {}, answer_of)


def gold_cheater_crowd(
    seed: int,
    n_items: int = 1500,
    *,
    n_cheaters: int = 8,
    gold_share: float = 0.1,
    detect: float = 0.7,
    false_alarm: float = 0.05,
    right_if_believed: float = 0.95,
    n_honest: int = 40,
    n_classes: int = 3,
) -> Crowd:
    """Cheaters who answer right only on items they take for gold (gold is secret: they spot a
    gold item with probability ``detect`` and mistake another for gold with ``false_alarm``),
    right with probability ``right_if_believed`` there, uniformly at random elsewhere."""
    rng, population, truth = _start(seed, n_items, n_honest, n_cheaters, n_classes)
    gold = _gold(truth, gold_share, rng)
    slots = assign(n_items, np.arange(n_honest + n_cheaters), rng)
    is_gold = np.zeros(n_items, dtype=bool)
    is_gold[list(gold)] = True

    def answer_of(items: np.ndarray, workers: np.ndarray, answers: np.ndarray) -> np.ndarray:
        draws = rng.random((len(items), 2))
        believed = np.where(is_gold[items], draws[:, 0] < detect, draws[:, 0] < false_alarm)
        right = believed & (draws[:, 1] < right_if_believed)
        guess = rng.integers(n_classes, size=len(items))
        cheat = np.where(right, truth[items], guess)
        return np.where(workers >= n_honest, cheat, answers)

    roles = [Role.HONEST] * n_honest + [Role.GOLD_CHEATER] * n_cheaters
    name = f"{n_cheaters} gold-aware cheaters, {gold_share:.0%} gold"
    return _crowd(name, population, truth, slots, roles, gold, answer_of)


REVIEWER_BEHAVIOURS = ("rubber-stamp", "reject-all", "invert")


def reviewer_crowd(
    seed: int,
    n_items: int = 1500,
    *,
    behaviour: str = "rubber-stamp",
    n_bad: int = 3,
    n_reviewers: int = 12,
    n_honest: int = 40,
    n_classes: int = 3,
) -> Crowd:
    """Honest answers, each reviewed once by one of ``n_reviewers`` review-only wallets chosen
    uniformly; ``n_bad`` of them accept everything (``rubber-stamp``), reject everything
    (``reject-all``) or give the wrong verdict (``invert``); the others give the right verdict
    with probability U(0.70, 0.95)."""
    if behaviour not in REVIEWER_BEHAVIOURS:
        raise ValueError(f"behaviour must be one of {', '.join(REVIEWER_BEHAVIOURS)}")
    good = n_reviewers - n_bad
    rng, population, truth = _start(seed, n_items, n_honest, n_reviewers, n_classes)
    slots = assign(n_items, np.arange(n_honest), rng)
    bad_role = Role.RUBBER_STAMP if behaviour == "rubber-stamp" else Role.CONTRARIAN
    roles = [Role.HONEST] * (n_honest + good) + [bad_role] * n_bad
    base = _crowd(f"{n_bad} {behaviour} reviewers", population, truth, slots, roles, {})
    skill = np.concatenate([rng.uniform(0.70, 0.95, size=good), np.zeros(n_bad)])
    reviewer = n_honest + rng.integers(n_reviewers, size=len(base.item))
    right = base.answer == truth[base.item]
    says_right = np.where(rng.random(len(right)) < skill[reviewer - n_honest], right, ~right)
    bad = reviewer >= n_honest + good
    if behaviour == "rubber-stamp":
        says_right = np.where(bad, True, says_right)
    elif behaviour == "reject-all":
        says_right = np.where(bad, False, says_right)
    else:
        says_right = np.where(bad, ~right, says_right)
    return Crowd(
        name=base.name,
        n_classes=n_classes,
        truth=truth,
        item=base.item,
        contributor=base.contributor,
        answer=base.answer,
        gold={},
        roles=roles,
        addresses=base.addresses,
        review_row=np.arange(len(base.item), dtype=np.int64),
        reviewer=reviewer.astype(np.int64),
        accept=says_right.astype(bool),
    )


def easy_picker_crowd(
    seed: int,
    n_items: int = 1500,
    *,
    n_pickers: int = 4,
    easy_share: float = 0.5,
    n_honest: int = 40,
    n_classes: int = 3,
) -> Crowd:
    """Items are easy (accuracy raised halfway to 1) or hard (lowered halfway to chance); honest
    workers take items uniformly, pickers (accuracy U(0.65, 0.95) like the rest) only easy ones,
    an average wallet's load each, bypassing assignment (an answer is accepted on any item with
    a free slot). ``skill`` is every wallet's drawn accuracy."""
    rng = np.random.default_rng(seed)
    accuracies = _honest_accuracies(n_honest + n_pickers, rng, 0.65, 0.95)
    chance = 1 / n_classes
    easy_pop = _population(seed, (1 + accuracies) / 2, n_classes, rng)
    hard_pop = _population(seed, (chance + accuracies) / 2, n_classes, rng)
    truth = _truth(n_items, (1 / n_classes,) * n_classes, rng)
    easy = rng.random(n_items) < easy_share
    slots = assign(n_items, np.arange(n_honest), rng)
    load = round(OVERLAP * n_items / (n_honest + n_pickers))
    easy_items = np.flatnonzero(easy)
    pickers = frozenset(range(n_honest, n_honest + n_pickers))
    for picker in sorted(pickers):
        chosen = rng.choice(easy_items, size=min(load, len(easy_items)), replace=False)
        _replace_slots(slots, chosen, picker, rng, pickers)

    def answer_of(items: np.ndarray, workers: np.ndarray, answers: np.ndarray) -> np.ndarray:
        return np.where(easy[items], answers, hard_pop.answers(workers, truth[items]))

    roles = [Role.HONEST] * n_honest + [Role.EASY_PICKER] * n_pickers
    name = f"{n_pickers} easy-item pickers"
    crowd = _crowd(name, easy_pop, truth, slots, roles, {}, answer_of)
    return replace(crowd, skill=accuracies)


def weak_imbalanced_crowd(
    seed: int,
    n_items: int = 1500,
    *,
    n_weak: int = 10,
    majority: float = 0.8,
    n_honest: int = 40,
) -> Crowd:
    """Honest workers only on a 2-class task with ``majority`` of items in class 0: ``n_weak`` of
    them of accuracy U(0.65, 0.70), the rest U(0.75, 0.95). No adversary: a spam-flag control."""
    rng = np.random.default_rng(seed)
    accuracies = np.concatenate(
        [
            _honest_accuracies(n_honest - n_weak, rng, 0.75, 0.95),
            _honest_accuracies(n_weak, rng, 0.65, 0.70),
        ]
    )
    population = _population(seed, accuracies, 2, rng)
    truth = _truth(n_items, (majority, 1 - majority), rng)
    slots = assign(n_items, np.arange(n_honest), rng)
    name = f"{n_weak} weak honest (0.65-0.70), {majority:.0%}/{1 - majority:.0%}"
    return _crowd(name, population, truth, slots, [Role.HONEST] * n_honest, {})


Builder = Callable[[int, int], Crowd]


def scenarios() -> list[tuple[str, Builder]]:
    """Every crowd of issue 14, as ``(key, builder(seed, n_items))`` in benchmark order."""

    def bind(builder: Callable[..., Crowd], **options: object) -> Builder:
        return lambda seed, n_items: builder(seed, n_items, **options)

    listing: list[tuple[str, Builder]] = [("honest", bind(honest_crowd))]
    for share in (0.10, 0.25, 0.35, 0.40):
        for gold in (0.0, 0.10):
            key = f"ring-{round(share * 100)}" + ("-gold" if gold else "")
            listing.append((key, bind(ring_crowd, share=share, gold_share=gold)))
    listing.append(("ring-5-dense", bind(dense_ring_crowd, size=5, per_item=3)))
    listing.append(
        ("ring-5-dense-gold", bind(dense_ring_crowd, size=5, per_item=3, gold_share=0.1))
    )
    listing.append(("ring-3-dense", bind(dense_ring_crowd, size=3, per_item=2)))
    for copiers in (1, 3):
        listing.append((f"copiers-{copiers}", bind(copier_crowd, n_copiers=copiers)))
    for share in (0.8, 0.5):
        listing.append(
            (
                f"copiers-2-partial-{round(share * 100)}",
                bind(copier_crowd, n_copiers=2, copy_share=share),
            )
        )
    for sybils, each in ((20, 10), (60, 5), (150, 3)):
        listing.append((f"sybils-{sybils}", bind(sybil_crowd, n_sybils=sybils, answers_each=each)))
    listing.append(("gold-cheaters", bind(gold_cheater_crowd)))
    for behaviour in REVIEWER_BEHAVIOURS:
        listing.append((f"reviewers-{behaviour}", bind(reviewer_crowd, behaviour=behaviour)))
    listing.append(("easy-pickers", bind(easy_picker_crowd)))
    listing.append(("weak-imbalanced", bind(weak_imbalanced_crowd)))
    return listing
