"""Reviews as evidence: verdicts from ratings, pseudo-answers, agreement, and a measured gain."""

from __future__ import annotations

import numpy as np
import pytest

from datafair.core.errors import InvalidInput
from datafair.quality import get_aggregator
from datafair.quality.reviews import (
    ACCEPT_PREFIX,
    REJECT_PREFIX,
    integer_workers,
    is_pseudo_worker,
    review_agreement,
    review_evidence,
    reviewer_of,
    says_right,
)

ABC = ["a", "b", "c"]


@pytest.mark.parametrize(
    "verdict,rating,expected",
    [
        ("accept", None, True),
        ("reject", None, False),
        ("reject", 5, False),  # a verdict wins over a rating
        (None, 5, True),
        (None, 4, True),
        (None, 3, None),
        (None, 2, False),
        (None, 1, False),
        (None, None, None),
    ],
)
def test_says_right(verdict: str | None, rating: int | None, expected: bool | None) -> None:
    assert says_right(verdict, rating) is expected


@pytest.mark.parametrize(
    "verdict,rating,field", [("maybe", None, "verdict"), (None, 0, "rating"), (None, 6, "rating")]
)
def test_says_right_refuses_unknown_values(verdict: str | None, rating: int, field: str) -> None:
    with pytest.raises(InvalidInput, match=f"^{field}:"):
        says_right(verdict, rating)


def test_an_accept_is_the_accepted_label_by_the_reviewer_pseudo_worker() -> None:
    evidence = review_evidence([1], ["b"], ["0xR"], [True], ABC)
    assert (evidence.items, evidence.workers, evidence.labels) == ([1], ["review:0xR"], ["b"])
    assert is_pseudo_worker(evidence.workers[0]) and reviewer_of(evidence.workers[0]) == "0xR"
    assert not is_pseudo_worker("0xR")


def test_with_two_classes_a_reject_is_the_other_class() -> None:
    evidence = review_evidence([1], ["yes"], ["0xR"], [False], ["yes", "no"])
    assert (evidence.workers, evidence.labels) == ([ACCEPT_PREFIX + "0xR"], ["no"])


def test_rejections_that_leave_one_class_name_it() -> None:
    evidence = review_evidence([7, 7], ["a", "c"], ["0xR", "0xR"], [False, False], ABC)
    assert (evidence.workers, evidence.labels) == (["review:0xR"], ["b"])


def test_a_reject_among_three_classes_is_evidence_only_on_request() -> None:
    assert len(review_evidence([1], ["b"], ["0xR"], [False], ABC)) == 0
    evidence = review_evidence([1], ["b"], ["0xR"], [False], ABC, rejects_as_answers=True)
    assert (evidence.workers, evidence.labels) == ([REJECT_PREFIX + "0xR"], ["b"])


def test_an_accept_wins_over_rejections_of_other_labels() -> None:
    evidence = review_evidence([1, 1], ["a", "b"], ["0xR", "0xR"], [True, False], ABC)
    assert (evidence.workers, evidence.labels) == (["review:0xR"], ["a"])


@pytest.mark.parametrize(
    "labels,verdicts",
    [(["a", "b"], [True, True]), (["a", "a"], [True, False])],
)
def test_contradicting_verdicts_give_no_evidence(labels: list[str], verdicts: list[bool]) -> None:
    assert len(review_evidence([1, 1], labels, ["0xR", "0xR"], verdicts, ABC)) == 0


def test_reviews_without_a_side_give_no_evidence_and_order_does_not_matter() -> None:
    items, labels = [2, 1, 1, 3], ["a", "b", "c", "a"]
    reviewers, verdicts = ["0xQ", "0xR", "0xQ", "0xR"], [True, None, True, True]
    forward = review_evidence(items, labels, reviewers, verdicts, ABC)
    backward = review_evidence(items[::-1], labels[::-1], reviewers[::-1], verdicts[::-1], ABC)
    assert forward == backward
    assert list(zip(forward.items, forward.workers, forward.labels, strict=True)) == [
        (1, "review:0xQ", "c"),
        (2, "review:0xQ", "a"),
        (3, "review:0xR", "a"),
    ]


@pytest.mark.parametrize(
    "kwargs,field",
    [
        ({"labels": ["a", "b"]}, "labels"),
        ({"reviewers": []}, "reviewers"),
        ({"verdicts": [True, True]}, "verdicts"),
        ({"labels": ["z"]}, "labels"),
        ({"classes": []}, "classes"),
        ({"classes": ["a", "a"]}, "classes"),
    ],
)
def test_malformed_columns_are_named(kwargs: dict[str, object], field: str) -> None:
    args: dict[str, object] = {
        "items": [1],
        "labels": ["a"],
        "reviewers": ["0xR"],
        "verdicts": [True],
        "classes": ABC,
    }
    args.update(kwargs)
    with pytest.raises(InvalidInput, match=f"^{field}:"):
        review_evidence(**args)  # type: ignore[arg-type]


def test_agreement_follows_the_posterior_of_the_reviewed_label() -> None:
    agreement = review_agreement([True, False, None, True, False], [0.9, 0.9, 0.9, 0.0, 0.0])
    assert agreement.tolist() == pytest.approx([0.9, 0.1, 0.0, 0.0, 1.0])


@pytest.mark.parametrize("p", [[0.5], [1.5, 0.5], [float("nan"), 0.5], [-0.1, 0.5]])
def test_agreement_refuses_bad_probabilities(p: list[float]) -> None:
    with pytest.raises(InvalidInput, match=r"^p_label_right:"):
        review_agreement([True, False], p)


def _crowd(seed: int, classes: list[str], answers_per_item: int) -> tuple[list, ...]:
    rng = np.random.default_rng(seed)
    n, k = 400, len(classes)
    truth = rng.integers(0, k, n)
    skill = rng.uniform(0.45, 0.8, 10)
    wrong = lambda t: rng.choice([c for c in range(k) if c != t])  # noqa: E731
    items, workers, labels = [], [], []
    for i in range(n):
        for w in rng.choice(10, answers_per_item, replace=False):
            label = truth[i] if rng.random() < skill[w] else wrong(truth[i])
            items.append(i)
            workers.append(f"w{w}")
            labels.append(classes[label])
    reviewer_skill = rng.uniform(0.75, 0.95, 6)
    reviewers, verdicts = [], []
    for i, label in zip(items, labels, strict=True):
        r = int(rng.integers(0, 6))
        right = classes.index(label) == truth[i]
        reviewers.append(f"r{r}")
        verdicts.append(right if rng.random() < reviewer_skill[r] else not right)
    return truth, items, workers, labels, reviewers, verdicts


def _accuracy(truth: np.ndarray, items: list, workers: list, labels: list, classes: list) -> float:
    model = get_aggregator("auto").fit(items, workers, labels, classes=classes)
    inferred = np.array([classes.index(label) for label in model.labels_])
    return float((inferred == truth[np.asarray(model.items_)]).mean())


@pytest.mark.parametrize("classes", [["yes", "no"], ABC])
def test_reviews_as_evidence_raise_the_accuracy_of_inference(classes: list[str]) -> None:
    truth, items, workers, labels, reviewers, verdicts = _crowd(0, classes, 3)
    before = _accuracy(truth, items, workers, labels, classes)
    evidence = review_evidence(items, labels, reviewers, verdicts, classes)
    after = _accuracy(
        truth, items + evidence.items, workers + evidence.workers, labels + evidence.labels, classes
    )
    assert after >= before + 0.05, (before, after)


def test_integer_workers_map_pseudo_workers_past_the_accounts() -> None:
    evidence = review_evidence(
        [0, 0, 1], ["a", "b", "c"], ["3", "3", "0"], [True, False, False], ABC,
        rejects_as_answers=True,
    )  # fmt: skip
    assert evidence.workers == ["review:3", "reject:0"]
    assert integer_workers(evidence.workers, 10) == [16, 11]
    for bad in (["0xR"], ["review:x"]):
        with pytest.raises(InvalidInput, match=r"^workers:"):
            integer_workers(bad, 10)


# ------------------------------------------------------------------ informedness (pay)


def test_informedness_is_tpr_minus_fpr_with_an_interval() -> None:
    from datafair.quality.reviews import reviewer_informedness

    # 4 right answers (3 accepted), 2 wrong ones (1 accepted); a review without a side
    found = reviewer_informedness(
        ["r"] * 7,
        [True, True, True, False, True, False, None],
        [True, True, True, True, False, False, False],
    )["r"]
    assert found.value == pytest.approx(0.75 - 0.5)
    assert (found.right, found.wrong, found.accepted_right, found.accepted_wrong) == (4, 2, 3, 1)
    assert -1.0 <= found.low < found.value < found.high <= 1.0


@pytest.mark.parametrize("verdict", [True, False])
def test_constant_verdicts_carry_no_information(verdict: bool) -> None:
    from datafair.quality.reviews import informedness_weights, reviewer_informedness

    correct = [True, False, True, True, False]
    found = reviewer_informedness(["r"] * 5, [verdict] * 5, correct)
    assert found["r"].value == 0.0
    assert informedness_weights(["r"] * 5, [verdict] * 5, found).tolist() == [0.0] * 5


def test_a_reviewer_who_has_seen_only_right_answers_has_shown_nothing() -> None:
    from datafair.quality.reviews import reviewer_informedness

    assert reviewer_informedness(["r"] * 3, [True] * 3, [True] * 3)["r"].value == 0.0


def test_a_contrarian_weighs_nothing_and_a_perfect_reviewer_everything() -> None:
    from datafair.quality.reviews import informedness_weights, reviewer_informedness

    correct = [True, False, True, False]
    reviewers = ["good"] * 4 + ["contrary"] * 4
    verdicts = correct + [not c for c in correct]
    found = reviewer_informedness(reviewers, verdicts, correct + correct)
    assert found["good"].value == 1.0 and found["contrary"].value == -1.0
    assert informedness_weights(reviewers, verdicts, found).tolist() == [1.0] * 4 + [0.0] * 4
