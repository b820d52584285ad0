"""The fit contract shared by every categorical aggregator (scikit-learn style).

``fit(items, workers, labels, *, gold=None, classes=None)`` takes one row per answer (strings or
ints), an optional ``{item: gold label}`` map and an optional declared class list, and returns
the estimator. Fitted attributes (all aligned, numpy arrays unless noted):

- ``items_``: item keys (sorted); ``classes_``: class keys; ``workers_``: worker keys (sorted)
- ``labels_``: inferred class per item; ``probas_``: item × class posterior (float64)
- ``skills_``: list of :class:`~datafair.quality.skills.WorkerSkill`, aligned with ``workers_``
- ``spam_scores_``; ``is_spammer_`` (``spam_scores_ > spam_threshold``)
- with gold, each worker's skill and spam score are bounded by their gold record, and workers
  whose gold record is at chance are left out of inference (:mod:`datafair.quality.gold_bounds`)
- ``confusion_counts_[w, c, k]``: expected answers ``k`` by worker ``w`` on items of class
  ``c``, each answer scored against the other answers on its item (what skills are built from)
- ``loss_history_`` (list of float); ``converged_`` (bool); ``n_iter_`` (int)
- ``dependence_``: :class:`~datafair.quality.dependence.Dependence`, each worker's dependence
  group and the evidence for it. After a first fit, pairs of workers who agree on wrong answers
  more than independence allows are grouped (:mod:`datafair.quality.dependence`; Dong,
  Berti-Equille & Srivastava, VLDB 2009) and the model is refitted with each group as one
  worker whose answers on an item weigh one vote; a group's members share its skill and spam
  score. ``detect_dependence = False`` (class or instance attribute) skips this, and the worker
  keys in ``never_grouped`` (instance attribute) are left out of every tested pair: their answers
  depend on others' by design, as a review's accept repeats the label it accepts.

Empty input yields empty arrays (``probas_`` of shape ``(0, len(classes))``) and
``converged_ = True``. Ties in ``probas_`` resolve to the first class in ``classes_``, except for
majority vote, which documents its own rule (:mod:`datafair.quality.majority_vote`).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Self

import numpy as np
from numpy.typing import ArrayLike, NDArray

from datafair.quality._em import (
    answer_matrix,
    clamp_gold,
    leave_one_out_vote_counts,
    soft_counts,
    vote_shares,
)
from datafair.quality._encode import EncodedAnswers, encode_answers
from datafair.quality.dependence import (
    Dependence,
    Reference,
    detect_dependence,
    group_answers,
    no_dependence,
    representative,
)
from datafair.quality.gold_bounds import (
    GoldRecord,
    bound_skills,
    gold_record,
    without_gold_items,
    without_workers,
)
from datafair.quality.skills import (
    SPAM_THRESHOLD,
    WorkerSkill,
    build_skills,
    corrected_spam_scores,
    counts_and_reference,
)

FloatArray = NDArray[np.float64]


@dataclass(frozen=True, eq=False)
class FitOutcome:
    """What a subclass's ``_fit_encoded`` returns."""

    posteriors: FloatArray
    log_confusion: FloatArray | None = None
    vote_weights: FloatArray | None = None
    confusion: FloatArray | None = None
    history: tuple[float, ...] = ()
    converged: bool = True
    labels: NDArray[np.intp] | None = None
    """Class index per item when it is not simply the arg-max of ``posteriors`` (vote ties)."""


class CategoricalAggregator:
    """Base class: validation, encoding, gold clamping and skill reporting."""

    items_: NDArray[Any]
    classes_: NDArray[Any]
    workers_: NDArray[Any]
    labels_: NDArray[Any]
    probas_: FloatArray
    skills_: list[WorkerSkill]
    spam_scores_: FloatArray
    is_spammer_: NDArray[np.bool_]
    confusion_counts_: FloatArray
    loss_history_: list[float]
    converged_: bool
    n_iter_: int
    dependence_: Dependence

    detect_dependence = True
    """Group dependent workers and refit (see the module doc)."""

    never_grouped: Collection[Any] = ()
    """Worker keys whose pairs are not tested for dependence (see the module doc)."""

    def __init__(self, *, spam_threshold: float = SPAM_THRESHOLD) -> None:
        self.spam_threshold = spam_threshold

    def fit(
        self,
        items: ArrayLike | Sequence[Any],
        workers: ArrayLike | Sequence[Any],
        labels: ArrayLike | Sequence[Any],
        *,
        gold: Mapping[Any, Any] | None = None,
        classes: Sequence[Any] | ArrayLike | None = None,
    ) -> Self:
        """Infer item labels and worker skills from one row per answer; returns ``self``."""
        data = encode_answers(items, workers, labels, gold=gold, classes=classes)
        dependence = no_dependence(data.n_workers)
        n_answers = np.bincount(data.worker_idx, minlength=data.n_workers).astype(np.intp)
        record = gold_record(data)
        # Workers whose gold record is at chance carry no weight in inference (gold_bounds).
        fitted = data
        if record is not None and record.excluded.any():
            fitted = without_workers(data, record.excluded)
        measured: _Measures | None = None
        if fitted.n_answers == 0:
            outcome = FitOutcome(
                np.full((fitted.n_items, fitted.n_classes), 1.0 / max(fitted.n_classes, 1))
            )
        else:
            outcome = self._fit_encoded(fitted)
            if self.detect_dependence:
                dependence, measured = self._test_beside_measures(data, fitted, outcome, record)
                if dependence.n_groups:
                    fitted = group_answers(fitted, dependence.group)
                    outcome = self._fit_encoded(fitted)
                    measured = None
        stored = group_answers(data, dependence.group) if dependence.n_groups else data
        if measured is None:
            measured = _measure(stored, outcome, record)
        self._store(stored, outcome, n_answers, dependence, record, measured)
        self.dependence_ = dependence
        return self

    def _test_beside_measures(
        self,
        data: EncodedAnswers,
        fitted: EncodedAnswers,
        outcome: FitOutcome,
        record: GoldRecord | None,
    ) -> tuple[Dependence, _Measures | None]:
        """The dependence test of the first fit and, from :data:`THREADED_FROM` answers on,
        what the skills need when nobody is grouped (the common case): every answer measured
        against that fit, while the test runs on a second thread. numpy releases the
        interpreter lock in most of both, so on two cores they overlap (1M answers: 0.45-0.6 s
        for both instead of 0.75-0.85 s). Both are pure functions of their inputs, so the
        result is the same bits either way. Below, the test runs alone (``None``: the caller
        measures once it knows whether a group was refitted)."""
        references = self._references(fitted, outcome)
        exempt = self._never_grouped_mask(fitted)
        if data.n_answers < THREADED_FROM:
            return detect_dependence(fitted, references, exempt=exempt), None
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=1) as pool:
            test = pool.submit(detect_dependence, fitted, references, exempt=exempt)
            measured = _measure(data, outcome, record)
            return test.result(), measured

    def _never_grouped_mask(self, data: EncodedAnswers) -> NDArray[np.bool_] | None:
        """Per encoded worker, whether its key is in ``never_grouped`` (``None``: none is)."""
        if not len(self.never_grouped):
            return None
        mask: NDArray[np.bool_] = np.isin(data.workers, np.asarray(list(self.never_grouped)))
        return mask

    def _references(self, data: EncodedAnswers, outcome: FitOutcome) -> list[Reference]:
        """The fitted model's posteriors and confusions, and majority vote's (module doc of
        :mod:`datafair.quality.dependence`)."""
        matrix = answer_matrix(data)
        references: list[Reference] = []
        if outcome.confusion is not None and outcome.confusion.shape[0] == data.n_workers:
            posteriors = clamp_gold(outcome.posteriors.copy(), data.gold)
            references.append((posteriors, outcome.confusion))
        votes = clamp_gold(vote_shares(data), data.gold)
        k = data.n_classes
        references.append((votes, _row_normalise(soft_counts(matrix, votes) + 1.0 / k)))
        return references

    def fit_predict(
        self,
        items: ArrayLike | Sequence[Any],
        workers: ArrayLike | Sequence[Any],
        labels: ArrayLike | Sequence[Any],
        *,
        gold: Mapping[Any, Any] | None = None,
        classes: Sequence[Any] | ArrayLike | None = None,
    ) -> NDArray[Any]:
        """``fit`` then return ``labels_``."""
        return self.fit(items, workers, labels, gold=gold, classes=classes).labels_

    def _fit_encoded(self, data: EncodedAnswers) -> FitOutcome:
        raise NotImplementedError

    def _store(
        self,
        data: EncodedAnswers,
        outcome: FitOutcome,
        n_answers: NDArray[np.intp],
        dependence: Dependence,
        record: GoldRecord | None,
        measured: _Measures,
    ) -> None:
        posteriors = clamp_gold(outcome.posteriors, data.gold)
        k = data.n_classes
        counts, reference, off_gold, off_reference = measured
        confusion = outcome.confusion
        if confusion is None and data.n_answers:
            confusion = _row_normalise(soft_counts(answer_matrix(data), posteriors) + 1.0 / k)
        if dependence.n_groups:
            # groups were fitted as their lowest member: every member shares its counts
            owner = representative(dependence.group)
            counts = counts[owner]
            reference = None if reference is None else reference[owner]
            off_gold = None if off_gold is None else off_gold[owner]
            off_reference = None if off_reference is None else off_reference[owner]
            confusion = None if confusion is None else confusion[owner]
        skills, scores = bound_skills(
            *build_skills(data.workers, counts, n_answers, confusion, reference),
            record,
            None if off_gold is None else corrected_spam_scores(off_gold, off_reference),
        )
        self.items_ = data.items
        self.classes_ = data.classes
        self.workers_ = data.workers
        self.probas_ = posteriors
        if not k:
            self.labels_ = data.classes[:0].copy()
        elif outcome.labels is not None:
            chosen = outcome.labels.copy()
            known = data.gold >= 0
            chosen[known] = data.gold[known]
            self.labels_ = data.classes[chosen]
        else:
            self.labels_ = data.classes[np.argmax(posteriors, axis=1)]
        self.skills_ = skills
        self.spam_scores_ = scores
        self.is_spammer_ = scores > self.spam_threshold
        self.confusion_counts_ = counts
        self.loss_history_ = list(outcome.history)
        self.converged_ = outcome.converged
        self.n_iter_ = len(outcome.history)

    def get_params(self) -> dict[str, Any]:
        """Constructor parameters, as scikit-learn estimators report them."""
        return {name: value for name, value in vars(self).items() if not name.endswith("_")}


_Measures = tuple[FloatArray, FloatArray | None, FloatArray | None, FloatArray | None]
"""Each worker's counts scored against the other answers and their reference, and the same
without the gold items (``None``, ``None`` without gold)."""

THREADED_FROM = 1 << 16
"""Answers from which the dependence test runs on a second thread beside the skills' counts."""


def _measure(data: EncodedAnswers, outcome: FitOutcome, record: GoldRecord | None) -> _Measures:
    """What the skills are built from: every answer scored against the other answers on its
    item (:func:`_scored_counts`) and, with gold, the same without the gold items (gold-bounds
    rule 3: spam scores of workers with gold come from their other answers)."""
    posteriors = clamp_gold(outcome.posteriors, data.gold)
    counts, reference = _scored_counts(data, posteriors, outcome)
    if record is None:
        return counts, reference, None, None
    off_gold, off_reference = _scored_counts(without_gold_items(data), posteriors, outcome)
    return counts, reference, off_gold, off_reference


def _scored_counts(
    data: EncodedAnswers, posteriors: FloatArray, outcome: FitOutcome
) -> tuple[FloatArray, FloatArray | None]:
    """Soft confusion counts, each answer scored against the other answers on its item, and the
    leave-one-out reference each worker was scored against (models with confusions only)."""
    k = data.n_classes
    if not data.n_answers:
        return np.zeros((data.n_workers, k, k)), None
    if outcome.log_confusion is not None:
        return counts_and_reference(data, posteriors, outcome.log_confusion)
    return leave_one_out_vote_counts(data, outcome.vote_weights), None


def _row_normalise(counts: FloatArray) -> FloatArray:
    rows: FloatArray = counts / counts.sum(axis=-1, keepdims=True)
    return rows
