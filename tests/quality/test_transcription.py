"""Transcriptions: the weighted medoid under normalised edit distance."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from datafair.core.errors import InvalidInput
from datafair.quality import TranscriptionAggregator
from datafair.quality.transcription import levenshtein, normalise_text, similarity


def _reference_levenshtein(a: str, b: str) -> int:
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


@given(st.text(alphabet="abcé ", max_size=40), st.text(alphabet="abcd é", max_size=90))
def test_levenshtein_matches_dynamic_programming(a: str, b: str) -> None:
    assert levenshtein(a, b) == _reference_levenshtein(a, b) == levenshtein(b, a)


def test_textbook_distances_and_normalisation() -> None:
    assert levenshtein("kitten", "sitting") == 3
    assert levenshtein("", "abc") == 3
    assert similarity("", "") == 1.0
    assert similarity("abcd", "abce") == 0.75
    assert normalise_text("  Hello\u00a0 WORLD\n") == "hello world"


def test_picks_the_consensus_and_flags_garbage() -> None:
    rng = np.random.default_rng(0)
    words = ["the", "quick", "brown", "fox", "jumps", "over", "lazy", "dog"]
    truth = [" ".join(rng.choice(words, 4)) for _ in range(120)]
    items, workers, answers = [], [], []
    for item, text in enumerate(truth):
        for w in rng.choice(7, 5, replace=False):
            if w >= 5:
                answer = "".join(chr(c) for c in rng.integers(97, 123, 15))
            elif rng.random() < 0.3:  # a typo
                k = int(rng.integers(len(text)))
                answer = text[:k] + "x" + text[k + 1 :]
            else:
                answer = text.upper() if w == 0 else text
            items.append(item)
            workers.append(f"w{w}")
            answers.append(answer)
    est = TranscriptionAggregator().fit(items, workers, answers)
    exact = np.mean([normalise_text(a) == t for a, t in zip(est.labels_, truth, strict=True)])
    assert exact > 0.97
    assert est.is_spammer_.tolist() == [False] * 5 + [True] * 2
    assert np.all(est.confidences_ <= 1.0)


def test_spelling_is_the_commonest_raw_form() -> None:
    est = TranscriptionAggregator().fit(
        ["p"] * 3, ["a", "b", "c"], ["Main St", "main st", "Main St"]
    )
    assert est.labels_ == ["Main St"]


def test_non_text_answer_is_rejected() -> None:
    with pytest.raises(InvalidInput, match="expected text, got int"):
        TranscriptionAggregator().fit(["p"], ["a"], [5])  # type: ignore[list-item]
