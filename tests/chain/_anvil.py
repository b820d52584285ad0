"""Start and stop a local anvil node (npm ``@foundry-rs/anvil``) for RPC tests."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest

from datafair.chain.devnode import DEV_KEYS, free_port, run_anvil
from datafair.core.errors import ChainError

__all__ = ["ANVIL", "DEV_KEYS", "anvil", "free_port"]

REPO = Path(__file__).resolve().parents[2]
ANVIL = REPO / "node_modules" / ".bin" / "anvil"


@contextmanager
def anvil(chain_id: int = 31337, hardfork: str | None = None) -> Iterator[str]:
    """Run anvil on a free port until the block exits; yields its URL (fails the test if not).

    ``hardfork`` (e.g. ``"shanghai"``) is anvil's ``--hardfork``; ``None`` keeps its default.
    """
    if not ANVIL.exists():
        pytest.fail("anvil is needed: run 'npm ci' (make test does)")
    with ExitStack() as stack:
        try:
            url = stack.enter_context(run_anvil(ANVIL, chain_id, hardfork=hardfork))
        except ChainError as exc:
            pytest.fail(str(exc))
        yield url
