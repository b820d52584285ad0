"""MinHash/LSH text index and perceptual image hashes: near copies found, distinct items not."""

from __future__ import annotations

import numpy as np
import pytest

from datafair.quality.near_duplicates import (
    MERGE_EVERY,
    NUM_PERM,
    ImageIndex,
    TextIndex,
    estimated_jaccard,
    normalise_text,
    perceptual_hash,
    text_signature,
    text_signatures,
)

BASE = (
    "The harbour lights went out one by one as the fishing boats came home, and the old "
    "keeper wrote in his log that the storm had passed without taking a single life."
)


def _random_texts(n: int, seed: int) -> list[str]:
    rng = np.random.default_rng(seed)
    words = [f"w{k}" for k in range(5000)]
    return [" ".join(rng.choice(words, size=25)) for _ in range(n)]


def _shingle_jaccard(a: str, b: str) -> float:
    def grams(text: str) -> set[bytes]:
        data = normalise_text(text).encode()
        return {data[i : i + 5] for i in range(len(data) - 4)}

    x, y = grams(a), grams(b)
    return len(x & y) / len(x | y)


def test_normalisation_ignores_case_and_spacing() -> None:
    assert np.array_equal(text_signature("Hello   World"), text_signature("hello world"))
    assert text_signature(BASE).shape == (NUM_PERM,)


def test_batch_signatures_equal_single_ones() -> None:
    texts = [BASE, "short", "", BASE.upper() + " and more", "ü ümlaut ﬁ ligature"]
    batch = text_signatures(texts)
    for row, text in zip(batch, texts, strict=True):
        assert np.array_equal(row, text_signature(text))


def test_estimate_tracks_true_jaccard() -> None:
    edited = BASE.replace("old keeper", "keeper").replace("single", "lone")
    truth = _shingle_jaccard(BASE, edited)
    estimate = float(estimated_jaccard(text_signature(BASE), text_signature(edited)[None, :])[0])
    assert abs(estimate - truth) < 0.2
    unrelated = "Quarterly revenue grew by four percent on strong demand for cloud services."
    low = float(estimated_jaccard(text_signature(BASE), text_signature(unrelated)[None, :])[0])
    assert low < 0.2


def test_index_finds_the_near_copy_and_not_others() -> None:
    texts = _random_texts(300, seed=4)
    index = TextIndex(threshold=0.8)
    index.add_many(np.arange(100, 100 + len(texts)), text_signatures(texts))
    index.add(7, text_signature(BASE))
    near = BASE.replace("one by one", "one after one") + " "
    match = index.query(text_signature(near))
    assert match is not None and match.item_id == 7 and match.similarity >= 0.8
    assert index.query(text_signature("A completely new sentence about gardening.")) is None
    # a text of the bulk part is found as its own duplicate
    found = index.query(text_signature(texts[42]))
    assert found is not None and found.item_id == 142


def test_tail_merges_and_stays_searchable() -> None:
    index = TextIndex()
    texts = _random_texts(MERGE_EVERY + 5, seed=5)
    for i, signature in enumerate(text_signatures(texts)):
        index.add(i, signature)
    assert len(index) == MERGE_EVERY + 5
    for i in (0, MERGE_EVERY - 1, MERGE_EVERY + 4):
        match = index.query(text_signature(texts[i]))
        assert match is not None and match.item_id == i


def test_threshold_is_checked() -> None:
    with pytest.raises(ValueError, match="threshold"):
        TextIndex(threshold=0)


def test_perceptual_hash_survives_small_changes_only() -> None:
    rng = np.random.default_rng(1)
    image = np.kron(rng.uniform(0, 255, (8, 8)), np.ones((4, 4)))
    brighter = image * 1.05 + 3 + rng.normal(0, 2.0, image.shape)
    other = np.kron(rng.uniform(0, 255, (8, 8)), np.ones((4, 4)))
    index = ImageIndex(max_distance=6)
    index.add(1, perceptual_hash(image))
    index.add(2, perceptual_hash(other))
    match = index.query(perceptual_hash(brighter))
    assert match is not None and match.item_id == 1
    assert index.query(perceptual_hash(rng.uniform(0, 255, (32, 32)))) is None
    with pytest.raises(ValueError, match="32x32"):
        perceptual_hash(np.zeros((8, 8)))
