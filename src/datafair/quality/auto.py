"""``auto``: the worker model and posterior temperature the answers (and gold) support best.

Input columns: item, worker, label (one row per answer), see :mod:`datafair.quality.base`.

Fits every candidate of :mod:`datafair.quality.candidates` — majority (one shared accuracy),
one-coin, class-conditional one-coin, Dawid-Skene with a crowd-shaped prior, and community
Dawid-Skene with 2 and 3 communities — by EM from majority-vote shares, scores each by its
held-out predictive log-likelihood (5-fold cross-validation over answers) at its best posterior
temperature, takes the
simplest candidate within one standard error of the best (unless a simpler one's labels are
clearly more often reproduced by two disjoint halves of the workers; with gold: unless another
predicts the held-out gold labels clearly better), and reports the winner's tempered posteriors
(:mod:`datafair.quality.selection`). Nothing depends on the data set or on truth other than the
gold given; iteration counts, grids and candidates are fixed, so the same answers give the same
result everywhere.

``selection_`` records the decision: the winner, why, its temperature and every candidate's
score.
"""

from __future__ import annotations

from dataclasses import dataclass

from datafair.quality._em import (
    AnswerMatrix,
    FloatArray,
    answer_matrix,
    clamp_gold,
    item_log_likelihood,
    normalise_log,
    vote_shares,
)
from datafair.quality._encode import EncodedAnswers
from datafair.quality.base import CategoricalAggregator, FitOutcome
from datafair.quality.candidates import (
    Candidate,
    ClassOneCoinModel,
    CommunityModel,
    DirichletModel,
    MajorityModel,
    OneCoinModel,
)
from datafair.quality.selection import (
    CandidateFit,
    Score,
    choose,
    cross_validate,
    fit_candidate,
    score_candidate,
    selection_sample,
    split_half_agreement,
    temper,
    tempered_posteriors,
)
from datafair.quality.skills import SPAM_THRESHOLD

CANDIDATES = (
    "majority",
    "one-coin",
    "class-one-coin",
    "dawid-skene",
    "community-2",
    "community-3",
)
"""Names of the candidate models, simplest first (the one-standard-error rule and ties go to
the simpler)."""


def build_candidate(name: str) -> Candidate:
    """A fresh candidate model by name (one of :data:`CANDIDATES`)."""
    if name == "majority":
        return MajorityModel()
    if name == "one-coin":
        return OneCoinModel()
    if name == "class-one-coin":
        return ClassOneCoinModel()
    if name == "dawid-skene":
        return DirichletModel()
    if name.startswith("community-"):
        return CommunityModel(int(name.split("-", 1)[1]))
    raise ValueError(f"unknown candidate {name!r}; choose from {', '.join(CANDIDATES)}")


@dataclass(frozen=True)
class Selection:
    """Which model ``auto`` chose and why.

    ``scores`` holds every candidate's held-out score, best answer score first: name, mean
    held-out log-likelihood per answer, and the held-out log-likelihood of the gold labels
    (0 without gold), each at the candidate's own temperature; ``held_out`` is the winner's
    score on every answer at its chosen ``temperature`` (and ``contamination``, with gold).
    """

    winner: str
    temperature: float
    scores: tuple[tuple[str, float, float], ...]
    held_out: Score
    description: str
    why: str = ""
    """The rule that picked the winner (:func:`datafair.quality.selection.choose`)."""
    sampled_answers: int = 0
    """Answers the candidates were compared on (all of them unless the crowd is large)."""
    agreement: tuple[tuple[str, float], ...] = ()
    """Per candidate, the share of the items answered by both halves of the workers on which
    its labels fitted on either half agree
    (:func:`~datafair.quality.selection.split_half_agreement`)."""

    @property
    def contamination(self) -> float:
        """``ε``, the share of the class prior mixed into the posteriors (0 without gold)."""
        return self.held_out.contamination

    def reason(self) -> str:
        """One line: the winner, why, and its temperature."""
        own = dict((name, answers) for name, answers, _ in self.scores)[self.winner]
        text = f"{self.description}: held-out {own:.4f} per answer, {self.why}"
        text += (
            f"; temperature {self.temperature:.2f}"
            + (f", contamination {self.contamination:.2f}" if self.contamination else "")
            + f" (held-out log-likelihood {self.held_out.answers:.4f} per answer"
            + (f", gold {self.held_out.gold:.2f}" if self.held_out.gold else "")
            + ")"
        )
        return text

    def as_dict(self) -> dict[str, object]:
        """Plain JSON values (numbers as fixed-decimal strings, so the settlement bundle's
        canonical bytes do not depend on float printing)."""
        return {
            "winner": self.winner,
            "description": self.description,
            "why": self.why,
            "temperature": f"{self.temperature:.6f}",
            "contamination": f"{self.contamination:.6f}",
            "held_out_per_answer": f"{self.held_out.answers:.6f}",
            "held_out_gold": f"{self.held_out.gold:.6f}",
            "compared_on_answers": self.sampled_answers,
            "held_out_per_answer_by_model": {name: f"{v:.6f}" for name, v, _ in self.scores},
            "held_out_gold_by_model": {name: f"{g:.6f}" for name, _, g in self.scores},
            "split_half_agreement_by_model": {name: f"{a:.6f}" for name, a in self.agreement},
        }


class AutoAggregator(CategoricalAggregator):
    """Model selection by held-out likelihood over the candidate worker models (module doc).

    ``candidates`` names the models tried (default :data:`CANDIDATES`); ``max_iter`` and ``tol``
    bound each candidate's EM;
    the community models start from Dawid-Skene's posteriors and run ``refine_iter`` rounds.
    """

    selection_: Selection

    def __init__(
        self,
        *,
        candidates: tuple[str, ...] = CANDIDATES,
        max_iter: int = 100,
        refine_iter: int = 5,
        tol: float = 1e-6,
        spam_threshold: float = SPAM_THRESHOLD,
    ) -> None:
        super().__init__(spam_threshold=spam_threshold)
        for name in candidates:
            build_candidate(name)
        if not candidates:
            raise ValueError("candidates must name at least one model")
        self.candidates = tuple(candidates)
        self.max_iter = max_iter
        self.refine_iter = refine_iter
        self.tol = tol

    def _fit_all(
        self,
        data: EncodedAnswers,
        names: list[str],
        warm: dict[str, CandidateFit] | None = None,
    ) -> dict[str, CandidateFit]:
        """Fit the named candidates; community models refine Dawid-Skene's posteriors. With
        ``warm`` (fits of the same candidates on a superset of the answers), each starts from
        its own earlier posteriors instead (the cross-validation refits)."""
        matrix = answer_matrix(data)
        initial = vote_shares(data)
        fits: dict[str, CandidateFit] = {}
        for name in sorted(names, key=lambda n: n.startswith("community-")):
            rounds = 2 if name == "majority" else self.max_iter
            if warm is not None:
                start = warm[name].posteriors
                if name.startswith("community-"):
                    rounds = self.refine_iter
            elif name.startswith("community-"):
                if "dawid-skene" not in fits:
                    fits["dawid-skene"] = self._fit_one(data, matrix, initial, "dawid-skene")
                start, rounds = fits["dawid-skene"].posteriors, self.refine_iter
            else:
                start = initial
            model = build_candidate(name)
            fits[name] = fit_candidate(data, matrix, start, model, max_iter=rounds, tol=self.tol)
        return {name: fits[name] for name in names}

    def _fit_one(
        self, data: EncodedAnswers, matrix: AnswerMatrix, initial: FloatArray, name: str
    ) -> CandidateFit:
        model = build_candidate(name)
        return fit_candidate(data, matrix, initial, model, max_iter=self.max_iter, tol=self.tol)

    def _refit(self, data: EncodedAnswers, chosen: CandidateFit) -> CandidateFit:
        """The chosen candidate fitted on every answer, from the posteriors its fit on the
        sample gives every item (one E-step): EM then needs a few rounds, not a fit from the
        vote; a community model refines them for ``refine_iter`` rounds, as it refines
        Dawid-Skene's."""
        name = chosen.model.name
        matrix = answer_matrix(data)
        log_joint = item_log_likelihood(matrix, chosen.log_confusion) + chosen.log_prior
        start, _ = normalise_log(log_joint)
        rounds = 2 if name == "majority" else self.max_iter
        if name.startswith("community-"):
            rounds = self.refine_iter
        model = build_candidate(name)
        return fit_candidate(data, matrix, start, model, max_iter=rounds, tol=self.tol)

    def _fit_encoded(self, data: EncodedAnswers) -> FitOutcome:
        names = [n for n in self.candidates if not (n == "class-one-coin" and data.n_classes <= 2)]
        sample = selection_sample(data)
        fits = self._fit_all(sample, names)
        terms = cross_validate(sample, lambda train: self._fit_all(train, names, warm=fits))
        held = {name: score_candidate(sample, fit, terms[name]) for name, fit in fits.items()}
        agreement = split_half_agreement(sample, lambda half: self._fit_all(half, names))
        # a model without worker parameters reproduces the errors the crowd shares as well as
        # the truth: it takes no part in the split-half rule (selection module doc)
        rivals = {n: a for n, a in agreement.items() if fits[n].model.per_worker}
        winner, why = choose(held, self.candidates, rivals)
        # chosen on a sample of the items: refit the winner on every answer
        fit = fits[winner] if sample is data else self._refit(data, fits[winner])
        score = temper(data, fit)
        ranked = sorted(held.values(), key=lambda h: -round(h.score.answers, 9))
        self.selection_ = Selection(
            winner=winner,
            temperature=score.temperature,
            scores=tuple((h.score.name, h.score.answers, h.score.gold) for h in ranked),
            held_out=score,
            description=fit.model.describe(),
            why=why,
            sampled_answers=sample.n_answers,
            agreement=tuple(
                (name, float(agreement[name].mean())) for name in names if name in agreement
            ),
        )
        posteriors = tempered_posteriors(fit, score.temperature, score.contamination)
        posteriors = clamp_gold(posteriors, data.gold)
        return FitOutcome(
            posteriors,
            log_confusion=score.temperature * fit.log_confusion,
            confusion=fit.model.confusion(fit.counts),
            history=fit.history,
            converged=fit.converged,
        )


def empty_selection() -> Selection:
    """The record of a fit with no answers."""
    return Selection("none", 1.0, (), Score("none", 1.0, 0.0, 0.0, 0.0), "no answers", "no answers")


__all__ = ["CANDIDATES", "AutoAggregator", "Selection", "build_candidate", "empty_selection"]
