"""Fixtures of the collection tests (here and in ``settlement/``): sign contributed items like
a wallet would, make distinct texts and images."""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import pytest
from PIL import Image

from datafair.core.collection import CollectionTerms, build_contribution
from datafair.crypto.cid import compute_cid
from datafair.crypto.eip712 import ContributionMessage, SubmissionDomain, sign_contribution
from datafair.services.collection import ContributionInput, descriptor_hash


def signed_item(
    key: bytes,
    address: str,
    task: Any,
    fmt: str,
    payload: dict[str, Any],
    nonce: int,
    *,
    chain_id: int | None = None,
) -> ContributionInput:
    """A ``ContributionInput`` of ``payload`` signed by the wallet (``key``, ``address``)."""
    terms = CollectionTerms(max_bytes=10**8)
    content = build_contribution(fmt, payload, terms).content
    message = ContributionMessage(
        task.task_id, compute_cid(content), descriptor_hash(fmt), address, nonce, 1200
    )
    domain = SubmissionDomain(task.spec.chain_id if chain_id is None else chain_id)
    return ContributionInput(
        task_id=task.task_id,
        contributor=address,
        format=fmt,
        payload=payload,
        nonce=nonce,
        signature=sign_contribution(key, domain, message),
        duration_ms=1200,
    )


def png(seed: int, *, brighten: float = 0.0) -> bytes:
    """A 64x64 PNG of random 8x8 blocks (seeded); ``brighten`` adds a near-identical copy."""
    rng = np.random.default_rng(seed)
    blocks = np.kron(rng.uniform(0, 230, (8, 8)), np.ones((8, 8))) + brighten
    out = io.BytesIO()
    Image.fromarray(np.clip(blocks, 0, 255).astype(np.uint8), mode="L").save(out, format="PNG")
    return out.getvalue()


def original_text(number: int) -> str:
    """A distinct text (random words, seeded by ``number``)."""
    rng = np.random.default_rng(number)
    words = [f"word{k}" for k in rng.integers(0, 20_000, size=30)]
    return f"Contribution {number}: " + " ".join(words) + "."


@pytest.fixture
def collect() -> Any:
    """The helpers as one namespace: ``collect.signed_item``, ``collect.png``,
    ``collect.original_text``."""

    class Helpers:
        signed_item = staticmethod(signed_item)
        png = staticmethod(png)
        original_text = staticmethod(original_text)

    return Helpers
