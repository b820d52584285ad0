"""Dependence detection: honest crowds are never grouped, rings and copiers are, fast."""

from __future__ import annotations

import time

import numpy as np
import pytest
from numpy.testing import assert_allclose

from datafair.quality import dependence, get_aggregator
from datafair.quality._encode import encode_answers
from datafair.quality.dependence import (
    detect_copies,
    detect_dependence,
    group_answers,
    no_dependence,
)
from datafair.quality.synthetic import dawid_skene_crowd
from datafair.sim.adversaries import Crowd, Role, copier_crowd, dense_ring_crowd, ring_crowd

from ._data import CROWD_DATA, load_real


def _honest(  # type: ignore[no-untyped-def]
    seed: int,
    n_workers: int,
    n_classes: int = 3,
    k: int = 5,
    accuracy: tuple[float, float] = (0.65, 0.95),
):
    return dawid_skene_crowd(
        n_items=1500,
        n_workers=n_workers,
        n_classes=n_classes,
        answers_per_item=k,
        seed=seed,
        accuracy=accuracy,
    )


def _with_ring(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """40 honest workers plus 5 ring wallets: on 40 % of the items 3 of them answer one random
    class together."""
    crowd = _honest(seed, 40)
    rng = np.random.default_rng(seed + 100)
    ring = np.arange(40, 45)
    items, workers, labels = [crowd.items], [crowd.workers], [crowd.labels]
    for item in np.flatnonzero(rng.random(1500) < 0.4).tolist():
        items.append(np.full(3, item))
        workers.append(rng.choice(ring, 3, replace=False))
        labels.append(np.full(3, rng.integers(0, 3)))
    return (
        np.concatenate(items),
        np.concatenate(workers),
        np.concatenate(labels),
        crowd.truth,
        ring,
    )


def _with_copiers(
    seed: int, n_classes: int = 3
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """40 honest workers; two wallets repeat the least accurate one's answers."""
    crowd = _honest(seed, 40, n_classes)
    right = crowd.labels == crowd.truth[crowd.items]
    source = int(np.argmin(np.bincount(crowd.workers, weights=right) / np.bincount(crowd.workers)))
    rows = crowd.workers == source
    n = int(rows.sum())
    return (
        np.concatenate([crowd.items, crowd.items[rows], crowd.items[rows]]),
        np.concatenate([crowd.workers, np.full(n, 40), np.full(n, 41)]),
        np.concatenate([crowd.labels, crowd.labels[rows], crowd.labels[rows]]),
        crowd.truth,
        np.array([source, 40, 41]),
    )


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize(
    ("n_workers", "n_classes", "k"), [(40, 3, 5), (200, 3, 5), (20, 2, 10), (40, 5, 5)]
)
def test_honest_crowds_are_never_grouped(seed: int, n_workers: int, n_classes: int, k: int) -> None:
    crowd = _honest(seed, n_workers, n_classes, k)
    model = get_aggregator("auto").fit(crowd.items, crowd.workers, crowd.labels)
    assert model.dependence_.n_groups == 0
    # with 200 workers and 5 answers per item, pairs share too few items to be tested
    assert (model.dependence_.tested_pairs > 0) == (n_workers < 200)


@pytest.mark.parametrize("gold_share", [0.0, 0.05])
@pytest.mark.parametrize("name", ["bluebird", "rte", "cf_amt", "music", "sp_amt", "zencrowd"])
def test_real_crowds_are_not_grouped(name: str, gold_share: float) -> None:
    # real annotators who share a reading of the task err together 1.5-4 times as often as
    # independence implies (zencrowd, against the truth); with gold exposing it, a test of
    # excess agreement on wrong answers grouped eight of zencrowd's heaviest workers
    if not (CROWD_DATA / name / "answers.csv").exists():
        pytest.skip(f"real data set {name} not present")
    items, workers, labels, truth = load_real(name)
    keys = sorted(truth)
    pick = np.random.default_rng(0).choice(len(keys), round(gold_share * len(keys)), replace=False)
    gold = {keys[i]: truth[keys[i]] for i in pick} or None
    model = get_aggregator("auto").fit(items, workers, labels, gold=gold)
    assert model.dependence_.tested_pairs > 100
    assert model.dependence_.n_groups == 0


@pytest.mark.parametrize("seed", range(3))
def test_a_ring_is_one_group_flagged_as_spam_and_labels_beat_the_vote(seed: int) -> None:
    items, workers, labels, truth, ring = _with_ring(seed)
    model = get_aggregator("auto").fit(items, workers, labels)
    found = model.dependence_
    assert found.n_groups == 1
    assert set(found.members(0).tolist()) == set(ring.tolist())
    assert model.is_spammer_[ring].all()
    assert not model.is_spammer_[:40].any()
    vote = get_aggregator("mv").fit(items, workers, labels)
    assert np.mean(model.labels_ == truth) >= np.mean(vote.labels_ == truth)
    # evidence: far more agreement on wrong answers than independence allows
    assert (found.agree_wrong[ring] > found.expected[ring]).all()
    assert (found.p_value[ring] < 0.01).all() and (found.score[ring] > 0.99).all()


@pytest.mark.parametrize(("seed", "n_classes"), [(0, 3), (1, 3), (2, 3), (0, 5)])
def test_copiers_join_their_source_and_share_its_skill(seed: int, n_classes: int) -> None:
    # five classes take the answer-pair path, three the sparse products
    items, workers, labels, _, group = _with_copiers(seed, n_classes)
    model = get_aggregator("auto").fit(items, workers, labels)
    found = model.dependence_
    assert found.n_groups == 1
    assert set(found.members(0).tolist()) == set(group.tolist())
    accuracies = {model.skills_[w].accuracy for w in group.tolist()}
    assert len(accuracies) == 1


def _fit(crowd: Crowd):  # type: ignore[no-untyped-def]
    return get_aggregator("auto").fit(
        crowd.item,
        crowd.contributor,
        crowd.answer,
        gold=crowd.gold or None,
        classes=list(range(crowd.n_classes)),
    )


def _plain_vote_accuracy(crowd: Crowd) -> float:
    vote = get_aggregator("mv")
    vote.detect_dependence = False
    vote.fit(crowd.item, crowd.contributor, crowd.answer, classes=list(range(crowd.n_classes)))
    return float(np.mean(vote.labels_ == crowd.truth))


def _members(crowd: Crowd, role: Role) -> list[int]:
    return [c for c, r in enumerate(crowd.roles) if r is role]


@pytest.mark.parametrize("seed", range(2))
def test_three_copiers_who_are_four_of_five_answers_join_their_source(seed: int) -> None:
    # the copies outvote everyone on their items, so the posterior and the vote both follow
    # them: only the cluster test, judged against a reference counting them as one voice, sees
    crowd = copier_crowd(seed, 1500, n_copiers=3)
    model = _fit(crowd)
    found = model.dependence_
    group = [0, *_members(crowd, Role.COPIER)]
    assert found.n_groups == 1
    assert found.members(0).tolist() == group
    assert found.by_cluster[group].all()
    assert (found.agree_wrong[group] > 2 * found.expected[group]).all()
    assert (found.p_value[group] < 0.01).all()
    assert len({model.skills_[w].accuracy for w in group}) == 1


def test_exempt_workers_take_part_in_no_tested_pair() -> None:
    # a review's accepts repeat the labels it judges: such a pseudo-worker copies its labeller
    # by design, and the settlement marks it never to be grouped
    items, workers, labels, _, group = _with_copiers(0)
    copier = int(group[1])
    data = encode_answers(items, workers, labels)
    model = get_aggregator("auto").fit(items, workers, labels)
    assert copier in model.dependence_.members(0).tolist()
    model = get_aggregator("auto")
    model.never_grouped = [copier, int(group[2])]
    model.fit(items, workers, labels)
    found = model.dependence_
    assert found.n_groups == 0
    references = model._references(data, model._fit_encoded(data))
    exempt = np.isin(np.arange(data.n_workers), group[1:])
    alone = detect_dependence(data, references, exempt=exempt)
    assert not np.isin(np.concatenate([alone.pair_a, alone.pair_b]), group[1:]).any()
    assert alone.tested_pairs < detect_dependence(data, references).tested_pairs


@pytest.mark.parametrize(("seed", "gold"), [(0, 0.0), (2, 0.0), (0, 0.1)])
def test_a_ring_of_40_percent_of_wallets_is_one_spam_group(seed: int, gold: float) -> None:
    crowd = ring_crowd(seed, 1500, share=0.4, gold_share=gold)
    model = _fit(crowd)
    ring = _members(crowd, Role.RING)
    honest = _members(crowd, Role.HONEST)
    found = model.dependence_
    assert found.n_groups == 1
    assert set(found.members(0).tolist()) <= set(ring)
    assert model.is_spammer_[ring].all()
    assert not model.is_spammer_[honest].any()
    assert np.mean(model.labels_ == crowd.truth) > _plain_vote_accuracy(crowd)


def test_a_dense_ring_of_five_is_one_spam_group() -> None:
    crowd = dense_ring_crowd(0, 1500, size=5, per_item=3)
    model = _fit(crowd)
    ring = _members(crowd, Role.RING)
    assert model.dependence_.members(0).tolist() == ring
    assert model.is_spammer_[ring].all()
    assert np.mean(model.labels_ == crowd.truth) > _plain_vote_accuracy(crowd)


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize(("n_workers", "n_classes", "k"), [(40, 2, 5), (40, 5, 5), (10, 2, 10)])
def test_very_accurate_honest_crowds_are_not_grouped(
    seed: int, n_workers: int, n_classes: int, k: int
) -> None:
    # workers of accuracy up to 0.995 agree on almost everything: the screen chains them into
    # candidate clusters, which the cluster test must clear
    crowd = _honest(seed, n_workers, n_classes, k, accuracy=(0.9, 0.995))
    model = get_aggregator("auto").fit(crowd.items, crowd.workers, crowd.labels)
    assert model.dependence_.n_groups == 0


def _difficult_crowd(
    seed: int, n_items: int, n_workers: int, k: int, n_classes: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Honest workers whose chance of being right depends on the item (GLAD-style:
    ``σ(α_w β_i)``, ``log β_i ~ N(0, 1)``; Whitehill et al. 2009), whose errors fall on the next
    class 60 % of the time, and whose workloads are heavy-tailed (Pareto): the correlations
    between honest workers that independence given the truth does not model."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, n_classes, n_items)
    ability = rng.uniform(0.5, 3.0, n_workers)
    ease = np.exp(rng.normal(0.0, 1.0, n_items))
    load = rng.pareto(1.0, n_workers) + 1.0
    workers = np.stack(
        [rng.choice(n_workers, k, replace=False, p=load / load.sum()) for _ in truth]
    )
    items = np.repeat(np.arange(n_items), k)
    workers = workers.reshape(-1)
    sure = 2.0 / (1.0 + np.exp(-ability[workers] * ease[items])) - 1.0
    right = rng.random(items.shape[0]) < 1.0 / n_classes + (1.0 - 1.0 / n_classes) * sure
    neighbour = rng.random(items.shape[0]) < 0.6
    shift = np.where(neighbour, 1, rng.integers(1, max(n_classes, 2), items.shape[0]))
    labels = np.where(right, truth[items], (truth[items] + shift) % n_classes)
    return items, workers, labels


@pytest.mark.parametrize(("seed", "n_classes"), [(0, 2), (1, 3), (2, 5)])
def test_honest_crowds_with_item_difficulty_are_not_grouped(seed: int, n_classes: int) -> None:
    # heavy workers share hundreds of items, on hard ones several honest workers err together
    # and on a neighbouring class: more agreement than their confusions say, yet no copying
    items, workers, labels = _difficult_crowd(seed, 2000, 40, 6, n_classes)
    model = get_aggregator("auto").fit(items, workers, labels, classes=list(range(n_classes)))
    assert model.dependence_.tested_pairs > 100
    assert model.dependence_.n_groups == 0


def test_a_group_weighs_one_vote_per_item() -> None:
    data = encode_answers([0, 0, 0, 1, 1], ["a", "b", "c", "a", "c"], ["x", "x", "y", "y", "y"])
    group = np.array([0, 0, -1])
    grouped = group_answers(data, group)
    assert grouped.weight is not None
    assert grouped.weight.tolist() == [0.5, 0.5, 1.0, 1.0, 1.0]
    assert grouped.worker_idx.tolist() == [0, 0, 2, 0, 2]
    assert group_answers(data, np.full(3, -1)) is data


def test_nothing_to_test_gives_no_groups() -> None:
    data = encode_answers([0, 1], ["a", "b"], ["x", "y"])
    assert detect_dependence(data, []).n_groups == 0
    assert no_dependence(3).group.tolist() == [-1, -1, -1]


def test_switching_detection_off_keeps_the_ring() -> None:
    items, workers, labels, _, _ = _with_ring(0)
    model = get_aggregator("auto")
    model.detect_dependence = False
    assert model.fit(items, workers, labels).dependence_.n_groups == 0


def test_detection_takes_well_under_a_second_on_200_workers() -> None:
    crowd = _honest(0, 200)
    data = encode_answers(crowd.items, crowd.workers, crowd.labels)
    posteriors = np.full((data.n_items, 3), 1.0 / 3)
    confusion = np.full((200, 3, 3), 1.0 / 3)
    start = time.perf_counter()
    detect_dependence(data, [(posteriors, confusion), (posteriors, confusion)])
    assert time.perf_counter() - start < 0.5


def _label_sets(
    seed: int, *, copiers: int = 0, flip: tuple[float, float] = (0.03, 0.25)
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Structured answers as keys: 600 items, 30 workers flipping each of 4 classes with a
    probability drawn from ``flip``, 5 answers per item; ``copiers`` repeat worker 0."""
    rng = np.random.default_rng(seed)
    truth = rng.random((600, 4)) < 0.3
    rate = rng.uniform(*flip, 30)
    items, workers, answers = [], [], []
    for i in range(600):
        for w in rng.choice(30, 5, replace=False).tolist():
            key = int(np.packbits(truth[i] ^ (rng.random(4) < rate[w]), bitorder="little")[0])
            chosen = [w] + ([30 + c for c in range(copiers)] if w == 0 else [])
            for who in chosen:
                items.append(i)
                workers.append(who)
                answers.append(key)
    return np.array(items), np.array(workers), np.array(answers), 30 + copiers


def test_structured_copiers_are_grouped_from_identical_answers() -> None:
    items, workers, answers, n = _label_sets(0, copiers=2)
    found = detect_copies(items, workers, answers, n)
    assert found.n_groups == 1
    assert found.members(0).tolist() == [0, 30, 31]
    assert found.by_cluster[[0, 30, 31]].all()
    assert (found.p_value[[0, 30, 31]] < 0.01).all()


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("flip", [(0.03, 0.25), (0.0, 0.03)])
def test_honest_structured_answers_are_not_grouped(seed: int, flip: tuple[float, float]) -> None:
    # with flips of at most 3 % most answers are identical: the screen finds candidates, the
    # third parties clear them
    items, workers, answers, n = _label_sets(seed, flip=flip)
    assert detect_copies(items, workers, answers, n).n_groups == 0
    assert detect_copies(items[:0], workers[:0], answers[:0], n).n_groups == 0


def _random_references(data, n_classes: int, seed: int):  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(seed)
    posteriors = rng.dirichlet(np.ones(n_classes), size=data.n_items)
    confusion = rng.dirichlet(np.ones(n_classes), size=(data.n_workers, n_classes))
    return [(posteriors, confusion), (posteriors[::-1].copy(), confusion[::-1].copy())]


def test_blocks_bands_and_pair_lookups_agree(monkeypatch: pytest.MonkeyPatch) -> None:
    # tiny blocks, one-worker bands and the sorted lookup give the same pairs, counts and groups,
    # and the same floats up to the order of summation; one setting always gives the same bits
    items, workers, labels, _, _ = _with_copiers(0, 5)
    data = encode_answers(items, workers, labels)
    references = _random_references(data, 5, 0)
    whole = detect_dependence(data, references)
    again = detect_dependence(data, references)
    monkeypatch.setattr(dependence, "PAIR_CHUNK", 7)
    monkeypatch.setattr(dependence, "PAIR_TABLE", 0)
    blocked = detect_dependence(data, references)
    assert whole.tested_pairs > 0 and whole.n_groups >= 1
    for name in ("group", "partner", "shared", "agree_wrong", "pair_a", "pair_b", "by_cluster"):
        assert np.array_equal(getattr(whole, name), getattr(blocked, name)), name
    for name in ("score", "expected", "p_value"):
        assert np.allclose(getattr(whole, name), getattr(blocked, name), rtol=1e-12, atol=0)
        assert np.array_equal(getattr(whole, name), getattr(again, name)), name


def _brute_force(data, references):  # type: ignore[no-untyped-def]
    """Per pair of workers sharing at least MIN_SHARED items, item by item: shared items, same
    answers, and per reference the same wrong answers, their expectation and the expected
    agreements in all (the module doc's definitions)."""
    answer = {}
    for i, w, label in zip(data.item_idx, data.worker_idx, data.label_idx, strict=True):
        answer.setdefault(int(w), {})[int(i)] = int(label)
    rows = []
    for a in range(data.n_workers):
        for b in range(a + 1, data.n_workers):
            shared = sorted(set(answer.get(a, {})) & set(answer.get(b, {})))
            if len(shared) < dependence.MIN_SHARED:
                continue
            same = [i for i in shared if answer[a][i] == answer[b][i]]
            per_reference = []
            for posteriors, confusion in references:
                best = posteriors.argmax(axis=1)
                observed = sum(answer[a][i] != best[i] for i in same)
                expected = every = 0.0
                for i in shared:
                    for c in range(data.n_classes):
                        for k in range(data.n_classes):
                            both = posteriors[i, c] * confusion[a, c, k] * confusion[b, c, k]
                            every += both
                            expected += both if k != best[i] else 0.0
                per_reference.append((observed, expected, every))
            rows.append((a, b, len(shared), len(same), per_reference))
    return rows


@pytest.mark.parametrize(
    ("seed", "n_classes", "table", "dense"),
    [(0, 2, 1 << 21, 8), (1, 3, 0, 8), (2, 5, 7, 8), (3, 4, 1 << 21, 0), (4, 3, 0, 0)],
)
def test_pair_statistics_equal_a_brute_force_count(
    monkeypatch: pytest.MonkeyPatch, seed: int, n_classes: int, table: int, dense: int
) -> None:
    # the factorised sums (co-occurrence bands, blocks, the dense contraction) against the
    # per-pair, per-item definitions; small tables and blocks take the banded and searched
    # paths, DENSE_CELLS = 0 the sorted counting of sparse co-occurrence
    monkeypatch.setattr(dependence, "PAIR_TABLE", table)
    monkeypatch.setattr(dependence, "DENSE_CELLS", dense)
    monkeypatch.setattr(dependence, "PAIR_CHUNK", 50)
    crowd = dawid_skene_crowd(
        n_items=120, n_workers=12, n_classes=n_classes, answers_per_item=4, seed=seed
    )
    data = encode_answers(crowd.items, crowd.workers, crowd.labels)
    references = _random_references(data, n_classes, seed)
    expected_rows = _brute_force(data, references)
    assert len(expected_rows) > 10
    by_item = dependence._by_item(data, np.arange(data.n_answers))
    pairs = dependence._cooccurring_pairs(data, by_item, references)
    a, b, shared = pairs.a, pairs.b, pairs.shared
    assert [(r[0], r[1], r[2]) for r in expected_rows] == list(
        zip(a.tolist(), b.tolist(), shared.tolist(), strict=True)
    )
    agreed, observed = pairs.agreed, pairs.observed
    expected, expected_agreed = dependence._pair_expectations(data, a, b, references, by_item)
    assert agreed.tolist() == [r[3] for r in expected_rows]
    for n in range(len(references)):
        assert observed[n].tolist() == [r[4][n][0] for r in expected_rows]
        assert np.allclose(expected[n], [r[4][n][1] for r in expected_rows], rtol=1e-12)
        assert np.allclose(expected_agreed[n], [r[4][n][2] for r in expected_rows], rtol=1e-12)


@pytest.mark.parametrize("crowd", ["copiers", "ring", "dense-ring"])
def test_pairs_left_at_their_bound_change_no_group_and_no_evidence(
    monkeypatch: pytest.MonkeyPatch, crowd: str
) -> None:
    # expectations are computed only for pairs whose counts could bring them to alpha; with
    # every pair's expectations computed, the groups and every grouped worker's evidence are
    # the same bits, and the pairs left at their bound are reported without an expectation
    if crowd == "copiers":
        items, workers, labels, _, _ = _with_copiers(1, 5)
    else:
        made = (
            ring_crowd(2, 600, share=0.25)
            if crowd == "ring"
            else dense_ring_crowd(3, 600, size=5, per_item=3)
        )
        items, workers, labels = made.item, made.contributor, made.answer
    data = encode_answers(items, workers, labels)
    model = get_aggregator("ds")
    outcome = model._fit_encoded(data)
    references = model._references(data, outcome)
    pruned = detect_dependence(data, references)
    original = dependence._pair_tests
    monkeypatch.setattr(
        dependence,
        "_pair_tests",
        lambda data, pairs, references, by_item, alpha: original(
            data, pairs, references, by_item, 1.0
        ),
    )
    every = detect_dependence(data, references)
    assert pruned.n_groups >= 1
    assert np.isnan(pruned.expected).any() and not np.isnan(every.expected).any()
    for name in ("group", "pair_a", "pair_b", "by_cluster"):
        assert np.array_equal(getattr(pruned, name), getattr(every, name)), name
    grouped = pruned.group >= 0
    for name in ("score", "partner", "shared", "agree_wrong", "expected", "p_value"):
        assert np.array_equal(getattr(pruned, name)[grouped], getattr(every, name)[grouped]), name
    # the workers whose strongest pair was left at its bound are above alpha
    bound = np.isnan(pruned.expected)
    assert (pruned.p_value[bound] > dependence.ALPHA).all()


def test_poisson_tails_match_scipy_stats() -> None:
    # numpy's incomplete gamma (datafair.quality._special): scipy's values up to rounding
    from scipy.stats import poisson

    rng = np.random.default_rng(3)
    k = np.concatenate([rng.integers(-2, 300, 5000).astype(float), rng.uniform(-2, 50, 500)])
    mu = rng.gamma(0.5, 40.0, k.shape[0])
    mu[::17] = 0.0
    assert_allclose(dependence._poisson_sf(k, mu), poisson.sf(k, mu), rtol=1e-10, atol=1e-300)
    assert_allclose(dependence._poisson_cdf(k, mu), poisson.cdf(k, mu), rtol=1e-10, atol=1e-300)


def test_beta_quantiles_and_tails_match_scipy_stats() -> None:
    # the skills step takes Beta quantiles and tails from datafair.quality._special (numpy)
    from scipy.stats import beta

    from datafair.quality.skills import (
        CREDIBLE_MASS,
        beta_summary,
        chance_floor,
        skills_from_agreement,
    )

    rng = np.random.default_rng(4)
    trials = np.concatenate([rng.integers(0, 60, 3000), rng.integers(0, 10**5, 3000)]) * 1.0
    successes = np.floor(rng.random(6000) * trials) + 0.5 * (rng.random(6000) < 0.3)
    successes = np.minimum(successes, trials)
    a, b = 1.0 + successes, 1.0 + trials - successes
    _, low, high = beta_summary(successes, trials)
    tail = (1.0 - CREDIBLE_MASS) / 2.0
    assert_allclose(low, beta.ppf(tail, a, b), rtol=1e-10)
    assert_allclose(high, beta.ppf(1.0 - tail, a, b), rtol=1e-10)
    for chance in (0.0, 1 / 3, 0.5, 0.9):
        _, scores = skills_from_agreement(
            np.arange(6000), successes, trials, trials.astype(np.intp), chance=chance
        )
        assert_allclose(scores, beta.cdf(chance_floor(chance), a, b), rtol=1e-10, atol=1e-300)
