"""One epoch's computation and its bundle: the canonical JSON from which anyone recomputes a root.

Pure: no database, chain or files. :func:`compute_epoch` takes :class:`EpochInputs` (the task
spec, every signed submission in canonical order, reviews, the gold reveal, the quality method
and its parameters, the fee rate) and returns an :class:`EpochResult`:

1. **Inference.** For categorical tasks (classification, preference) the aggregator named by
   ``method`` (:func:`datafair.quality.get_aggregator`, default Bayesian Dawid-Skene) is fitted
   on *all* submissions up to this epoch plus the reviews as pseudo-answers
   (:func:`datafair.quality.reviews.review_evidence`), with the gold answers clamped. An
   answer's ``p_correct`` is the posterior of the class it gave, ``probas_[item, class]``
   (Dawid & Skene 1979). With ``auto`` the bundle's ``quality.model_selection`` records the
   model it chose, the posterior temperature and every candidate's held-out score, which the
   audit recomputes like every other field. For structured tasks (multi-label, spans, boxes,
   transcription) the type's aggregator gives each item a consensus label (the gold answer on
   gold items) and an answer's ``p_correct`` is its score against that label, in ``[0, 1]``;
   reviews are not evidence there (:mod:`.structured`, :mod:`datafair.quality.answer_scores`).
2. **Rewards** of the submissions first settled in this epoch (``epoch`` column equal to the
   epoch): :func:`datafair.economics.quality_weighted_rewards` (zero for spam-flagged
   contributors and for answers failing a gold item: another class than the gold one, or a
   structured answer scoring below :data:`~datafair.quality.answer_scores.PASS_SCORE` against
   it; each review that takes a side earns up to its share of ``review_bps`` of the item
   budget, weighed by its reviewer's informedness ``max(0, TPR − FPR)`` over all their reviews,
   right answers being the inferred class or one scoring at least ``PASS_SCORE``, so constant
   verdicts earn nothing; the bundle's ``reviewers`` section records each reviewer's
   informedness and its interval), or, for categorical tasks whose spec's
   ``extra.mechanism`` is ``"peer-prediction"``, :func:`datafair.economics.
   peer_prediction_rewards` (Shnayder et al. 2016) with the epoch as seed and
   :data:`PEER_PREDICTION_DRAWS` draws over the answers of accounts not spam-flagged (flagged
   accounts earn nothing and are nobody's peer; structured tasks asking for it are refused).
   Under ``quality`` each ``p_correct`` is first measured on the typical item
   (:func:`ease_adjusted`, :mod:`.difficulty`).
3. **Payout.** :func:`datafair.economics.split_payout` takes the fee (``fee_bps`` of the gross,
   rounded down) and apportions the rest by largest remainder.
4. **Tree.** Leaves ``(index, account, amount)`` for every positive amount, accounts in
   ascending order, in OpenZeppelin's StandardMerkleTree layout
   (:mod:`datafair.crypto.merkle`).

Canonical order makes the result independent of the database: submissions are sorted by
(item CID, contributor address), items and accounts are sorted lists that rows index into.
Floats appear only inside the aggregator and the scores; the economics quantises them to
integers before any arithmetic on money. Published structured labels are canonical JSON values
(box coordinates rounded to 0.01 pixel), so the scores can be recomputed from the bundle.

:func:`bundle_document` lays inputs and result out as JSON (format :data:`BUNDLE_FORMAT`,
described field by field in ``docs/settlement.md``); :func:`encode_bundle` gives its canonical
bytes, whose CID goes on chain; :func:`parse_bundle` reads them back into :class:`EpochInputs`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from datafair import __version__
from datafair.core.canonical import canonical_json
from datafair.core.errors import InvalidInput
from datafair.core.schemas import CATEGORICAL_TASK_TYPES, TaskType
from datafair.core.task import TaskSpec
from datafair.crypto.merkle import PAYOUT_LEAF_ENCODING, StandardMerkleTree
from datafair.economics import (
    AnswerColumns,
    Mechanism,
    Payout,
    ReviewColumns,
    peer_prediction_rewards,
    quality_weighted_rewards,
    split_payout,
)
from datafair.economics.held import (
    HeldPay,
    certainty_bps,
    default_min_answers,
    hold_uncertain_pay,
)
from datafair.quality import get_aggregator
from datafair.quality.answer_scores import PASS_SCORE, score_rows
from datafair.quality.dependence import (
    Dependence,
    detect_copies,
    groups_of_pairs,
    representative,
)
from datafair.quality.near_identical import near_identity_keys
from datafair.quality.reviews import (
    Informedness,
    informedness_weights,
    review_evidence,
    reviewer_informedness,
    says_right,
)
from datafair.quality.skills import SPAM_THRESHOLD, spam_scores
from datafair.services.settlement.difficulty import ease_factors
from datafair.services.settlement.gold import GoldOpening, gold_section, parse_gold_section
from datafair.services.settlement.structured import (
    OWN_AGGREGATOR,
    STRUCTURED,
    consensus_labels,
    fit_structured,
    structured_aggregator,
)

BUNDLE_FORMAT = "datafair-settlement/1"

Leaf = tuple[int, str, int]


@dataclass(frozen=True)
class Submissions:
    """Signed submissions as columns, sorted by (item CID, contributor).

    ``items`` and ``accounts`` are sorted lists; ``item``/``contributor`` index them. ``answer``
    is the canonical JSON text that the signed answer hash covers; ``epoch`` is the epoch in
    which each submission is (or was) paid.
    """

    items: list[str]
    accounts: list[str]
    item: list[int]
    contributor: list[int]
    answer: list[str]
    nonce: list[int]
    duration_ms: list[int]
    signature: list[bytes]
    epoch: list[int]

    def __len__(self) -> int:
        return len(self.item)


@dataclass(frozen=True)
class Reviews:
    """Reviews as columns: the reviewed submission (row of :class:`Submissions`), the reviewer
    (index into ``accounts``), the verdict (``accept``/``reject`` or ``None``), the 1-5 rating
    (or ``None``) and the reviewer's signature (or ``None``)."""

    submission: list[int] = field(default_factory=list)
    reviewer: list[int] = field(default_factory=list)
    verdict: list[str | None] = field(default_factory=list)
    rating: list[int | None] = field(default_factory=list)
    signature: list[bytes | None] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.submission)


@dataclass(frozen=True)
class Delegations:
    """Session-key delegations (:mod:`datafair.crypto.delegation`) the submissions used.

    ``message`` holds each delegation's EIP-712 message in JSON form and ``signature`` the
    wallet's signature of it, sorted by (wallet, session key, nonce); ``row`` lists the rows of
    :class:`Submissions` signed by a session key (ascending) and ``delegation`` the index of the
    delegation that authorised each. Rows not listed are signed by their contributor.
    """

    message: list[dict[str, Any]] = field(default_factory=list)
    signature: list[bytes] = field(default_factory=list)
    row: list[int] = field(default_factory=list)
    delegation: list[int] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.message)


@dataclass(frozen=True)
class EpochInputs:
    """Everything an epoch's payout is computed from (and what its bundle publishes)."""

    task_id: bytes
    spec: dict[str, Any]
    chain_id: int
    escrow: str
    token: str
    epoch: int
    submissions: Submissions
    reviews: Reviews
    gold: dict[str, Any]
    """The gold answers revealed so far, by item CID (clamped in inference)."""
    gold_openings: Mapping[str, GoldOpening]
    """Each revealed gold item's salt, Merkle proof and revealing epoch (:mod:`.gold`)."""
    gold_commitment: bytes
    method: str
    params: dict[str, Any]
    fee_bps: int
    delegations: Delegations = field(default_factory=Delegations)
    held: dict[str, int] = field(default_factory=dict)
    """Pay earlier epochs held for each account and did not release (the previous bundle's
    ``held`` amounts), carried into this epoch (:mod:`datafair.economics.held`)."""


@dataclass(frozen=True)
class EpochResult:
    """Inferred labels (one per item of ``Submissions.items``), spam-flagged accounts, gross
    rewards per account, the payout (fee, total, unearned), the leaves and the root (``None``
    when nothing was earned)."""

    estimator: str
    params: dict[str, Any]
    classes: list[Any]
    labels: list[Any]
    spammers: list[str]
    mechanism: str
    review_bps: int
    price_per_answer: int
    paid_submissions: int
    budget: int
    rewards: dict[str, int]
    payout: Payout[str]
    leaves: list[Leaf]
    root: bytes | None
    model_selection: dict[str, Any] | None = None
    """For ``auto``: the winning model, its temperature and every candidate's held-out score
    (:meth:`datafair.quality.auto.Selection.as_dict`); ``None`` for a fixed method."""
    dependence: dict[str, Any] | None = None
    """Dependent groups of accounts, paid as one contributor, and each member's evidence
    (:func:`account_groups`); ``None`` when nobody is grouped."""
    reviewers: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Per reviewer: the informedness that weighs their reviews (:func:`reviewer_section`)."""
    held: dict[str, dict[str, str]] = field(default_factory=dict)
    """Per account with money carried in or held: ``carried`` and ``held`` (:func:`hold_pay`)."""
    ease: dict[str, Any] = field(default_factory=dict)
    """Quality pay measured on the typical item (:func:`ease_adjusted`): ``spread`` (τ²) and
    each account's ``factor``; empty when the items' ease did not differ between accounts."""

    @property
    def total(self) -> int:
        return self.payout.total

    @property
    def fee(self) -> int:
        return self.payout.fee


def task_settings(spec: TaskSpec) -> tuple[str, int]:
    """The spec's reward mechanism and review share (``extra.mechanism``, ``extra.review_bps``).

    ``InvalidInput`` for a spec settlement could never pay: an unknown mechanism, a review share
    outside 0..10000 basis points, a task type settlement does not support, or peer prediction
    on a structured task. Task creation checks this too, so such a task is never funded.
    """
    if spec.task_type not in CATEGORICAL_TASK_TYPES | STRUCTURED | {TaskType.COLLECTION}:
        raise InvalidInput("task", f"a {spec.task_type} task cannot be settled")
    mechanism = str(spec.extra.get("mechanism", Mechanism.QUALITY))
    if mechanism not in (Mechanism.QUALITY, Mechanism.PEER_PREDICTION):
        raise InvalidInput(
            "extra.mechanism",
            f"unknown mechanism {mechanism!r}",
            f"use {Mechanism.QUALITY} or {Mechanism.PEER_PREDICTION}",
        )
    if mechanism == Mechanism.PEER_PREDICTION and spec.task_type not in CATEGORICAL_TASK_TYPES:
        raise InvalidInput(
            "extra.mechanism",
            f"peer prediction pays categorical answers only, not a {spec.task_type} task",
            f"create the task without extra.mechanism ({Mechanism.QUALITY} is the default)",
        )
    review_bps = spec.extra.get("review_bps", 0)
    if isinstance(review_bps, bool) or not isinstance(review_bps, int):
        raise InvalidInput("extra.review_bps", "must be an integer 0..10000")
    if not 0 <= review_bps <= 10_000:
        raise InvalidInput("extra.review_bps", f"{review_bps} is not in 0..10000 basis points")
    return mechanism, review_bps


def _decode_answers(texts: Sequence[str]) -> list[Any]:
    """Each answer's JSON text decoded; each distinct text is decoded once and its value shared
    by every answer that repeats it."""
    decoded = {text: json.loads(text) for text in set(texts)}
    return list(map(decoded.__getitem__, texts))


def review_verdicts(reviews: Reviews) -> list[bool | None]:
    """Each review's side: accept (True), reject (False) or none (:func:`says_right`)."""
    return [says_right(v, r) for v, r in zip(reviews.verdict, reviews.rating, strict=True)]


def _review_evidence(
    inputs: EpochInputs, values: Sequence[Any], classes: Sequence[Any]
) -> tuple[list[int], list[int], list[Any]]:
    """Reviews as pseudo-answers (:func:`datafair.quality.reviews.review_evidence`), with the
    pseudo-workers numbered after the accounts, in sorted order."""
    reviews = inputs.reviews
    if not len(reviews):
        return [], [], []
    subs = inputs.submissions
    evidence = review_evidence(
        [subs.item[row] for row in reviews.submission],
        [values[row] for row in reviews.submission],
        [subs.accounts[reviewer] for reviewer in reviews.reviewer],
        review_verdicts(reviews),
        classes,
    )
    pseudo = {
        worker: len(subs.accounts) + k for k, worker in enumerate(sorted(set(evidence.workers)))
    }
    return list(evidence.items), [pseudo[w] for w in evidence.workers], list(evidence.labels)


def review_informedness(inputs: EpochInputs, correct: np.ndarray) -> dict[int, Informedness]:
    """Informedness of each reviewer (account index) over all the bundle's reviews, against
    which answers are right (:func:`datafair.quality.reviews.reviewer_informedness`)."""
    reviews = inputs.reviews
    rows = np.asarray(reviews.submission, dtype=np.int64)
    found = reviewer_informedness(
        list(reviews.reviewer), review_verdicts(reviews), correct[rows].tolist()
    )
    return {int(reviewer): value for reviewer, value in found.items()}


def _review_columns(
    inputs: EpochInputs,
    informedness: dict[int, Informedness],
    paid: np.ndarray,
    spam_accounts: np.ndarray,
) -> ReviewColumns | None:
    """Review pay columns of the epoch's reviewed submissions: each review that takes a side
    weighs its reviewer's informedness, ``max(0, TPR − FPR)`` against the answers' standing
    (the inferred class, or for structured tasks a score of at least
    :data:`~datafair.quality.answer_scores.PASS_SCORE` against the consensus), so accept-all
    and reject-all earn nothing (:func:`datafair.quality.reviews.informedness_weights`)."""
    reviews = inputs.reviews
    if not len(reviews):
        return None
    rows = np.asarray(reviews.submission, dtype=np.int64)
    keep = paid[rows]
    if not keep.any():
        return None
    weights = informedness_weights(list(reviews.reviewer), review_verdicts(reviews), informedness)
    items = np.asarray(inputs.submissions.item, dtype=np.int64)[rows]
    reviewers = np.asarray(reviews.reviewer, dtype=np.int64)
    return ReviewColumns(
        item=items[keep],
        reviewer=reviewers[keep],
        agreement=weights[keep],
        is_spam=spam_accounts[reviewers][keep],
    )


def reviewer_section(
    accounts: Sequence[str], informedness: dict[int, Informedness]
) -> dict[str, dict[str, Any]]:
    """The bundle's ``reviewers`` section: per reviewer address, the informedness that weighs
    their reviews, its interval (fixed-decimal strings) and the counts it rests on."""
    return {
        accounts[index]: {
            "informedness": f"{value.value:.6f}",
            "low": f"{value.low:.6f}",
            "high": f"{value.high:.6f}",
            "right": value.right,
            "wrong": value.wrong,
            "accepted_right": value.accepted_right,
            "accepted_wrong": value.accepted_wrong,
        }
        for index, value in sorted(informedness.items())
    }


@dataclass(frozen=True, eq=False)
class _Evidence:
    """What inference says of each submission row, whatever the task type."""

    estimator: str
    classes: list[Any]
    labels: list[Any]
    p_correct: np.ndarray
    correct: np.ndarray
    failed_gold: np.ndarray
    spam_accounts: np.ndarray
    answer_class: np.ndarray | None  # categorical tasks only (peer prediction needs it)
    model_selection: dict[str, Any] | None = None  # what ``auto`` chose and why
    groups: np.ndarray | None = None  # dependence group per account (-1: none)
    dependence: dict[str, Any] | None = None  # the groups and their evidence, for the bundle
    # account: (answers, accuracy, interval low, spam score over the spam threshold)
    skills: dict[int, tuple[int, float, float, float]] | None = None
    chance: float = 0.0  # accuracy of an answer that ignores the item


def _spam_accounts(model: Any, n_accounts: int) -> np.ndarray:
    """Accounts the fitted ``model`` flags as spammers (pseudo-workers are not accounts)."""
    spam_accounts = np.zeros(n_accounts, dtype=bool)
    workers = np.asarray(model.workers_, dtype=np.int64)
    flagged = workers[np.asarray(model.is_spammer_, dtype=bool)]
    spam_accounts[flagged[flagged < n_accounts]] = True
    return spam_accounts


def account_groups(
    model: Any, accounts: Sequence[str]
) -> tuple[np.ndarray | None, dict[str, Any] | None]:
    """Dependence groups among accounts (pseudo-workers of reviews left out) and the bundle's
    record of them, or ``(None, None)`` when no two accounts are dependent.

    Groups are the connected components of the model's dependent pairs of accounts
    (:mod:`datafair.quality.dependence`), numbered from 0 by lowest account index; each grouped
    account's evidence is its strongest pair: partner, shared items, agreements on wrong
    answers, the number expected under independence and the adjusted p-value (numbers as
    fixed-decimal strings, so the bundle's bytes do not depend on float printing).
    """
    found = getattr(model, "dependence_", None)
    if found is None:
        return None, None
    return dependence_record(found, np.asarray(model.workers_, dtype=np.int64), accounts)


def dependence_record(
    found: Dependence, workers: np.ndarray, accounts: Sequence[str]
) -> tuple[np.ndarray | None, dict[str, Any] | None]:
    """:func:`account_groups` of a :class:`~datafair.quality.dependence.Dependence` whose
    worker ``w`` is the account (or pseudo-worker) index ``workers[w]``."""
    if not found.pair_a.shape[0]:
        return None, None
    a, b = workers[found.pair_a], workers[found.pair_b]
    inside = (a < len(accounts)) & (b < len(accounts))
    if not inside.any():
        return None, None
    groups = groups_of_pairs(len(accounts), a[inside], b[inside])
    position = {int(w): p for p, w in enumerate(workers.tolist())}
    evidence = {}
    for index in np.flatnonzero(groups >= 0).tolist():
        at = position[index]
        partner = int(found.partner[at])
        evidence[accounts[index]] = {
            "group": int(groups[index]),
            "score": f"{found.score[at]:.6f}",
            "partner": accounts[int(workers[partner])]
            if partner >= 0 and workers[partner] < len(accounts)
            else None,
            "shared_items": int(found.shared[at]),
            "test": "cluster" if found.by_cluster[at] else "pair",
            "agree_wrong": int(found.agree_wrong[at]),
            "expected": f"{found.expected[at]:.6f}",
            "p_value": f"{found.p_value[at]:.6e}",
        }
    members = [
        [accounts[i] for i in np.flatnonzero(groups == g).tolist()]
        for g in range(int(groups.max()) + 1)
    ]
    return groups, {"groups": members, "evidence": evidence}


def _account_skills(
    model: Any, n_accounts: int, n_classes: int = 0
) -> dict[int, tuple[int, float, float, float]]:
    """``account -> (answers, accuracy, interval low, doubt)`` of the fitted ``model``'s
    workers that are accounts (not review pseudo-workers).

    ``doubt`` (categorical tasks of ``n_classes`` classes; 0 otherwise) is how far the spam
    score has risen above a worker's with no answers, on the way to the model's spam
    threshold: ``(score − s0) / (threshold − s0)`` clipped to ``[0, 1]``, with ``s0`` the score
    of the prior alone (:func:`datafair.quality.skills.spam_scores`), so a new worker has no
    doubt (thin evidence has its own rule) and a worker at the threshold has all
    (:func:`datafair.economics.held.certainty_bps`)."""
    threshold = float(getattr(model, "spam_threshold", SPAM_THRESHOLD))
    prior = float(spam_scores(np.zeros((1, n_classes, n_classes)))[0]) if n_classes else 1.0
    room = threshold - prior

    def doubt(score: float) -> float:
        return min(max((score - prior) / room, 0.0), 1.0) if room > 0 else 0.0

    return {
        int(skill.worker): (skill.n_answers, skill.accuracy, skill.low, doubt(skill.spam_score))
        for skill in model.skills_
        if int(skill.worker) < n_accounts
    }


PEER_PREDICTION_DRAWS = 64
"""Bonus/penalty draws per answer when settling with ``peer-prediction`` (Shnayder et al. 2016's
CA score, :func:`datafair.economics.peer_prediction_rewards`). The draws only average the
random choice of peer and penalty tasks (same expectation); with the economics default of 16,
what was left of that noise kept honest workers' pay per answer from following their accuracy
(Spearman 0.82–0.89 in 12 of the 23 crowds of ``benchmarks/economics.py``). 64 draws cost
about 2 s per 100 000 answers (0.6 s with 16)."""


DEFAULT_HOLD_MIN_ANSWERS = 30
"""Answers an account needs before all of its pay is paid at once, unless the task says
(capped by the typical contributor's answers: :func:`hold_threshold`)."""


def hold_setting(spec: TaskSpec) -> int | None:
    """The spec's ``extra.hold_min_answers``: the answers an account needs before all of its
    pay is paid at once (0 holds nothing); ``None`` when the task leaves it to the default."""
    if "hold_min_answers" not in spec.extra:
        return None
    value = spec.extra["hold_min_answers"]
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidInput("extra.hold_min_answers", "must be a non-negative integer")
    return value


def hold_threshold(setting: int | None, contributor: Sequence[int]) -> int:
    """The answers an account needs this epoch: the task's setting, or by default
    :func:`datafair.economics.held.default_min_answers` of the accounts' answer counts."""
    if setting is not None:
        return setting
    counts = np.bincount(np.asarray(contributor, dtype=np.int64), minlength=1)
    return default_min_answers([int(c) for c in counts.tolist()], DEFAULT_HOLD_MIN_ANSWERS)


def hold_pay(
    inputs: EpochInputs,
    evidence: _Evidence,
    gross: dict[str, int],
    min_answers: int,
) -> HeldPay:
    """Hold the part of each account's pay its evidence does not support yet
    (:func:`datafair.economics.held.hold_uncertain_pay`): certainty from the account's answers
    and skill interval (:func:`~datafair.economics.held.certainty_bps`), capped by the doubt
    the spam score casts on accounts with at least :data:`DEFAULT_HOLD_MIN_ANSWERS` answers
    (:func:`_account_skills`; fewer answers are thin evidence), the money earlier
    epochs held (``inputs.held``) carried in, spam-flagged accounts' carried money forfeited."""
    accounts = inputs.submissions.accounts
    certainty: dict[str, int] = {}
    if min_answers and evidence.skills is not None:
        for index, (n_answers, accuracy, low, doubt) in evidence.skills.items():
            # a spam score rests on evidence, not on its prior, from the default bar on
            counted = doubt if n_answers >= DEFAULT_HOLD_MIN_ANSWERS else 0.0
            certainty[accounts[index]] = certainty_bps(
                n_answers, accuracy, low, evidence.chance, min_answers=min_answers, doubt=counted
            )
    spam = frozenset(accounts[i] for i in np.flatnonzero(evidence.spam_accounts).tolist())
    return hold_uncertain_pay(gross, inputs.held, certainty, spam)


def held_section(held: HeldPay) -> dict[str, dict[str, str]]:
    """The bundle's ``held`` section: per account, what was carried in and what stays held."""
    return {
        account: {
            "carried": str(held.carried.get(account, 0)),
            "held": str(held.held.get(account, 0)),
        }
        for account in sorted(set(held.carried) | set(held.held))
    }


def _check_items(model: Any, n_items: int) -> None:
    if list(model.items_) != list(range(n_items)):
        raise InvalidInput("submissions", "every listed item must have at least one answer")


def _categorical_evidence(
    inputs: EpochInputs,
    spec: TaskSpec,
    values: list[Any],
    gold_index: dict[int, Any],
) -> _Evidence:
    """Categorical inference: the aggregator named by ``method``, reviews as evidence, gold
    clamped; ``p_correct`` is the posterior of the answer's class."""
    subs = inputs.submissions
    item = np.asarray(subs.item, dtype=np.int64)
    contributor = np.asarray(subs.contributor, dtype=np.int64)
    try:
        model = get_aggregator(inputs.method, **inputs.params)
    except (TypeError, ValueError) as error:
        raise InvalidInput(
            "quality.params", f"do not fit method {inputs.method!r}: {error}"
        ) from None
    declared = list(spec.schema.choices)
    extra_items, extra_workers, extra_labels = _review_evidence(inputs, values, declared)
    if extra_items:
        # a review's accept repeats the label it judges: dependent by design, never a copier
        model.never_grouped = sorted(set(extra_workers))
        model.fit(
            np.concatenate([item, np.asarray(extra_items, dtype=np.int64)]),
            np.concatenate([contributor, np.asarray(extra_workers, dtype=np.int64)]),
            list(values) + extra_labels,
            gold=gold_index,
            classes=declared,
        )
    else:
        model.fit(item, contributor, values, gold=gold_index, classes=declared)
    _check_items(model, len(subs.items))
    classes = [c.item() if hasattr(c, "item") else c for c in model.classes_]
    class_of = {value: position for position, value in enumerate(classes)}
    try:
        answer_class = np.fromiter((class_of[v] for v in values), dtype=np.int64, count=len(values))
    except (KeyError, TypeError) as error:
        raise InvalidInput("submissions", f"answer {error} is not a class of the task") from None
    labels_idx = np.argmax(model.probas_, axis=1)
    gold_class = np.full(len(subs.items), -1, dtype=np.int64)
    for position, answer in gold_index.items():
        gold_class[position] = class_of[answer]
    selection = getattr(model, "selection_", None)
    groups, dependence = account_groups(model, subs.accounts)
    return _Evidence(
        groups=groups,
        dependence=dependence,
        model_selection=None if selection is None else selection.as_dict(),
        estimator=type(model).__name__,
        classes=classes,
        labels=[classes[i] for i in labels_idx.tolist()],
        p_correct=model.probas_[item, answer_class],
        correct=labels_idx[item] == answer_class,
        failed_gold=(gold_class[item] >= 0) & (gold_class[item] != answer_class),
        spam_accounts=_spam_accounts(model, len(subs.accounts)),
        answer_class=answer_class,
        skills=_account_skills(model, len(subs.accounts), len(classes)),
        chance=1.0 / max(len(classes), 1),
    )


def _structured_evidence(
    inputs: EpochInputs,
    spec: TaskSpec,
    values: list[Any],
    gold_index: dict[int, Any],
) -> _Evidence:
    """Structured inference (see :mod:`.structured`): the type's aggregator gives each item a
    consensus label (the gold answer on gold items); ``p_correct`` is the answer's score
    against it."""
    subs = inputs.submissions
    item = np.asarray(subs.item, dtype=np.int64)
    contributor = np.asarray(subs.contributor, dtype=np.int64)
    n_accounts = len(subs.accounts)
    # copiers and rings: near-identical answers beyond what third parties imply; each group
    # is fitted as one voice, its lowest member's answer on an item standing for it
    answer_key = near_identity_keys(spec.task_type, subs.answer, subs.item)
    copies = detect_copies(item, contributor, answer_key, n_accounts)
    groups, dependence = dependence_record(copies, np.arange(n_accounts), subs.accounts)
    owner = representative(copies.group)
    voice = _first_per_owner(item, owner[contributor])
    model = structured_aggregator(spec.task_type, inputs.method, inputs.params)
    classes = None if spec.task_type is TaskType.TRANSCRIPTION else list(spec.schema.classes)
    fit_structured(
        model, item[voice], owner[contributor[voice]], [values[r] for r in voice], classes
    )
    _check_items(model, len(subs.items))
    labels = consensus_labels(spec.task_type, model.labels_, gold_index)
    p_correct = np.asarray(
        score_rows(spec.task_type, subs.answer, subs.item, labels), dtype=np.float64
    )
    correct = p_correct >= PASS_SCORE
    is_gold = np.zeros(len(subs.items), dtype=bool)
    is_gold[list(gold_index)] = True
    skills = _account_skills(model, n_accounts)
    return _Evidence(
        groups=groups,
        dependence=dependence,
        estimator=type(model).__name__,
        classes=[],
        labels=labels,
        p_correct=p_correct,
        correct=correct,
        failed_gold=is_gold[item] & ~correct,
        spam_accounts=_spam_accounts(model, n_accounts)[owner],
        answer_class=None,
        skills={a: skills[int(owner[a])] for a in range(n_accounts) if int(owner[a]) in skills},
    )


def _first_per_owner(item: np.ndarray, owner: np.ndarray) -> list[int]:
    """Rows (ascending) that are the first of their (item, owner) pair."""
    key = item.astype(np.int64) * (int(owner.max(initial=0)) + 1) + owner
    first = np.unique(key, return_index=True)[1]
    return [int(row) for row in np.sort(first).tolist()]


COLLECTION_CLASSES = ["accept", "reject"]


def collection_evidence(inputs: EpochInputs) -> _Evidence:
    """Collection tasks: each submission is a contributed item, its reviews decide it.

    An item is accepted when more of its reviews accept it than reject it (a verdict, or a
    rating read by :func:`datafair.quality.reviews.says_right`); an item without such a
    majority is rejected. An accepted item's ``p_correct`` is 1 (it earns the task's price per
    item), a rejected one's 0 (it earns nothing); a review agrees when it sided with the
    outcome. Settlement takes a collection item only once it has its ``k`` reviews
    (:func:`datafair.services.settlement.settle.gather_inputs`).
    """
    subs = inputs.submissions
    n = len(subs)
    balance = np.zeros(n, dtype=np.int64)
    for row, side in zip(inputs.reviews.submission, review_verdicts(inputs.reviews), strict=True):
        if side is not None:
            balance[row] += 1 if side else -1
    accepted = balance > 0
    labels = ["reject"] * len(subs.items)
    for row in np.flatnonzero(accepted).tolist():
        labels[subs.item[row]] = "accept"
    return _Evidence(
        estimator="ReviewMajority",
        classes=list(COLLECTION_CLASSES),
        labels=labels,
        p_correct=accepted.astype(np.float64),
        correct=accepted,
        failed_gold=np.zeros(n, dtype=bool),
        spam_accounts=np.zeros(len(subs.accounts), dtype=bool),
        answer_class=None,
    )


def ease_adjusted(
    evidence: _Evidence,
    item: np.ndarray,
    contributor: np.ndarray,
    items: int,
    accounts: Sequence[str],
) -> tuple[np.ndarray, dict[str, Any]]:
    """Each row's ``p_correct`` measured on the typical item (:mod:`.difficulty`) and the
    bundle's ``ease`` section (empty when every factor is 1). The two-way fit uses the answers
    of accounts neither spam-flagged nor in a dependence group."""
    independent = ~evidence.spam_accounts
    if evidence.groups is not None:
        independent &= evidence.groups < 0
    factors = ease_factors(
        item, contributor, evidence.p_correct, independent[contributor], items, len(accounts)
    )
    if factors.tau2 <= 0.0:
        return evidence.p_correct, {}
    section = {
        "spread": f"{factors.tau2:.9f}",
        "factor": {
            account: f"{factors.factor[index]:.6f}"
            for index, account in enumerate(accounts)
            if factors.factor[index] != 1.0
        },
    }
    return factors.adjust(contributor, evidence.p_correct), section


def compute_epoch(inputs: EpochInputs) -> EpochResult:
    """Infer, reward, take the fee and build the tree of one epoch (see the module docstring)."""
    spec = TaskSpec.from_dict(inputs.spec)
    mechanism, review_bps = task_settings(spec)
    informedness: dict[int, Informedness] = {}
    ease: dict[str, Any] = {}
    subs = inputs.submissions
    if not len(subs):
        raise InvalidInput("task", "has no submissions", "nothing to settle")
    item = np.asarray(subs.item, dtype=np.int64)
    contributor = np.asarray(subs.contributor, dtype=np.int64)
    values = _decode_answers(subs.answer)
    gold_index = {
        position: inputs.gold[cid] for position, cid in enumerate(subs.items) if cid in inputs.gold
    }
    if spec.task_type is TaskType.COLLECTION:
        evidence = collection_evidence(inputs)
    elif spec.task_type in STRUCTURED:
        evidence = _structured_evidence(inputs, spec, values, gold_index)
    else:
        evidence = _categorical_evidence(inputs, spec, values, gold_index)
    spam_accounts = evidence.spam_accounts
    paid = np.asarray(subs.epoch, dtype=np.int64) == inputs.epoch
    n_paid = int(paid.sum())
    price = spec.price_per_answer
    if mechanism == Mechanism.PEER_PREDICTION:
        assert evidence.answer_class is not None
        budget = price * n_paid
        # spam-flagged accounts earn nothing and are nobody's peer: their reports agree with a
        # peer's on the bonus item as often as on penalty items, so as peers they add only
        # variance to honest scores (and they move the estimated Delta)
        scored = paid & ~spam_accounts[contributor]
        pp = peer_prediction_rewards(
            item[scored],
            contributor[scored],
            evidence.answer_class[scored],
            n_classes=len(evidence.classes),
            pool=budget,
            seed=inputs.epoch,
            draws=PEER_PREDICTION_DRAWS,
            group=None if evidence.groups is None else evidence.groups[contributor[scored]],
        )
        by_index = pp.amounts
    else:
        informedness = review_informedness(inputs, evidence.correct)
        p_correct = evidence.p_correct
        if spec.task_type is not TaskType.COLLECTION:  # contributed items have no difficulty
            p_correct, ease = ease_adjusted(
                evidence, item, contributor, len(subs.items), subs.accounts
            )
        rewards = quality_weighted_rewards(
            AnswerColumns(
                item=item[paid],
                contributor=contributor[paid],
                p_correct=p_correct[paid],
                is_spam=spam_accounts[contributor[paid]],
                failed_gold=evidence.failed_gold[paid],
                group=None if evidence.groups is None else evidence.groups[contributor[paid]],
            ),
            price_per_answer=price,
            reviews=_review_columns(inputs, informedness, paid, spam_accounts),
            review_bps=review_bps,
        )
        budget = rewards.budget
        by_index = rewards.by_contributor
    gross = {subs.accounts[index]: int(value) for index, value in by_index.items()}
    threshold = hold_threshold(hold_setting(spec), inputs.submissions.contributor)
    held = hold_pay(inputs, evidence, gross, threshold)
    budget += held.carried_total
    payout = split_payout(budget - held.held_total, held.paid, inputs.fee_bps)
    positive = [(account, value) for account, value in sorted(payout.amounts.items()) if value > 0]
    leaves: list[Leaf] = [(i, account, value) for i, (account, value) in enumerate(positive)]
    root = StandardMerkleTree.of(leaves, PAYOUT_LEAF_ENCODING).root if leaves else None
    return EpochResult(
        dependence=evidence.dependence,
        reviewers=reviewer_section(subs.accounts, informedness),
        held=held_section(held),
        ease=ease,
        model_selection=evidence.model_selection,
        estimator=evidence.estimator,
        params=dict(inputs.params),
        classes=evidence.classes,
        labels=evidence.labels,
        spammers=[subs.accounts[i] for i in np.flatnonzero(spam_accounts).tolist()],
        mechanism=str(mechanism),
        review_bps=review_bps,
        price_per_answer=price,
        paid_submissions=n_paid,
        budget=budget,
        rewards=gross,
        payout=payout,
        leaves=leaves,
        root=root,
    )


def default_params(
    method: str, task_type: TaskType | str = TaskType.CLASSIFICATION
) -> dict[str, Any]:
    """The constructor parameters ``method`` stands for on a task of ``task_type``, as
    canonical JSON values: the categorical aggregator's, except for boxes and transcription
    tasks, whose own aggregator's (:func:`.structured.structured_aggregator`)."""
    kind = TaskType(task_type)
    if kind is TaskType.COLLECTION:
        return {}
    model: Any = (
        structured_aggregator(kind, method, {})
        if kind in OWN_AGGREGATOR
        else get_aggregator(method)
    )
    normalised: dict[str, Any] = json.loads(canonical_json(model.get_params()))
    return normalised


def payout_tree(leaves: Sequence[Leaf]) -> StandardMerkleTree:
    """The payout tree of ``leaves`` (in their order)."""
    return StandardMerkleTree.of([tuple(leaf) for leaf in leaves], PAYOUT_LEAF_ENCODING)


# ------------------------------------------------------------------------------- the document


def _hex(data: bytes) -> str:
    return "0x" + data.hex()


def bundle_document(inputs: EpochInputs, result: EpochResult) -> dict[str, Any]:
    """The bundle as JSON-ready data (amounts as decimal strings, bytes as 0x-hex)."""
    subs = inputs.submissions
    reviews = inputs.reviews
    payout = result.payout
    document = {
        "format": BUNDLE_FORMAT,
        "software": {"name": "datafair", "version": __version__},
        "task": {"task_id": _hex(inputs.task_id), "spec": inputs.spec},
        "chain": {"chain_id": inputs.chain_id, "escrow": inputs.escrow, "token": inputs.token},
        "epoch": inputs.epoch,
        "gold": gold_section(inputs.gold_commitment, inputs.gold_openings),
        "submissions": {
            "items": subs.items,
            "accounts": subs.accounts,
            "item": subs.item,
            "contributor": subs.contributor,
            "answer": subs.answer,
            "nonce": subs.nonce,
            "duration_ms": subs.duration_ms,
            "signature": [_hex(s) for s in subs.signature],
            "epoch": subs.epoch,
        },
        "reviews": {
            "submission": reviews.submission,
            "reviewer": reviews.reviewer,
            "verdict": reviews.verdict,
            "rating": reviews.rating,
            "signature": [None if s is None else _hex(s) for s in reviews.signature],
        },
        "quality": {
            "method": inputs.method,
            "estimator": result.estimator,
            "params": inputs.params,
            "classes": result.classes,
            **(
                {"model_selection": result.model_selection}
                if result.model_selection is not None
                else {}
            ),
        },
        "inferred": {
            "labels": result.labels,
            "spammers": result.spammers,
            **({"dependence": result.dependence} if result.dependence is not None else {}),
        },
        **({"reviewers": result.reviewers} if result.reviewers else {}),
        **({"held": result.held} if result.held else {}),
        **({"ease": result.ease} if result.ease else {}),
        "rewards": {
            "mechanism": result.mechanism,
            "price_per_answer": str(result.price_per_answer),
            "review_bps": result.review_bps,
            "paid_submissions": result.paid_submissions,
            "budget": str(result.budget),
            "gross": {account: str(value) for account, value in result.rewards.items()},
        },
        "payout": {
            "fee_bps": payout.fee_bps,
            "gross": str(payout.gross),
            "fee": str(payout.fee),
            "total": str(payout.total),
            "unearned": str(payout.unearned),
        },
        "tree": {
            "leaf_encoding": list(PAYOUT_LEAF_ENCODING),
            "leaves": [[index, account, str(value)] for index, account, value in result.leaves],
            "root": None if result.root is None else _hex(result.root),
        },
    }
    delegations = inputs.delegations
    if len(delegations):  # only bundles that use session keys carry the section
        document["delegations"] = {
            "message": delegations.message,
            "signature": [_hex(s) for s in delegations.signature],
            "row": delegations.row,
            "delegation": delegations.delegation,
        }
    return document


def encode_bundle(document: Mapping[str, Any]) -> bytes:
    """Canonical JSON bytes of a bundle document.

    Equal to :func:`datafair.core.canonical.canonical_json` for bundle documents (whose only
    floats, the quality parameters, are already canonical), but without its Python-level walk
    over millions of values.
    """
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode(
        "utf-8"
    )


# ------------------------------------------------------------------------------- parsing


class BundleError(InvalidInput):
    """A bundle that cannot be read: not canonical JSON, or a field of the wrong shape."""

    def __init__(self, problem: str) -> None:
        super().__init__("bundle", problem, "the bundle was altered or is not a settlement bundle")


def _bytes(text: Any, what: str, size: int | None = None) -> bytes:
    if not isinstance(text, str) or not text.startswith("0x"):
        raise BundleError(f"{what} is not 0x-hex")
    try:
        raw = bytes.fromhex(text[2:])
    except ValueError:
        raise BundleError(f"{what} is not 0x-hex") from None
    if size is not None and len(raw) != size:
        raise BundleError(f"{what} must be {size} bytes")
    return raw


def _int_list(value: Any, what: str, n: int | None = None) -> list[int]:
    if not isinstance(value, list) or not all(
        isinstance(v, int) and not isinstance(v, bool) for v in value
    ):
        raise BundleError(f"{what} must be a list of integers")
    if n is not None and len(value) != n:
        raise BundleError(f"{what} has {len(value)} entries, expected {n}")
    return value


def _list(value: Any, what: str, n: int) -> list[Any]:
    if not isinstance(value, list) or len(value) != n:
        raise BundleError(f"{what} must be a list of {n} entries")
    return value


def read_document(data: bytes) -> dict[str, Any]:
    """The bundle's JSON object; ``BundleError`` unless ``data`` is a canonical bundle."""
    try:
        document = json.loads(data)
    except (UnicodeDecodeError, ValueError) as error:
        raise BundleError(f"is not JSON ({error})") from None
    if not isinstance(document, dict) or document.get("format") != BUNDLE_FORMAT:
        raise BundleError(f"is not a {BUNDLE_FORMAT} document")
    if encode_bundle(document) != data:
        raise BundleError("is not in canonical JSON form (a byte was added, removed or moved)")
    return document


def parse_bundle(document: Mapping[str, Any]) -> EpochInputs:
    """The :class:`EpochInputs` a bundle document publishes (``BundleError`` on bad shapes)."""
    try:
        task, chain, gold = document["task"], document["chain"], document["gold"]
        subs, reviews, quality = document["submissions"], document["reviews"], document["quality"]
        payout = document["payout"]
        item = _int_list(subs["item"], "submissions.item")
        n = len(item)
        submissions = Submissions(
            items=list(subs["items"]),
            accounts=list(subs["accounts"]),
            item=item,
            contributor=_int_list(subs["contributor"], "submissions.contributor", n),
            answer=_list(subs["answer"], "submissions.answer", n),
            nonce=_int_list(subs["nonce"], "submissions.nonce", n),
            duration_ms=_int_list(subs["duration_ms"], "submissions.duration_ms", n),
            signature=[
                _bytes(s, "submissions.signature")
                for s in _list(subs["signature"], "submissions.signature", n)
            ],
            epoch=_int_list(subs["epoch"], "submissions.epoch", n),
        )
        for name, column, bound in (
            ("item", submissions.item, len(submissions.items)),
            ("contributor", submissions.contributor, len(submissions.accounts)),
        ):
            if column and not 0 <= min(column) <= max(column) < bound:
                raise BundleError(f"submissions.{name} points outside its list")
        m = len(_list(reviews["submission"], "reviews.submission", len(reviews["submission"])))
        parsed_reviews = Reviews(
            submission=_int_list(reviews["submission"], "reviews.submission", m),
            reviewer=_int_list(reviews["reviewer"], "reviews.reviewer", m),
            verdict=_list(reviews["verdict"], "reviews.verdict", m),
            rating=_list(reviews["rating"], "reviews.rating", m),
            signature=[
                None if s is None else _bytes(s, "reviews.signature")
                for s in _list(reviews["signature"], "reviews.signature", m)
            ],
        )
        if m and not (
            0 <= min(parsed_reviews.submission) <= max(parsed_reviews.submission) < n
            and min(parsed_reviews.reviewer) >= 0
            and max(parsed_reviews.reviewer) < len(submissions.accounts)
        ):
            raise BundleError("reviews point outside the submissions or accounts")
        if not isinstance(quality["params"], dict):
            raise BundleError("quality.params must be an object")
        try:
            commitment, openings = parse_gold_section(gold)
        except ValueError as error:
            raise BundleError(str(error)) from None
        delegations = _parse_delegations(document.get("delegations"), n)
        return EpochInputs(
            task_id=_bytes(task["task_id"], "task.task_id", 32),
            spec=dict(task["spec"]),
            chain_id=int(chain["chain_id"]),
            escrow=str(chain["escrow"]),
            token=str(chain["token"]),
            epoch=int(document["epoch"]),
            submissions=submissions,
            reviews=parsed_reviews,
            gold={cid: opening.answer for cid, opening in openings.items()},
            gold_openings=openings,
            gold_commitment=commitment,
            method=str(quality["method"]),
            params=dict(quality["params"]),
            fee_bps=int(payout["fee_bps"]),
            delegations=delegations,
            held=_parse_held(document.get("held")),
        )
    except (KeyError, TypeError) as error:
        raise BundleError(f"misses or mistypes the field {error}") from None


def _parse_held(section: Any) -> dict[str, int]:
    """The money carried into the epoch, from the optional ``held`` section."""
    if section is None:
        return {}
    if not isinstance(section, dict):
        raise BundleError("held must be an object")
    carried: dict[str, int] = {}
    for account, entry in section.items():
        text = entry["carried"]
        if not isinstance(text, str) or not text.isdigit():
            raise BundleError(f"held.{account}.carried must be a decimal string")
        if int(text):
            carried[account] = int(text)
    return carried


def _parse_delegations(section: Any, n_rows: int) -> Delegations:
    """The optional ``delegations`` section (``BundleError`` on bad shapes)."""
    if section is None:
        return Delegations()
    if not isinstance(section, dict):
        raise BundleError("delegations must be an object")
    messages = section["message"]
    if not isinstance(messages, list) or not messages:
        raise BundleError("delegations.message must be a non-empty list")
    if not all(isinstance(message, dict) for message in messages):
        raise BundleError("delegations.message must hold objects")
    m = len(messages)
    rows = _int_list(section["row"], "delegations.row")
    which = _int_list(section["delegation"], "delegations.delegation", len(rows))
    if rows and not (min(rows) >= 0 and max(rows) < n_rows and rows == sorted(set(rows))):
        raise BundleError("delegations.row must be ascending rows of the submissions")
    if which and not 0 <= min(which) <= max(which) < m:
        raise BundleError("delegations.delegation points outside delegations.message")
    return Delegations(
        message=messages,
        signature=[
            _bytes(s, "delegations.signature", 65)
            for s in _list(section["signature"], "delegations.signature", m)
        ],
        row=rows,
        delegation=which,
    )
