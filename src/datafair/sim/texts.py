"""Synthetic product reviews with known sentiment, for the demo dataset.

Each text is assembled from a sentiment-bearing phrase bank and numbered, so every text is
distinct (distinct content ids) and its true class is known.
"""

from __future__ import annotations

import numpy as np

SENTIMENTS = ("positive", "neutral", "negative")

_PRODUCTS = (
    "kettle",
    "headphones",
    "backpack",
    "desk lamp",
    "phone case",
    "blender",
    "tent",
    "keyboard",
    "rain jacket",
    "coffee grinder",
    "e-reader",
    "water bottle",
)
_PHRASES = {
    "positive": (
        "works perfectly and feels solid",
        "exceeded what I hoped for",
        "is the best purchase I made this year",
        "arrived early and does the job beautifully",
    ),
    "neutral": (
        "does what the description says",
        "is fine, nothing special",
        "works, though the manual is thin",
        "is average for the price",
    ),
    "negative": (
        "broke after two days",
        "is much smaller than pictured",
        "stopped working and support never replied",
        "feels cheap and rattles",
    ),
}
_CLOSERS = ("", " Would buy again?", " Shipping took a week.", " Colour as shown.")


def make_review_texts(n: int, *, seed: int = 0) -> tuple[list[str], list[str]]:
    """``n`` distinct review texts and their true sentiments (one of ``SENTIMENTS``)."""
    rng = np.random.default_rng(seed)
    truths = [SENTIMENTS[i] for i in rng.integers(len(SENTIMENTS), size=n)]
    texts = []
    for number, truth in enumerate(truths, start=1):
        product = _PRODUCTS[rng.integers(len(_PRODUCTS))]
        phrase = _PHRASES[truth][rng.integers(len(_PHRASES[truth]))]
        closer = _CLOSERS[rng.integers(len(_CLOSERS))]
        texts.append(f"Review {number}: the {product} {phrase}.{closer}")
    return texts, truths
